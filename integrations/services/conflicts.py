"""Booking conflicts: a partner stay (webhook or iCal feed) that collides with a stay
already on the calendar is recorded for the owner, never dropped; the owner keeps the
existing stay, takes the partner's, or settles it by hand."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from bookings import signals as booking_signals
from bookings.errors import InvalidTransition
from bookings.models import Booking
from bookings.payments.services.refunds import booking_cancel_and_refund
from bookings.selectors import overlapping_stay
from bookings.services.blocks import block_create, block_remove
from bookings.services.stays import booking_change_dates, booking_create
from integrations.errors import ConflictClosed
from integrations.models import (
    PLATFORM_SOURCE,
    BookingConflict,
    Channel,
    IcalEvent,
    PartnerReservation,
    json_safe,
)
from properties.models import Property


def conflict_record(
    *,
    business_id: int,
    property: Property,
    check_in: date,
    check_out: date,
    external_id: str,
    partner_data: dict[str, Any],
    channel: Channel | None = None,
    feed: Any = None,
    partner_booking: Booking | None = None,
) -> BookingConflict:
    """Record a partner stay that collides with the calendar; the owner is told on commit."""
    existing = overlapping_stay(
        property=property,
        start=check_in,
        end=check_out,
        exclude_id=partner_booking.pk if partner_booking else None,
    )
    conflict = BookingConflict.objects.create(
        business_id=business_id,
        property=property,
        channel=channel,
        feed=feed,
        external_id=external_id,
        check_in=check_in,
        check_out=check_out,
        partner_data=json_safe(partner_data),
        existing_booking=existing,
        partner_booking=partner_booking,
    )
    source = channel.get_platform_display() if channel else f"iCal ({feed})" if feed else "partner"
    summary = (
        f"{source} stay {external_id} at {property.name} from {check_in} to {check_out} "
        f"overlaps {existing.reference if existing else 'another stay'}."
    )
    transaction.on_commit(
        lambda: booking_signals.conflict_recorded.send(
            sender=BookingConflict,
            business_id=business_id,
            conflict_id=conflict.public_id,
            summary=summary,
        ),
        robust=True,
    )
    return conflict


def conflicts_close(*, channel: Channel, external_id: str, resolution: str, now: datetime) -> None:
    """Close the open conflicts of one partner reservation (a later revision applied,
    or the partner cancelled it)."""
    BookingConflict.objects.filter(
        channel=channel, external_id=external_id, status=BookingConflict.Status.OPEN
    ).update(status=BookingConflict.Status.RESOLVED, resolution=resolution[:200], resolved_at=now)


def conflict_resolve(
    *, conflict: BookingConflict, action: str, now: datetime | None = None
) -> BookingConflict:
    """The owner's decision on an open conflict.

    - "keep_existing": the stay already on the calendar stays; the owner declines the
      partner's stay on the partner's side.
    - "take_partner": the partner's stay takes its dates. The existing stay (or block)
      is cancelled if it still overlaps them; if the owner has already moved it to other
      dates (bookings admin or API), it is left where it is, so "move one" is: move the
      existing stay, then take the partner's.
    - "done": the owner settled it outside Holidesk (e.g. the partner moved their stay).
    """
    now = now or timezone.now()
    with transaction.atomic():
        current = BookingConflict.objects.select_for_update().get(pk=conflict.pk)
        if current.status != BookingConflict.Status.OPEN:
            raise ConflictClosed(f"Conflict {current.public_id} is already resolved.")
        if action == "keep_existing":
            resolution = "Kept the existing stay; the partner's stay is declined."
        elif action == "take_partner":
            resolution = _take_partner(current, now)
        elif action == "done":
            resolution = "Resolved by the owner."
        else:
            raise InvalidTransition(f"Unknown resolution {action!r}.")
        current.status = BookingConflict.Status.RESOLVED
        current.resolution = resolution[:200]
        current.resolved_at = now
        current.save(update_fields=["status", "resolution", "resolved_at"])
    return current


def _take_partner(conflict: BookingConflict, now: datetime) -> str:
    existing = conflict.existing_booking
    still_in_the_way = (
        existing is not None
        and existing.is_active
        and existing.check_in < conflict.check_out
        and conflict.check_in < existing.check_out
    )
    if existing is not None and still_in_the_way:
        if existing.is_block:
            block_remove(block=existing, now=now)
        else:
            # The owner chose the partner's stay: the direct guest gets everything
            # they paid back, through the gateway, like any owner cancellation.
            booking_cancel_and_refund(
                booking=existing, by_owner=True, reason="Calendar conflict resolved", now=now
            )
    data = conflict.partner_data
    if conflict.feed_id is not None:
        event = IcalEvent.objects.filter(feed_id=conflict.feed_id, uid=conflict.external_id).first()
        block = block_create(
            property=conflict.property,
            start=conflict.check_in,
            end=conflict.check_out,
            kind=Booking.Kind.PARTNER_BLOCK,
            source=Booking.Source.ICAL,
            note=str(data.get("note", ""))[:2000],
            now=now,
        )
        if event is not None:
            event.booking = block
            event.save(update_fields=["booking", "updated_at"])
        return f"{_existing_outcome(existing, still_in_the_way)}; partner stay {block.reference}."
    partner = conflict.partner_booking
    if partner is not None and partner.status == Booking.Status.CONFIRMED:
        partner, _ = booking_change_dates(
            booking=partner,
            check_in=conflict.check_in,
            check_out=conflict.check_out,
            enforce_rules=False,
            now=now,
        )
    else:
        channel = conflict.channel
        total = data.get("total")
        partner = booking_create(
            property=conflict.property,
            check_in=conflict.check_in,
            check_out=conflict.check_out,
            guests=int(data.get("guests") or 1),
            source=PLATFORM_SOURCE[channel.platform] if channel else Booking.Source.API,
            guest_name=str(data.get("guest_name") or ""),
            guest_email=str(data.get("guest_email") or ""),
            guest_phone=str(data.get("guest_phone") or ""),
            total=Decimal(total) if total not in (None, "None") else None,
            currency=data.get("currency") or None,
            note=f"Reservation {conflict.external_id}",
            now=now,
        )
    if conflict.channel_id is not None:
        PartnerReservation.objects.filter(
            channel_id=conflict.channel_id, reservation_id=conflict.external_id
        ).update(booking=partner)
    return f"{_existing_outcome(existing, still_in_the_way)}; partner stay {partner.reference}."


def _existing_outcome(existing: Booking | None, cancelled: bool) -> str:
    if existing is None:
        return "No existing stay"
    return f"{'Cancelled' if cancelled else 'Kept (moved)'} {existing.reference}"
