"""What the visitor pages of direct booking share (bookings.views, bookings.trip_views,
bookings.payments.views): the signed-in visitor and their trips, the site's origin,
dates and guests read from a request, a quote checked against the calendar, and what
other apps add to a trip page.

`TRIP_SECTIONS`: `fn(request, booking) -> list[TripSection]`, sections of the visitor's
trip page (messaging adds the conversation with the business). Apps register with
`properties.dashboard.registry.register_extension` in their `ready()`, as they do for
the owner's pages; bookings never imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import get_script_prefix
from django.utils.translation import gettext

from bookings.errors import BookingError, StayUnavailable
from bookings.models import Booking
from bookings.pricing import Quote, quote
from bookings.selectors import unavailable_ranges
from properties.access import site_business
from properties.dashboard.registry import extensions
from properties.dates import format_day
from properties.models import Property, User

TRIP_SECTIONS = "bookings.trip_sections"


@dataclass(frozen=True)
class TripSection:
    key: str
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100


def trip_sections(request: HttpRequest, booking: Booking) -> list[TripSection]:
    sections: list[TripSection] = []
    for fn in extensions(TRIP_SECTIONS):
        sections.extend(fn(request, booking))
    return sorted(sections, key=lambda section: (section.order, section.key))


def visitor(request: HttpRequest) -> User:
    """The signed-in visitor of a view behind `login_required`."""
    user = request.user
    assert isinstance(user, User)  # login_required
    return user


def visitor_trips(request: HttpRequest) -> QuerySet[Booking]:
    """The signed-in visitor's own stays at this host's business. Every trip page, and
    every app's page about a trip, looks it up here: another visitor's booking, or
    another business's, is a 404 like a missing one."""
    return Booking.objects.filter(
        business=site_business(request), guest_user=visitor(request), kind=Booking.Kind.STAY
    )


def site_origin(request: HttpRequest) -> str:
    """This business host's origin, as the visitor reached it (validated by the host
    middleware), with the page's language prefix (`/de`), for the gateway's success and
    cancel URLs."""
    return request.build_absolute_uri(get_script_prefix()).rstrip("/")


def parse_date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def parse_guests(raw: str | None, default: int = 2) -> int:
    try:
        return max(1, min(int(raw or default), 500))
    except ValueError:
        return default


def _unavailable_message(prop: Property, check_in: date, check_out: date) -> str:
    taken = unavailable_ranges(property=prop, start=check_in, end=check_out)
    if not taken:
        return ""
    first, last = taken[0][0], taken[-1][1] - timedelta(days=1)
    if last > first:
        return gettext(
            "Some of those nights are already booked (%(first)s to %(last)s). "
            "Please choose other dates."
        ) % {"first": format_day(first, "j M"), "last": format_day(last, "j M Y")}
    return gettext(
        "Some of those nights are already booked (%(first)s). Please choose other dates."
    ) % {"first": format_day(first, "j M Y")}


def quote_available(prop: Property, check_in: date, check_out: date, guests: int) -> Quote:
    """The quote of a stay a visitor could book now: a RuleViolation naming the rule it
    breaks, or StayUnavailable (with the taken range) when nights are taken. The
    property page, checkout and the visitor API all ask here."""
    priced = quote(prop, check_in, check_out, guests)
    taken = unavailable_ranges(property=prop, start=check_in, end=check_out)
    if taken:
        raise StayUnavailable(
            _unavailable_message(prop, check_in, check_out),
            conflict=(taken[0][0], taken[-1][1]),
        )
    return priced


def quote_checked(
    prop: Property, check_in: date, check_out: date, guests: int
) -> tuple[Quote | None, str, int]:
    """The quote, or what is wrong and its HTTP status: 409 when nights are taken,
    400 for anything else about the request."""
    try:
        return quote_available(prop, check_in, check_out, guests), "", 200
    except BookingError as exc:
        return None, exc.message, 409 if isinstance(exc, StayUnavailable) else 400
