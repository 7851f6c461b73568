"""Visitor pages of direct booking on business hosts: the property page's calendar and
quote, confirmation, My trips (cancel, extend). Checkout and Stripe's webhook are in
bookings.payments.views.

Pages stay thin: they read through selectors and pricing, write through
bookings.payments.services, and turn domain errors into a message on the page (never a
500). The business always comes from the host (`request.business`); a booking of
another business, or of another visitor, is a 404 exactly like a missing one.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext, pgettext

from bookings.errors import BookingError
from bookings.rules import horizon_end, month_from_param
from bookings.search import (
    SORT_LABELS,
    search_filters,
    search_groups_page,
    search_page,
    search_query_check,
)
from bookings.selectors import property_calendar
from bookings.site import (
    parse_date,
    parse_guests,
    quote_checked,
)
from properties.access import published_property, site_business
from properties.dates import format_day
from properties.languages import language_prefix, site_language_active, site_languages
from properties.models import Property
from properties.money import format_money
from properties.photos.selectors import largest_jpeg
from properties.selectors import property_list_published
from properties.urls_util import business_site_url

# --- Property page: calendar and quote ----------------------------------------------------


@dataclass(frozen=True)
class DayCell:
    day: date
    available: bool  # the night of this day is free
    past: bool
    selected: bool  # a night of the chosen stay
    href: str  # "" when the day cannot be chosen
    label: str
    state: str = ""  # "check-in", "check-out", "can-leave", "too-short", "no-arrival", "leave-only"
    min_nights: int = 1


@dataclass(frozen=True)
class MonthGrid:
    month: date
    weeks: list[list[DayCell | None]]


def _month_param(raw: str | None, first: date, last: date) -> date:
    wanted = month_from_param(raw)
    if wanted is None:
        return first
    return min(max(wanted, first), last)


def _add_month(month: date, step: int) -> date:
    index = month.year * 12 + month.month - 1 + step
    return date(index // 12, index % 12 + 1, 1)


def _free_run_end(nights: dict[date, Any], start: date, limit: date) -> date:
    """The first day from `start` whose night is taken (or `limit`): the last possible
    check-out of an arrival on `start` — the next guest's arrival day included."""
    day = start
    while day < limit and day in nights and nights[day].available:
        day += timedelta(days=1)
    return day


