"""Inbound partner events, handled in one transaction (docs/partner-sync.md):

1. everything that can make it a 4xx is checked first (channel, size, media type,
   signature, payload, listing), so a refused event writes nothing;
2. the event id is inserted under its UNIQUE (channel, event id) constraint (ON
   CONFLICT DO NOTHING): a concurrent duplicate waits for the first transaction, then
   inserts nothing and is answered "duplicate" (never a second booking);
3. the reservation's state row is locked, so events of one reservation apply one at a
   time, in revision order (an older or equal revision is "stale"; a cancellation
   before the creation leaves a tombstone);
4. the change goes through bookings.services, so messages and pushes follow, and an
   overlap becomes a BookingConflict for the owner, announced on commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from bookings.errors import BookingError, StayUnavailable
from bookings.models import Booking
from bookings.services.cancellation import booking_cancel_without_refund
from bookings.services.stays import (
    booking_change_dates,
    booking_create,
    booking_guest_update,
    booking_price_record,
)
from integrations import signatures
from integrations.errors import (
    InvalidPayload,
    InvalidSignature,
    UnknownChannel,
    UnknownListing,
    UnsupportedMediaType,
)
from integrations.models import (
    PLATFORM_SOURCE,
    Channel,
    InboundEvent,
    ListingLink,
    PartnerReservation,
)
from integrations.services.channels import channel_inbound_secrets
from integrations.services.conflicts import conflict_record, conflicts_close
from integrations.services.events import RESERVATION_TYPES, ParsedEvent, parse_event
from integrations.services.partner_messages import (
    partner_message_receive,
    partner_reservation_messages_link,
)
from properties.db import insert_unless_exists


@dataclass(frozen=True)
class InboundResult:
    status: str  # processed | duplicate | stale | conflict
    booking: str | None = None
    conflict: str | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.status == "processed":
            return {"status": "processed", "booking": self.booking}
        if self.status == "conflict":
            return {"status": "conflict", "conflict": self.conflict}
        return {"status": self.status}


def channel_for_events(channel_id: str) -> Channel:
    channel = (
        Channel.objects.filter(public_id=channel_id, active=True).select_related("business").first()
    )
    if channel is None:
        raise UnknownChannel("No such channel.")
    return channel


def inbound_event_receive(
    *,
    channel: Channel,
    body: bytes,
    content_type: str,
    signature: str | None,
    now: datetime | None = None,
) -> InboundResult:
    """Verify, validate and apply one partner event to `channel` (from
    channel_for_events); the body is already size-checked."""
    now = now or timezone.now()
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise UnsupportedMediaType("Send the event as Content-Type: application/json.")
    try:
        signatures.verify(
            signature, body, channel_inbound_secrets(channel, now=now), now=now.timestamp()
        )
    except signatures.SignatureError as exc:
        raise InvalidSignature(str(exc)) from exc
    event = parse_event(body)
    link: ListingLink | None = None
    if event.type in RESERVATION_TYPES:
        link = (
            ListingLink.objects.filter(channel=channel, listing_id=event.data["listing_id"])
            .select_related("property__business")
            .first()
        )
        if link is None or link.property.business_id != channel.business_id:
            raise UnknownListing(
                f"listing_id {event.data['listing_id']!r} is not mapped to a property.",
                fields={"data.listing_id": ["unknown listing"]},
            )
    result = _apply(channel, event, link, now)
    _touch_channel(channel, now)
    return result


def _apply(
    channel: Channel, event: ParsedEvent, link: ListingLink | None, now: datetime
) -> InboundResult:
    with transaction.atomic():
        record = InboundEvent(
            business_id=channel.business_id,
            channel=channel,
            event_id=event.id,
            type=event.type,
            occurred_at=event.occurred_at,
            payload=event.raw,
        )
        if not insert_unless_exists(record):
            return InboundResult("duplicate")
        try:
            if event.type == "message.created":
                result = _apply_message(channel, event)
            else:
                assert link is not None
                result = _apply_reservation(channel, link, event, now)
        except BookingError as exc:
            # A rule the booking engine enforces (e.g. impossible dates): a 400, and the
            # whole transaction, event record included, rolls back.
            raise InvalidPayload(exc.message, fields=exc.fields or {"data": [exc.message]}) from exc
        record.outcome = result.status
        record.booking_reference = result.booking or ""
        record.conflict_id = result.conflict or ""
        record.save(update_fields=["outcome", "booking_reference", "conflict_id"])
    return result


def _touch_channel(channel: Channel, now: datetime) -> None:
    # At most once a minute per channel: a busy channel must not queue on its own row.
    if channel.last_inbound_at is None or channel.last_inbound_at < now - timedelta(minutes=1):
        Channel.objects.filter(pk=channel.pk).update(last_inbound_at=now)


def _reservation_state(channel: Channel, reservation_id: str) -> PartnerReservation:
    """The reservation's state row, created if missing, locked for this transaction
    (a row this transaction inserted is its own until it commits: nothing to re-read)."""
    fresh = PartnerReservation(
        business_id=channel.business_id,
        channel=channel,
        reservation_id=reservation_id,
        last_revision=-1,
    )
    if insert_unless_exists(fresh):
        return fresh
    return (
        PartnerReservation.objects.select_for_update(of=("self",))
        .select_related("booking")
        .get(channel=channel, reservation_id=reservation_id)
    )


def _apply_reservation(
    channel: Channel, link: ListingLink, event: ParsedEvent, now: datetime
) -> InboundResult:
    data = event.data
    state = _reservation_state(channel, data["reservation_id"])
    if data["revision"] <= state.last_revision:
        return InboundResult("stale")
    state.last_revision = data["revision"]
    state.listing = link
    booking = state.booking
    active = booking is not None and booking.status == Booking.Status.CONFIRMED
    if event.type == "reservation.cancelled":
        state.cancelled = True
        if booking is not None and active:
            booking, _ = booking_cancel_without_refund(
                booking=booking,
                reason=f"Cancelled on {channel.get_platform_display()}",
                now=now,
            )
        conflicts_close(
            channel=channel,
            external_id=data["reservation_id"],
            resolution="Cancelled by the partner.",
            now=now,
        )
        state.save()
        return InboundResult("processed", booking=booking.reference if booking else None)

    state.cancelled = False
    prop = link.property
    if booking is not None and active and booking.property_id != prop.pk:
        # The partner moved the reservation to another of our listings.
        booking_cancel_without_refund(
            booking=booking, reason="Moved to another listing by the partner", now=now
        )
        booking, active = None, False
    try:
        if booking is not None and active:
            booking = _partner_booking_update(booking, data, now)
        else:
            booking = booking_create(
                property=prop,
                check_in=data["check_in"],
                check_out=data["check_out"],
                guests=data["guests"],
                source=PLATFORM_SOURCE[channel.platform],
                guest_name=data["guest_name"],
                guest_email=data["guest_email"],
                guest_phone=data["guest_phone"],
                total=data["total"],
                currency=data["currency"],
                note=f"{channel.get_platform_display()} reservation {data['reservation_id']}",
                now=now,
            )
    except StayUnavailable:
        conflict = conflict_record(
            business_id=channel.business_id,
            property=prop,
            check_in=data["check_in"],
            check_out=data["check_out"],
            external_id=data["reservation_id"],
            partner_data={"revision": data["revision"], **data},
            channel=channel,
            partner_booking=booking if active else None,
        )
        state.booking = booking if active else None
        state.save()
        return InboundResult("conflict", conflict=conflict.public_id)
    conflicts_close(
        channel=channel,
        external_id=data["reservation_id"],
        resolution=f"Revision {data['revision']} applied.",
        now=now,
    )
    state.booking = booking
    state.save()
    partner_reservation_messages_link(
        channel=channel, reservation_id=data["reservation_id"], booking=booking
    )
    return InboundResult("processed", booking=booking.reference)


def _partner_booking_update(booking: Booking, data: dict[str, Any], now: datetime) -> Booking:
    if (booking.check_in, booking.check_out) != (data["check_in"], data["check_out"]):
        booking, _ = booking_change_dates(
            booking=booking,
            check_in=data["check_in"],
            check_out=data["check_out"],
            enforce_rules=False,
            now=now,
        )
    return booking_partner_details_write(
        booking=booking,
        guests=data["guests"],
        guest_name=data["guest_name"],
        guest_email=data["guest_email"],
        guest_phone=data["guest_phone"],
        total=data["total"],
        currency=data["currency"],
        now=now,
    )


def booking_partner_details_write(
    *,
    booking: Booking,
    guests: int,
    guest_name: str,
    guest_email: str,
    guest_phone: str,
    total: Decimal | None,
    currency: str | None,
    now: datetime,
) -> Booking:
    """The partner's guest details and price onto its booking, through the engine's
    services (the same rules as every other door); an empty detail (or no total) keeps
    what is stored. The calendar is not touched here (dates went through
    booking_change_dates)."""
    booking = booking_guest_update(
        booking=booking,
        name=guest_name or booking.guest_name,
        email=guest_email or booking.guest_email,
        phone=guest_phone or booking.guest_phone,
        guests=guests,
    )
    if total is not None:
        booking = booking_price_record(
            booking=booking, total=total, currency=currency or booking.currency
        )
    return booking


def _apply_message(channel: Channel, event: ParsedEvent) -> InboundResult:
    data = event.data
    state = PartnerReservation.objects.filter(
        channel=channel, reservation_id=data["reservation_id"]
    ).first()
    booking = state.booking if state else None
    partner_message_receive(channel=channel, data=data, booking=booking)
    return InboundResult("processed", booking=booking.reference if booking else None)
