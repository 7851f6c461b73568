"""The calendar page: every property by every night of a month, and owner blocks."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from bookings.dashboard.forms import BlockForm
from bookings.dashboard.grid import SOURCE_LABELS, build_groups, days_of
from bookings.dashboard.selectors import (
    add_months,
    calendar_bookings,
    calendar_properties,
    month_end,
    month_start,
)
from bookings.dashboard.slots import calendar_marks
from bookings.errors import BookingError, InvalidDates, StayUnavailable
from bookings.services.blocks import block_create
from properties.dashboard.access import Acting
from properties.dashboard.text import plural
from properties.dashboard.views import render_page
from properties.models import Property, PropertyGroup
from properties.permissions import MANAGE_BOOKINGS

LEGEND = [
    ("is-stay src-direct", "Direct booking"),
    ("is-stay src-airbnb", "Airbnb"),
    ("is-stay src-booking", "Booking.com"),
    ("is-stay src-vrbo", "Vrbo"),
    ("is-stay src-owner", "Owner or API"),
    ("is-hold", "Hold (awaiting payment)"),
    ("is-block", "Blocked"),
    ("has-conflict", "Conflict"),
]


def parse_month(raw: str | None, today: date) -> date:
    """`YYYY-MM` -> its first day; anything else -> this month."""
    try:
        year, month = (int(part) for part in (raw or "").split("-"))
        if 2000 <= year <= 2100:
            return date(year, month, 1)
    except ValueError:
        pass
    return month_start(today)


# Above this many properties the calendar shows one group at a time (a chain's hotels),
# the first one unless another is chosen.
ONE_GROUP_ABOVE = 150


def month_url(month: date, anchor: str = "", group: PropertyGroup | None = None) -> str:
    chosen = f"&group={group.pk}" if group is not None else ""
    return f"{reverse('dashboard:calendar')}?month={month:%Y-%m}{chosen}{anchor}"


def _group_choice(
    request: HttpRequest, acting: Acting
) -> tuple[list[PropertyGroup], PropertyGroup | None]:
    """The groups the member may pick from, and the one shown (None: every property in
    their scope)."""
    groups = list(acting.scope.groups().filter(properties__isnull=False).distinct())
    raw = request.GET.get("group") or request.POST.get("group") or ""
    chosen = next((g for g in groups if str(g.pk) == raw), None)
    many = acting.properties().count() > ONE_GROUP_ABOVE  # asked always: constant queries
    if chosen is None and groups and many:
        chosen = groups[0]
    return groups, chosen


def _page(
    request: HttpRequest,
    acting: Acting,
    month: date,
    form: BlockForm | None,
    properties: list[Property],
    status: int = 200,
    groups: tuple[list[PropertyGroup], PropertyGroup | None] = ([], None),
) -> HttpResponse:
    end = month_end(month)
    choices, group = groups
    bookings = calendar_bookings(
        business=acting.business, start=month, end=end, property_ids=[p.pk for p in properties]
    )
    marks = calendar_marks(acting, properties, month, end)
    this_month = month_start(acting.today)
    context: dict[str, Any] = {
        "month": month,
        "days": days_of(month, end, acting.today),
        "groups": build_groups(properties, bookings, marks, month, end, acting.today),
        "prev_url": month_url(add_months(month, -1), group=group),
        "next_url": month_url(add_months(month, 1), group=group),
        "group_choices": choices if len(choices) > 1 else [],
        "group": group,
        "prev_month": add_months(month, -1),
        "next_month": add_months(month, 1),
        "today_url": month_url(this_month, "#today", group=group),
        "is_this_month": month == this_month,
        "legend": LEGEND,
        "source_labels": SOURCE_LABELS,
        "block_form": form,
        "today": acting.today,
    }
    return render_page(request, acting, "dashboard/bookings/calendar.html", context, status=status)


def calendar_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    month = parse_month(request.GET.get("month"), acting.today)
    groups = _group_choice(request, acting)
    group = groups[1]
    properties = calendar_properties(
        business=acting.business,
        scope=acting.scope,
        group_id=group.pk if group is not None else None,
    )
    form = None
    if acting.may(MANAGE_BOOKINGS) and properties:
        form = BlockForm(properties=properties, initial={"start": acting.today})
    return _page(request, acting, month, form, properties, groups=groups)


def calendar_block(request: HttpRequest, acting: Acting) -> HttpResponse:
    """POST: close nights on a property (the block form under the calendar)."""
    if request.method != "POST":
        return redirect("dashboard:calendar")
    properties = calendar_properties(business=acting.business, scope=acting.scope)
    form = BlockForm(request.POST, properties=properties)
    month = parse_month(request.POST.get("month"), acting.today)
    if form.is_valid():
        data = form.cleaned_data
        prop = form.chosen_property()
        try:
            block = block_create(
                property=prop,
                start=data["start"],
                end=data["end"],
                kind=data["kind"],
                note=data["note"],
            )
        except StayUnavailable as exc:
            form.add_error(None, exc.message)
        except InvalidDates as exc:
            form.add_error("end", exc.message)
        except BookingError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Blocked {prop.name} from {block.check_in:%-d %b} to {block.check_out:%-d %b %Y} "
                f"({plural(block.nights, 'night')}).",
            )
            return redirect(month_url(month_start(block.check_in)))
    start = form.cleaned_data.get("start") if hasattr(form, "cleaned_data") else None
    if isinstance(start, date):
        month = month_start(start)
    return _page(request, acting, month, form, properties, status=400)