def _calendar(
    request: HttpRequest,
    prop: Property,
    *,
    check_in: date | None,
    check_out: date | None,
    guests: int,
) -> dict[str, Any]:
    """Two month grids (the second hidden on narrow screens) of links that pick dates,
    first the check-in, then the check-out, so it works without JavaScript and with the
    keyboard. Once a check-in is chosen, the days it can end on are marked: not before
    its minimum stay, up to and including the next guest's arrival day. A free night
    on which no stay can begin (the gap after it is shorter than the minimum stay for
    that arrival) is marked too. One calendar read for the months shown and, with a
    check-in chosen, the nights after it."""
    today = prop.local_today()
    first_month = today.replace(day=1)
    horizon = horizon_end(property=prop, today=today)
    last_month = horizon.replace(day=1)
    default = check_in.replace(day=1) if check_in else first_month
    month = _month_param(
        request.GET.get("month") or default.strftime("%Y-%m"), first_month, last_month
    )
    end = _add_month(month, 2)
    choosing_out = check_in is not None and check_out is None and check_in >= today
    start_read = min(month, check_in) if choosing_out and check_in else month
    end_read = (
        max(end, check_in + timedelta(days=prop.max_nights + 1))
        if choosing_out and check_in
        else end
    )
    end_read = min(max(end_read, end), horizon + timedelta(days=62))
    nights = {n.date: n for n in property_calendar(property=prop, start=start_read, end=end_read)}
    run_end = minimum = None
    if choosing_out and check_in in nights and nights[check_in].available:
        minimum = nights[check_in].min_nights
        run_end = min(
            _free_run_end(nights, check_in, end_read),
            check_in + timedelta(days=prop.max_nights),
            horizon,
        )
    money = prop.business.currency

    def link(**params: str) -> str:
        return (
            "?"
            + urlencode({"month": month.strftime("%Y-%m"), "guests": str(guests), **params})
            + "#calendar"
        )

    def cell(day: date) -> DayCell:
        night = nights.get(day)
        available = bool(night and night.available)
        past = day < today
        min_nights = night.min_nights if night else prop.min_nights
        selected = bool(check_in and check_out and check_in <= day < check_out)
        price = (
            gettext(", %(price)s per night") % {"price": format_money(night.price, money)}
            if night and available
            else ""
        )
        name = format_day(day, "l j F Y")
        if past:
            label = pgettext("calendar day", "%(day)s, past") % {"day": name}
            return DayCell(day, available, True, False, "", label, "", min_nights)
        if run_end is not None and check_in is not None and minimum is not None:
            if day == check_in:
                return DayCell(
                    day,
                    True,
                    False,
                    True,
                    link(check_in=day.isoformat()),
                    gettext("%(day)s, your check-in; choose a check-out day") % {"day": name},
                    "check-in",
                    min_nights,
                )
            if check_in < day <= run_end:
                stay = (day - check_in).days
                if stay < minimum:
                    return DayCell(
                        day,
                        available,
                        False,
                        False,
                        "",
                        ngettext(
                            "%(day)s, too short: at least %(minimum)d night from your check-in",
                            "%(day)s, too short: at least %(minimum)d nights from your check-in",
                            minimum,
                        )
                        % {"day": name, "minimum": minimum},
                        "too-short",
                        min_nights,
                    )
                state = "can-leave" if available else "leave-only"
                return DayCell(
                    day,
                    available,
                    False,
                    False,
                    link(check_in=check_in.isoformat(), check_out=day.isoformat()),
                    ngettext(
                        "%(day)s, choose as check-out (%(nights)d night)",
                        "%(day)s, choose as check-out (%(nights)d nights)",
                        stay,
                    )
                    % {"day": name, "nights": stay},
                    state,
                    min_nights,
                )
        if not available:
            if check_out and day == check_out:
                return DayCell(
                    day,
                    False,
                    False,
                    False,
                    "",
                    gettext("%(day)s, your check-out, unavailable for arrival") % {"day": name},
                    "check-out",
                    min_nights,
                )
            label = pgettext("calendar day", "%(day)s, unavailable") % {"day": name}
            return DayCell(day, False, False, False, "", label, "", min_nights)
        gap = (_free_run_end(nights, day, end_read) - day).days
        if gap < min_nights and day + timedelta(days=gap) < end_read:
            return DayCell(
                day,
                True,
                False,
                selected,
                "",
                ngettext(
                    "%(day)s, no arrivals: stays from this day need %(nights)d night",
                    "%(day)s, no arrivals: stays from this day need %(nights)d nights",
                    min_nights,
                )
                % {"day": name, "nights": min_nights},
                "no-arrival",
                min_nights,
            )
        state = "check-in" if check_in == day else ("check-out" if check_out == day else "")
        rule = (
            ngettext(", minimum %(nights)d night", ", minimum %(nights)d nights", min_nights)
            % {"nights": min_nights}
            if min_nights > 1
            else ""
        )
        return DayCell(
            day,
            True,
            False,
            selected,
            link(check_in=day.isoformat()),
            gettext("%(day)s, available%(price)s%(rule)s, choose as check-in")
            % {"day": name, "price": price, "rule": rule},
            state,
            min_nights,
        )

    months = []
    for shown in (month, _add_month(month, 1)):
        weeks: list[list[DayCell | None]] = []
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(shown.year, shown.month):
            weeks.append([cell(day) if day.month == shown.month else None for day in week])
        months.append(MonthGrid(shown, weeks))

    def nav(target: date) -> str:
        params = {"month": target.strftime("%Y-%m"), "guests": str(guests)}
        if check_in:
            params["check_in"] = check_in.isoformat()
        if check_out:
            params["check_out"] = check_out.isoformat()
        return "?" + urlencode(params) + "#calendar"

    clear = "?" + urlencode({"month": month.strftime("%Y-%m"), "guests": str(guests)}) + "#calendar"
    return {
        "month": month,
        "months": months,
        "weeks": months[0].weeks,
        "weekdays": [(WEEKDAYS_ABBR[i], WEEKDAYS[i]) for i in range(7)],
        "prev_url": nav(_add_month(month, -1)) if month > first_month else "",
        "next_url": nav(_add_month(month, 1)) if _add_month(month, 1) <= last_month else "",
        "choosing_out": run_end is not None,
        "minimum": minimum,
        "clear_url": clear if check_in else "",
    }


