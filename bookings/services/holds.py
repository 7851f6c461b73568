"""Holds: nights reserved while someone pays, how many one visitor may keep at once,
the holds of an extension, and the sweep of run-out holds.

A hold is a `held` booking with `hold_expires_at`; it counts for the exclusion
constraint until it is expired, and reads treat it as free once it ran out.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from bookings.errors import HoldLimitReached
from bookings.models import Booking
from bookings.rules import stay_dates_check
from bookings.services.writes import (
    calendar_insert,
    calendar_write,
    calendar_written_send,
    property_lock,
    run_out_holds_expire,
    stay_free_fast_check,
)
from properties.db import lock_one
from properties.models import Business, Property, User


def hold_insert(
    prop: Property, start: date, end: date, *, now: datetime, expires_at: datetime, **fields: Any
) -> Booking:
    """A held stay on a property locked by the caller."""
    return calendar_insert(
        prop,
        start,
        end,
        now=now,
        action="held",
        status=Booking.Status.HELD,
        kind=Booking.Kind.STAY,
        hold_expires_at=expires_at,
        **fields,
    )


def visitor_holds_check(*, business: Business, user: User, nights: int, now: datetime) -> None:
    """Refuse a new hold when the visitor already keeps HOLIDESK_HOLDS_PER_VISITOR holds at
    this business, or when their holds there would together pass
    HOLIDESK_HELD_NIGHTS_PER_VISITOR nights (one stay longer than that may still be held
    on its own: the property's maximum stay governs it). Without a cap one visitor could
    close a whole season with unpaid checkouts.

    Locks the visitor's row for the caller's transaction, so that two checkouts of one
    visitor started at the same instant are counted one after the other."""
    lock_one(User.objects.all(), pk=user.pk)
    held = list(
        Booking.objects.filter(
            business=business,
            guest_user=user,
            status=Booking.Status.HELD,
            hold_expires_at__gt=now,
        ).values_list("stay", flat=True)
    )
    most = settings.HOLIDESK_HOLDS_PER_VISITOR
    if len(held) >= most:
        raise HoldLimitReached(
            gettext(
                "You already have %(held)d stays awaiting payment here (at most %(most)d at "
                "once). Please pay for one, or wait for it to be released, before holding "
                "another."
            )
            % {"held": len(held), "most": most}
        )
    nights_most = settings.HOLIDESK_HELD_NIGHTS_PER_VISITOR
    held_nights = sum((stay.upper - stay.lower).days for stay in held)
    if held and held_nights + nights > nights_most:
        raise HoldLimitReached(
            gettext(
                "Your stays awaiting payment here would add up to %(nights)d nights (at "
                "most %(most)d at once). Please pay for one, or wait for it to be "
                "released, first."
            )
            % {"nights": held_nights + nights, "most": nights_most}
        )


@calendar_write
def extension_nights_hold(
    *,
    booking: Booking,
    check_in: date,
    check_out: date,
    hold_minutes: int | None = None,
    now: datetime | None = None,
) -> list[Booking]:
    """Hold the nights an extension adds to a confirmed stay (before it, after it or
    both) while the guest pays, like a checkout hold. The holds are released into the
    stay by `extension_holds_release` when the payment succeeds, or run out."""
    now = now or timezone.now()
    prop = booking.property
    stay_dates_check(
        property=prop,
        check_in=check_in,
        check_out=check_out,
        today=prop.local_today(),
        # A stay in progress keeps its check-in; only nights it adds meet the horizon.
        allow_past=check_in == booking.check_in,
        allow_beyond_horizon=check_out == booking.check_out,
    )
    minutes = hold_minutes or settings.HOLIDESK_HOLD_MINUTES
    added = [
        (start, end)
        for start, end in ((check_in, booking.check_in), (booking.check_out, check_out))
        if start < end
    ]
    for start, end in added:
        stay_free_fast_check(booking.property_id, start, end, now)
    holds: list[Booking] = []
    with transaction.atomic():
        prop = property_lock(booking.property_id)
        for start, end in added:
            hold = hold_insert(
                prop,
                start,
                end,
                now=now,
                expires_at=now + timedelta(minutes=minutes),
                source=booking.source,
                guest_name=booking.guest_name,
                guest_email=booking.guest_email,
                guest_phone=booking.guest_phone,
                guests=booking.guests,
                note=f"Extra nights for {booking.reference}, awaiting payment.",
                total=Decimal(0),
                currency=booking.currency,
            )
            holds.append(hold)
    return holds


@calendar_write
def extension_holds_release(*, holds: list[Booking]) -> None:
    """Free extension holds (still held) in the caller's transaction: just before the
    stay takes their nights, or when the extension is abandoned."""
    if not holds:
        return
    with transaction.atomic():
        property_lock(holds[0].property_id)
        for hold in Booking.objects.select_for_update().filter(
            pk__in=[h.pk for h in holds], status=Booking.Status.HELD
        ):
            hold.status = Booking.Status.EXPIRED
            hold.save(update_fields=["status", "updated_at"])
            calendar_written_send(hold, action="expired")


def holds_expire(*, now: datetime | None = None, batch: int = 500) -> int:
    """Periodic sweep: mark run-out holds expired. Writes expire their own property's
    holds as well, so this only keeps the table tidy and the admin honest."""
    now = now or timezone.now()
    total = 0
    property_ids = list(
        Booking.objects.filter(status=Booking.Status.HELD, hold_expires_at__lte=now)
        .values_list("property_id", flat=True)
        .distinct()[:batch]
    )
    for property_id in property_ids:
        with transaction.atomic():
            prop = property_lock(property_id)
            total += len(run_out_holds_expire(prop, now))
    return total
