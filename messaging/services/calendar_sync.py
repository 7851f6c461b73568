"""Keeping a property's messages, cleaning jobs and key codes in step with its
calendar: after each calendar write (inside the booking's transaction, from the
`calendar_written` receiver), and on demand after its settings change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from bookings.models import Booking
from messaging.selectors import timing_for
from messaging.services.key_codes import arrivals_reconcile
from messaging.services.outbox import outbox_kick
from messaging.services.stay_messages import (
    booking_messages_cancelled,
    booking_messages_changed,
    booking_messages_confirmed,
)
from messaging.services.turnovers import turnovers_sync
from properties.db import lock_one
from properties.models import Property


def stay_schedule_changed(
    *, booking: Booking, action: str, previous: dict[str, Any] | None, now: datetime | None = None
) -> None:
    """A stay was written: schedule, re-time or cancel its messages, sync the cleaning
    jobs around its old and new dates, and correct what guests were already told.
    Runs in the booking's transaction, under the property's row lock."""
    if booking.is_block or action not in ("confirmed", "changed", "cancelled", "expired"):
        return
    now = now or timezone.now()
    # The engine hands over the booking with the property it locked (business joined):
    # everything below reads the settings once and the property not again.
    prop = booking.property
    timing = timing_for(prop)
    if action == "confirmed":
        booking_messages_confirmed(booking=booking, now=now, timing=timing)
    elif action == "changed":
        booking_messages_changed(booking=booking, now=now, timing=timing, previous=previous)
    else:
        was_confirmed = (previous or {}).get("status") == Booking.Status.CONFIRMED
        booking_messages_cancelled(
            booking=booking, was_confirmed=was_confirmed, now=now, timing=timing
        )
    # Only the stays around the booking's old and new dates can see their job change.
    window = [booking.check_in, booking.check_out]
    if previous and previous.get("check_in") and previous.get("check_out"):
        window += [previous["check_in"], previous["check_out"]]
    turnovers_sync(
        prop=prop, now=now, around=(min(window), max(window)), changed=booking.pk, timing=timing
    )
    arrivals_reconcile(prop=prop, now=now, timing=timing)


def property_messages_refresh(*, prop: Property, now: datetime | None = None) -> None:
    """Bring one property's jobs, codes and messages up to date (idempotent): used after
    settings change, e.g. when a default cleaner is set for existing bookings."""
    now = now or timezone.now()
    with transaction.atomic():
        prop = lock_one(Property.objects.select_related("business"), pk=prop.pk)
        timing = timing_for(prop)
        for booking in Booking.objects.filter(
            property=prop,
            kind=Booking.Kind.STAY,
            status=Booking.Status.CONFIRMED,
            stay__endswith__gte=prop.local_today(),
        ):
            booking.property = prop
            booking_messages_changed(booking=booking, now=now, timing=timing)
        turnovers_sync(prop=prop, now=now, timing=timing)
        arrivals_reconcile(prop=prop, now=now, timing=timing)
        outbox_kick()
