"""Cancelling a stay: the policies, what a cancellation now gives back, and the cancel
itself (which frees the dates and pays nothing: the payment services refund)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from bookings import signals
from bookings.errors import InvalidTransition
from bookings.models import Booking
from bookings.services.writes import (
    calendar_write,
    calendar_written_send,
    on_commit_send,
    property_lock,
)
from properties.models import Property
from properties.money import round_money

# Refund fraction of what was paid, by policy, by how long before the local check-in
# time the cancellation comes. Ordered from the earliest threshold.
CANCELLATION_POLICIES: dict[str, list[tuple[timedelta, Decimal]]] = {
    Property.CancellationPolicy.FLEXIBLE: [(timedelta(days=1), Decimal(1))],
    Property.CancellationPolicy.MODERATE: [
        (timedelta(days=5), Decimal(1)),
        (timedelta(0), Decimal("0.5")),
    ],
    Property.CancellationPolicy.STRICT: [(timedelta(days=7), Decimal("0.5"))],
}


def check_in_datetime(booking: Booking) -> datetime:
    """The local check-in moment, in UTC-aware form."""
    prop = booking.property
    return datetime.combine(booking.check_in, prop.check_in_time, tzinfo=prop.tz)


def refund_quote(
    *, booking: Booking, by_owner: bool = False, now: datetime | None = None
) -> Decimal:
    """What a cancellation now gives back under the property's policy.

    The owner cancelling refunds everything; a guest gets the policy's share of what
    was paid, by how long before the local check-in time they cancel."""
    now = now or timezone.now()
    paid = booking.amount_paid - booking.amount_refunded
    if paid <= 0:
        return Decimal(0)
    if by_owner:
        return paid
    notice = check_in_datetime(booking) - now
    fraction = Decimal(0)
    for threshold, share in CANCELLATION_POLICIES[booking.property.cancellation_policy]:
        if notice >= threshold:
            fraction = share
            break
    return round_money(paid * fraction, booking.currency)


@calendar_write
def booking_cancel_without_refund(
    *, booking: Booking, by_owner: bool = False, reason: str = "", now: datetime | None = None
) -> tuple[Booking, Decimal]:
    """Cancel a stay; returns it with the refund the policy implies (the caller pays it
    out through the payment gateway)."""
    now = now or timezone.now()
    with transaction.atomic():
        prop = property_lock(booking.property_id)
        current = Booking.objects.select_for_update().get(pk=booking.pk)
        current.property = prop
        if current.is_block:
            raise InvalidTransition(f"{current.reference} is a block; remove it instead.")
        if current.status not in (Booking.Status.HELD, Booking.Status.CONFIRMED):
            raise InvalidTransition(
                f"Booking {current.reference} is already {current.get_status_display().lower()}."
            )
        refund = refund_quote(booking=current, by_owner=by_owner, now=now)
        previous_status = current.status
        current.status = Booking.Status.CANCELLED
        current.cancelled_at = now
        if reason:
            current.note = (current.note + "\n" if current.note else "") + f"Cancelled: {reason}"
        current.save()
        calendar_written_send(current, action="cancelled", previous={"status": previous_status})
        on_commit_send(signals.booking_cancelled, booking_id=current.pk)
    return current, refund
