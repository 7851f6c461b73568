"""Reads behind messaging's parts of the owner dashboard. Each takes the business (or
objects already scoped to it) and answers in a constant number of queries."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet

from bookings.models import Booking
from messaging.models import KeyCode, ScheduledMessage, Turnover
from properties.models import Business

# A scheduled email this late, or one mid-send this long, is stuck: the dispatcher
# runs every few seconds, so something (workers, the provider) needs a look.
OVERDUE = timedelta(minutes=15)
# Failures older than this are history, not today's problem.
PROBLEM_WINDOW = timedelta(days=30)


def arrival_codes(bookings: list[Booking]) -> dict[int, KeyCode]:
    """The code on the box when each guest arrives (see messaging.selectors
    `code_for_arrival`), for many stays in one query."""
    if not bookings:
        return {}
    codes = list(
        KeyCode.objects.filter(
            property_id__in={b.property_id for b in bookings},
            retired_at__isnull=True,
            valid_from__lte=max(b.check_in for b in bookings),
        ).order_by("-valid_from", "-id")
    )
    found = {}
    for booking in bookings:
        code = next(
            (
                c
                for c in codes
                if c.property_id == booking.property_id and c.valid_from <= booking.check_in
            ),
            None,
        )
        if code is not None:
            found[booking.pk] = code
    return found


def turnovers_before(bookings: list[Booking]) -> dict[int, Turnover]:
    """The cleaning job that readies the property for each stay, by stay id."""
    rows = (
        Turnover.objects.filter(next_booking_id__in=[b.pk for b in bookings])
        .exclude(state=Turnover.State.CANCELLED)
        .select_related("cleaner")
    )
    return {t.next_booking_id: t for t in rows if t.next_booking_id is not None}


def _local_day(business: Business, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=business.tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=business.tz)


def turnovers_on(*, business: Business, day: date) -> list[Turnover]:
    """Cleaning jobs starting on `day` (the business's local day), cancelled ones aside."""
    start, end = _local_day(business, day)
    return list(
        Turnover.objects.filter(business=business, starts_at__gte=start, starts_at__lt=end)
        .exclude(state=Turnover.State.CANCELLED)
        .select_related("property__business", "cleaner", "booking", "next_booking", "key_code")
        .order_by("starts_at", "property__name")
    )


def messages_in_trouble(
    *, business: Business, now: datetime, limit: int = 5
) -> tuple[list[ScheduledMessage], int]:
    """Emails that failed, need a person to decide, or are stuck, newest first."""
    qs = ScheduledMessage.objects.filter(
        business=business, send_at__gte=now - PROBLEM_WINDOW
    ).filter(
        Q(state=ScheduledMessage.State.FAILED)
        | Q(needs_review=True)
        | Q(state=ScheduledMessage.State.SCHEDULED, send_at__lt=now - OVERDUE)
        | Q(state=ScheduledMessage.State.SENDING, sending_at__lt=now - OVERDUE)
    )
    rows = list(qs.select_related("booking").order_by("-send_at")[:limit])
    total = len(rows) if len(rows) < limit else qs.count()
    return rows, total


def booking_messages(booking: Booking) -> QuerySet[ScheduledMessage]:
    """Emails about one stay: to the guest, the owner, and the cleaner after it."""
    return (
        ScheduledMessage.objects.filter(business_id=booking.business_id)
        .filter(Q(booking=booking) | Q(turnover__booking=booking))
        .order_by("send_at", "id")
    )


def booking_turnovers(booking: Booking) -> tuple[Turnover | None, Turnover | None]:
    """(the cleaning before this stay, the cleaning after it)."""
    rows = list(
        Turnover.objects.filter(business_id=booking.business_id)
        .filter(Q(next_booking=booking) | Q(booking=booking))
        .exclude(state=Turnover.State.CANCELLED)
        .select_related("cleaner", "key_code", "booking", "next_booking")
    )
    before = next((t for t in rows if t.next_booking_id == booking.pk), None)
    after = next((t for t in rows if t.booking_id == booking.pk), None)
    return before, after


def message_for_business(*, business: Business, message_id: int) -> ScheduledMessage | None:
    return ScheduledMessage.objects.filter(business=business, pk=message_id).first()