def property_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A property of the host's business: its details and the booking box."""
    prop = published_property(site_business(request), slug)
    context = {
        "property": prop,
        **property_booking_context(request, prop),
        **property_findability(request, prop),
    }
    return render(request, "site/property.html", context)


def _absolute(request: HttpRequest, url: str) -> str:
    return url if "://" in url else request.build_absolute_uri(url)


def _json_ld(data: dict[str, Any]) -> str:
    """JSON-LD for a <script> element: `<`, `>` and `&` escaped as in `json_script`."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    return mark_safe(  # noqa: S308 - escaped for a script element
        text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")
    )


def property_findability(request: HttpRequest, prop: Property) -> dict[str, Any]:
    """What search engines and link previews read: the description, the first photo,
    and schema.org VacationRental data (with its Accommodation) for the place."""
    business = prop.business
    url = business_site_url(business, reverse("site-property", args=[prop.slug]))
    images = []
    for image in getattr(prop, "public_photos", []):
        source = largest_jpeg(image)
        if source is not None:
            images.append(_absolute(request, source.url))
    description = " ".join(prop.description.split())[:300] or f"{prop.name} at {business.name}"
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "VacationRental",
        "@id": url,
        "name": prop.name,
        "url": url,
        "description": description,
        "identifier": f"{business.slug}-{prop.slug}",
        "containsPlace": {
            "@type": "Accommodation",
            "additionalType": "EntirePlace",
            "occupancy": {"@type": "QuantitativeValue", "value": prop.max_guests},
            "numberOfBedrooms": prop.bedrooms,
            "numberOfBathroomsTotal": prop.bathrooms,
            "amenityFeature": [
                {"@type": "LocationFeatureSpecification", "name": name, "value": True}
                for name in prop.amenities
            ],
        },
        "checkinTime": prop.check_in_time.strftime("%H:%M:%S"),
        "checkoutTime": prop.check_out_time.strftime("%H:%M:%S"),
        "brand": {"@type": "Brand", "name": business.name},
        "priceRange": f"from {format_money(prop.base_price, business.currency)} per night",
    }
    if prop.address:
        data["address"] = " ".join(prop.address.split())
    if images:
        data["image"] = images
    return {
        "meta_title": f"{prop.name} — {business.name}",
        "meta_description": description,
        "meta_image": images[0] if images else "",
        "structured_data": _json_ld(data),
    }


# --- Sitemap and robots.txt -------------------------------------------------------------


def sitemap(request: HttpRequest) -> HttpResponse:
    """The site's home, search and published places, on the business's own host: each
    in every language the business offers, with its other languages as `hreflang`
    alternates."""
    business = site_business(request)
    places = list(property_list_published(business=business).only("slug", "updated_at"))
    pages: list[tuple[str, list[str], datetime | None]] = [
        ("site-home", [], None),
        ("site-search", [], None),
    ]
    pages += [("site-property", [p.slug], p.updated_at) for p in places]
    languages = site_languages(business)
    urls: list[tuple[str, datetime | None, list[tuple[str, str]]]] = []
    for name, args, modified in pages:
        versions = []
        for code in languages:
            with site_language_active(business, code):
                versions.append((code, business_site_url(business, reverse(name, args=args))))
        alternates = versions if len(versions) > 1 else []
        urls += [(loc, modified, alternates) for _code, loc in versions]
    return render(
        request, "site/sitemap.xml", {"urls": urls}, content_type="application/xml; charset=utf-8"
    )


def robots(request: HttpRequest) -> HttpResponse:
    business = site_business(request)
    prefixes = [language_prefix(business, code) for code in site_languages(business)]
    private = ("/book/", "/trips/", "/checkout/", "/accounts/", "/api/")
    lines = [
        "User-agent: *",
        *(f"Disallow: {prefix}{path}" for prefix in prefixes for path in private),
        f"Sitemap: {business_site_url(business, '/sitemap.xml')}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def property_booking_context(request: HttpRequest, prop: Property) -> dict[str, Any]:
    """The booking box of the property page: calendar, date form, quote."""
    check_in = parse_date(request.GET.get("check_in"))
    check_out = parse_date(request.GET.get("check_out"))
    guests = parse_guests(request.GET.get("guests"), default=min(2, prop.max_guests))
    context: dict[str, Any] = {
        "check_in": check_in,
        "check_out": check_out,
        "guests": guests,
        "guest_choices": range(1, prop.max_guests + 1),
        "quote": None,
        "quote_error": "",
        "policy": prop.get_cancellation_policy_display(),
        "calendar": _calendar(request, prop, check_in=check_in, check_out=check_out, guests=guests),
    }
    if request.GET.get("check_in") and check_in is None:
        context["quote_error"] = gettext("Please enter the check-in date as YYYY-MM-DD.")
    elif request.GET.get("check_out") and check_out is None:
        context["quote_error"] = gettext("Please enter the check-out date as YYYY-MM-DD.")
    elif check_in and check_out:
        context["quote"], context["quote_error"], _status = quote_checked(
            prop, check_in, check_out, guests
        )
        if context["quote"] is not None:
            context["book_url"] = (
                reverse("site-checkout", args=[prop.slug])
                + "?"
                + urlencode(
                    {
                        "check_in": check_in.isoformat(),
                        "check_out": check_out.isoformat(),
                        "guests": guests,
                    }
                )
            )
    return context


# --- Search ------------------------------------------------------------------------------


def _int_param(raw: str | None, default: int) -> int | None:
    """An integer query parameter, the default when absent, None when unreadable."""
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def search(request: HttpRequest) -> HttpResponse:
    """Which places are free for these dates and guests, with the total for the stay:
    a business with hotels sees one row per hotel and room type (sold out, or its free
    units and lowest total) until it picks one."""
    business = site_business(request)
    source = request.GET
    filters = search_filters(business=business)
    context: dict[str, Any] = {
        "filters": filters,
        "sorts": SORT_LABELS,
        "check_in": source.get("check_in", ""),
        "check_out": source.get("check_out", ""),
        "guests": parse_guests(source.get("guests"), default=2),
        "bedrooms": source.get("bedrooms", ""),
        "group": source.get("group", ""),
        "sort": source.get("sort", "price"),
        "search": None,
        "problem": "",
    }
    if not (source.get("check_in") or source.get("check_out")):
        return render(request, "site/search.html", context)
    check_in, check_out = parse_date(source.get("check_in")), parse_date(source.get("check_out"))
    bedrooms = _int_param(source.get("bedrooms"), 0)
    group = _int_param(source.get("group"), 0)
    if check_in is None or check_out is None:
        context["problem"] = (
            gettext("Please enter the check-in date as YYYY-MM-DD.")
            if check_in is None
            else gettext("Please enter the check-out date as YYYY-MM-DD.")
        )
        return render(request, "site/search.html", context, status=400)
    if bedrooms is None or group is None:
        context["problem"] = gettext("Please choose the filters from the lists.")
        return render(request, "site/search.html", context, status=400)
    try:
        query = search_query_check(
            business=business,
            check_in=check_in,
            check_out=check_out,
            guests=context["guests"],
            bedrooms=bedrooms,
            group=group or None,
            sort=context["sort"],
        )
    except BookingError as exc:
        context["problem"] = exc.message
        return render(request, "site/search.html", context, status=400)
    context["search"] = query
    context["query_string"] = urlencode(
        {**query.params(), **({"list": "1"} if source.get("list") == "1" else {})}
    )
    if filters.groups and not query.group and source.get("list") != "1":
        found = search_groups_page(
            business=business, search=query, page=source.get("page"), kinds=filters.room_types
        )
        context["groups"] = [
            (
                row,
                urlencode(
                    {
                        **query.params(),
                        "group": row.group_id or "",
                        "bedrooms": row.bedrooms,
                        "list": "1",
                    }
                ),
            )
            for row in found
        ]
        context["page"] = found
        context["count"] = found.paginator.count
        return render(request, "site/search.html", context)
    page, results = search_page(business=business, search=query, page=source.get("page"))
    stay = urlencode(
        {
            "check_in": check_in.isoformat(),
            "check_out": check_out.isoformat(),
            "guests": query.guests,
        }
    )
    context.update(page=page, results=results, stay_params=stay, count=page.paginator.count)
    return render(request, "site/search.html", context)
