"""What other apps may add to the bookings pages of the dashboard, and in what shape.

Bookings never imports messaging or integrations: those apps register functions for
these slots (`properties.dashboard.registry.register_extension`) in their `ready()`.

- `BOOKING_FACTS`: `fn(acting, bookings: list[Booking]) -> dict[int, list[Badge]]`,
  short facts per booking id for Today's lists (the key code, the cleaner's answer).
  Called once per list: answer in a constant number of queries.
- `BOOKING_SECTIONS`: `fn(acting, booking) -> list[DetailSection]`, sections of the
  booking page (its emails, its cleaning job, its partner conversation).
- `CALENDAR_MARKS`: `fn(acting, properties, start, end) -> list[CalendarMark]`,
  warnings drawn over the calendar (an open conflict's nights).
- `BOOKING_LOCK`: `fn(booking) -> str`, why the owner may not change this booking
  here ("" when they may): a partner that owns it, which only that app can tell.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from properties.dashboard.registry import Badge, extensions

if TYPE_CHECKING:
    from bookings.models import Booking
    from properties.dashboard.access import Acting
    from properties.models import Property

BOOKING_FACTS = "bookings.booking_facts"
BOOKING_SECTIONS = "bookings.booking_sections"
CALENDAR_MARKS = "bookings.calendar_marks"
BOOKING_LOCK = "bookings.booking_lock"


@dataclass(frozen=True)
class DetailSection:
    key: str
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 100
    side: bool = False  # in the narrow column, next to the actions


@dataclass(frozen=True)
class CalendarMark:
    """Nights [start, end) of one property that need the owner's eye."""

    property_id: int
    start: date
    end: date
    label: str
    url: str
    booking_ids: tuple[int, ...] = ()


def booking_facts(acting: Acting, bookings: list[Booking]) -> dict[int, list[Badge]]:
    facts: dict[int, list[Badge]] = defaultdict(list)
    if not bookings:
        return facts
    for fn in extensions(BOOKING_FACTS):
        for booking_id, badges in fn(acting, bookings).items():
            facts[booking_id].extend(badges)
    return facts


def booking_sections(acting: Acting, booking: Booking) -> list[DetailSection]:
    sections: list[DetailSection] = []
    for fn in extensions(BOOKING_SECTIONS):
        sections.extend(fn(acting, booking))
    return sorted(sections, key=lambda section: (section.order, section.key))


def calendar_marks(
    acting: Acting, properties: list[Property], start: date, end: date
) -> list[CalendarMark]:
    marks: list[CalendarMark] = []
    if not properties:
        return marks
    for fn in extensions(CALENDAR_MARKS):
        marks.extend(fn(acting, properties, start, end))
    return marks


def booking_lock_reason(booking: Booking) -> str:
    """Why this booking is read-only on the dashboard, or "" when the owner may act."""
    from bookings.dashboard.selectors import partner_lock_reason

    reason = partner_lock_reason(booking)
    for fn in extensions(BOOKING_LOCK):
        reason = reason or fn(booking)
    return reason
