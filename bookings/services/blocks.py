"""Blocks: nights closed on a calendar by the owner, a partner feed or maintenance.
They count as unavailable exactly like stays."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from psycopg.types.range import Range

from bookings import signals
from bookings.errors import InvalidTransition
from bookings.models import Booking
from bookings.rules import BLOCK_DATES, stay_dates_check
from bookings.services.writes import (
    calendar_insert,
    calendar_save,
    calendar_write,
    calendar_written_send,
    on_commit_send,
    property_lock,
    stay_free_claim,
    stay_free_fast_check,
)
from properties.models import Property


@calendar_write
def block_create(
    *,
    property: Property,
    start: date,
    end: date,
    note: str = "",
    kind: str = Booking.Kind.OWNER_BLOCK,
    source: str = Booking.Source.OWNER,
    enforce_rules: bool = False,
    now: datetime | None = None,
) -> Booking:
    """Close nights [start, end) on the calendar. Blocks count as unavailable like stays.

    Like `booking_create`: `enforce_rules=True` (the owner API) holds the block to what
    the site sells, from today and within the booking horizon; the admin, feeds and
    partners record what was decided, held only to the engine's date limits."""
    now = now or timezone.now()
    stay_dates_check(
        property=property,
        check_in=start,
        check_out=end,
        today=property.local_today(),
        allow_past=not enforce_rules,
        allow_beyond_horizon=not enforce_rules,
        names=BLOCK_DATES,
    )
    if kind not in Booking.BLOCK_KINDS:
        raise InvalidTransition(f"{kind} is not a kind of block.")
    stay_free_fast_check(property.pk, start, end, now)
    with transaction.atomic():
        prop = property_lock(property.pk, wanted=(start, end, now))
        block = calendar_insert(
            prop,
            start,
            end,
            now=now,
            action="block_created",
            status=Booking.Status.CONFIRMED,
            kind=kind,
            source=source,
            note=note,
            currency=prop.business.currency,
            confirmed_at=now,
        )
        on_commit_send(signals.block_changed, booking_id=block.pk, action="created")
    return block


@calendar_write
def block_change_dates(
    *, block: Booking, start: date, end: date, now: datetime | None = None
) -> Booking:
    """Move a block (in the admin, or a partner or iCal event whose dates changed); only
    the engine's date limits apply."""
    now = now or timezone.now()
    stay_dates_check(
        property=block.property,
        check_in=start,
        check_out=end,
        today=block.property.local_today(),
        allow_past=True,
        allow_beyond_horizon=True,
        names=BLOCK_DATES,
    )
    with transaction.atomic():
        prop = property_lock(block.property_id)
        current = Booking.objects.select_for_update().get(pk=block.pk)
        current.property = prop
        if not current.is_block or current.status != Booking.Status.CONFIRMED:
            raise InvalidTransition(f"{current.reference} is not an active block.")
        if (current.check_in, current.check_out) == (start, end):
            return current
        stay_free_claim(prop, start, end, now=now, exclude_id=current.pk)
        previous = {"check_in": current.check_in, "check_out": current.check_out}
        current.stay = Range(start, end, "[)")
        calendar_save(prop, current, action="changed", previous=previous)
        on_commit_send(signals.block_changed, booking_id=current.pk, action="changed")
    return current


@calendar_write
def block_remove(*, block: Booking, now: datetime | None = None) -> Booking:
    now = now or timezone.now()
    with transaction.atomic():
        prop = property_lock(block.property_id)
        current = Booking.objects.select_for_update().get(pk=block.pk)
        current.property = prop
        if not current.is_block:
            raise InvalidTransition(f"{current.reference} is a guest stay; cancel it instead.")
        if current.status == Booking.Status.CANCELLED:
            return current
        current.status = Booking.Status.CANCELLED
        current.cancelled_at = now
        current.save()
        calendar_written_send(current, action="block_removed")
        on_commit_send(signals.block_changed, booking_id=current.pk, action="removed")
    return current
