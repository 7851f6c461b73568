"""Reads behind the bookings pages of the dashboard. Every function takes the business
first, and the member's `scope` (properties.permissions.Scope: a group manager sees
their groups' properties only), and answers in a constant number of queries, however
many properties, days or bookings are shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Exists, F, Prefetch, Q, QuerySet
from psycopg.types.range import Range

from bookings.models import Booking
from bookings.payments.models import Payment, Refund, StripeAccount
from bookings.payments.services.balance import amount_due
from bookings.payments.services.refunds import refundable
from bookings.rules import PARTNER_SOURCES
from bookings.selectors import booking_list, calendar_rows
from properties.dashboard.reads import first_with_total
from properties.models import Business, Property
from properties.permissions import Scope

WHOLE = None  # no scope given: the whole business (platform jobs, tests)


def _scoped(qs: QuerySet[Any], scope: Scope | None, via: str = "property") -> QuerySet[Any]:
    return qs if scope is None else scope.apply(qs, via=via)


def calendar_properties(
    *, business: Business, scope: Scope | None = WHOLE, group_id: int | None = None
) -> list[Property]:
    """Every property (of one group, when asked) with its group: grouped ones first by
    group name, then the rest."""
    qs = _scoped(Property.objects.for_business(business), scope, via="")
    if group_id is not None:
        qs = qs.filter(group_id=group_id)
    return list(
        qs.select_related("group").order_by(F("group__name").asc(nulls_last=True), "name", "id")
    )


def calendar_bookings(
    *,
    business: Business,
    start: date,
    end: date,
    now: datetime | None = None,
    property_ids: list[int] | None = None,
) -> list[Booking]:
    """Active stays, holds and blocks over any night of [start, end) (of the given
    properties, when asked). One query.

    Asked property by property (`property IN (...)`), so that PostgreSQL walks the
    (property, stay) GiST index once per property: asked by business alone, it scanned
    that index for the month of every business (38,000 rows at 8,000 properties) and
    ran 100x slower."""
    qs = Booking.objects.filter(business=business)
    if property_ids is not None:
        qs = qs.filter(property_id__in=property_ids)
    else:
        qs = qs.filter(property__in=Property.objects.for_business(business).values("pk"))
    return calendar_rows(qs, start=start, end=end, now=now)


def _stays(business: Business, scope: Scope | None) -> QuerySet[Booking]:
    # The property's business too: PostgreSQL then joins the business's properties
    # (and looks each one's stay up in the (property, stay) index) instead of hashing
    # every property of every business.
    return _scoped(
        Booking.objects.filter(
            business=business,
            property__business=business,
            kind=Booking.Kind.STAY,
            status=Booking.Status.CONFIRMED,
        ),
        scope,
    ).select_related("property")


@dataclass(frozen=True)
class StaysAround:
    """Confirmed guest stays on a day: arriving, leaving, and in the house (arrived
    before the day, leaving after it)."""

    arriving: list[Booking]
    departing: list[Booking]
    in_house: list[Booking]


def stays_around(*, business: Business, day: date, scope: Scope | None = WHOLE) -> StaysAround:
    """Today's three lists in one query: the stays over the night before `day` or
    the night of `day`, which the (property, stay) index answers property by property,
    so the cost does not grow with the bookings stored."""
    nights = Range(day - timedelta(days=1), day + timedelta(days=1), "[)")
    rows = list(_stays(business, scope).filter(stay__overlap=nights))
    for row in rows:
        row.property.business = business  # the panels' key codes need its time zone
    by_name = sorted(rows, key=lambda b: (b.property.name, b.pk))
    return StaysAround(
        arriving=[b for b in by_name if b.check_in == day],
        departing=[b for b in by_name if b.check_out == day],
        in_house=sorted(
            (b for b in rows if b.check_in < day < b.check_out),
            key=lambda b: (b.check_in, b.check_out, b.property.name, b.pk),
        ),
    )


def next_arrival(*, business: Business, after: date, scope: Scope | None = WHOLE) -> Booking | None:
    return _stays(business, scope).filter(stay__startswith__gt=after).order_by("stay").first()


def refunds_refused(
    *, business: Business, limit: int = 5, scope: Scope | None = WHOLE
) -> tuple[list[Refund], int]:
    """Refunds the gateway refused (they need the owner: retry at the gateway, or
    contact the guest), newest first, with how many there are in all."""
    qs = _scoped(
        Refund.objects.filter(business=business, status=Refund.Status.FAILED),
        scope,
        via="booking__property",
    )
    return first_with_total(
        qs.select_related("booking", "booking__property").order_by("-created_at"), limit
    )


def has_stripe_account(*, business: Business) -> Q:
    """A condition: the setup steps ask it with the others, in one query. Done once
    the account takes card payments."""
    return Q(Exists(StripeAccount.objects.filter(business=business, charges_enabled=True)))


# --- The bookings list ------------------------------------------------------------------

WHEN_CHOICES = (
    ("upcoming", "Upcoming and current"),
    ("past", "Past"),
    ("all", "All dates"),
)


def booking_search(
    *,
    business: Business,
    today: date,
    query: str = "",
    filters: dict[str, Any] | None = None,
    scope: Scope | None = WHOLE,
) -> QuerySet[Booking]:
    """Bookings and blocks matching a search (reference, guest name or email) and the
    filters of `bookings.selectors.booking_list`, plus `when`: upcoming (not yet
    checked out; soonest first), past (newest first) or all. Expired holds (abandoned
    checkouts) only when asked for by status."""
    filters = dict(filters or {})
    when = filters.pop("when", "") or "upcoming"
    # The property's business too: the page joins each row's property, and PostgreSQL
    # then reads the business's properties instead of hashing all of them.
    qs = _scoped(
        booking_list(business=business, filters=filters).filter(property__business=business),
        scope,
    )
    if not filters.get("status"):
        qs = qs.exclude(status=Booking.Status.EXPIRED)
    query = query.strip()
    if query:
        qs = qs.filter(
            Q(reference__icontains=query)
            | Q(guest_name__icontains=query)
            | Q(guest_email__icontains=query)
        )
    if filters.get("start") or filters.get("end"):
        when = "all"
    if when == "upcoming":
        return qs.filter(stay__endswith__gte=today).order_by("stay", "id")
    if when == "past":
        return qs.filter(stay__endswith__lt=today).order_by("-stay", "-id")
    return qs.order_by("-stay", "-id")


# --- One booking ------------------------------------------------------------------------


def booking_detail(
    *, business: Business, reference: str, scope: Scope | None = WHOLE
) -> Booking | None:
    """A booking of this business (in the member's scope) by reference, with its
    payments and refunds."""
    return (
        _scoped(Booking.objects.filter(business=business, reference=reference.upper()), scope)
        .select_related("property", "property__business", "guest_user")
        .prefetch_related(
            Prefetch("payments", queryset=Payment.objects.order_by("created_at")),
            Prefetch("refunds", queryset=Refund.objects.order_by("created_at")),
        )
        .first()
    )


def stay_actions(booking: Booking, lock_reason: str) -> dict[str, Any]:
    """Which of these actions the booking page offers, and the amounts they start from
    (permissions are the caller's: every action needs `bookings.manage`)."""
    open_stay = (
        not lock_reason and not booking.is_block and booking.status == Booking.Status.CONFIRMED
    )
    refundable_now = refundable(booking=booking) if not lock_reason else Decimal(0)
    due = amount_due(booking) if not lock_reason else Decimal(0)
    return {
        "can_change_dates": open_stay,
        "can_refund": not lock_reason and not booking.is_block and refundable_now > 0,
        "can_record_payment": open_stay and due > 0,
        "refundable": refundable_now,
        "due": due,
    }


def partner_lock_reason(booking: Booking) -> str:
    """Why the owner cannot change this booking here, or "" when they can."""
    label = booking.get_source_display()
    if booking.source == Booking.Source.ICAL:
        return (
            "Imported from a partner's iCal feed: it follows that calendar. Free the dates "
            "on the partner's side and the next fetch removes it here."
        )
    if booking.source in PARTNER_SOURCES:
        return (
            f"Made on {label}: change or cancel it on {label}. Holidesk applies the change "
            f"as soon as {label} sends it, so both calendars stay the same."
        )
    return ""


@dataclass(frozen=True)
class PriceLine:
    label: str
    amount: str


def price_lines(booking: Booking) -> list[PriceLine]:
    """The stored breakdown as table rows (partner stays carry only their total)."""
    lines = (booking.price_breakdown or {}).get("lines") or []
    return [
        PriceLine(label=str(line.get("label", "")), amount=str(line.get("amount", "")))
        for line in lines
        if isinstance(line, dict)
    ]


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, step: int) -> date:
    index = month.year * 12 + month.month - 1 + step
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    return add_months(month, 1)


def nights_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]
