"""Writes of the integrations app: channels and their secrets, inbound partner events,
conflicts. Pushes are in integrations.services.push, iCal in integrations.services.ical.

An inbound event is handled in one transaction (docs/partner-sync.md):

1. everything that can make it a 4xx is checked first (channel, size, media type,
   signature, payload, listing), so a refused event writes nothing;
2. the event id is inserted under its UNIQUE (channel, event id) constraint: a
   concurrent duplicate waits for the first transaction, then fails the insert and is
   answered "duplicate" (never a second booking);
3. the reservation's state row is locked, so events of one reservation apply one at a
   time, in revision order (an older or equal revision is "stale");
4. the change goes through bookings.services, so messages and pushes follow, and an
   overlap becomes a BookingConflict for the owner, announced on commit.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from bookings import signals as booking_signals
from bookings.errors import BookingError, InvalidTransition, StayUnavailable
from bookings.models import Booking
from bookings.payments.services import booking_cancel_and_refund
from bookings.rules import MAX_STAY_NIGHTS
from bookings.selectors import overlapping_stay
from bookings.services.blocks import block_create, block_remove
from bookings.services.cancellation import booking_cancel_without_refund
from bookings.services.stays import booking_change_dates, booking_create
from integrations import crypto, signatures
from integrations.errors import (
    ConflictClosed,
    InvalidChannelSetup,
    InvalidPayload,
    InvalidSignature,
    UnknownChannel,
    UnknownListing,
    UnsupportedMediaType,
)
from integrations.models import (
    PLATFORM_SOURCE,
    BookingConflict,
    Channel,
    IcalEvent,
    InboundEvent,
    ListingLink,
    PartnerMessage,
    PartnerReservation,
    json_safe,
)
from properties.models import Business, Property
from properties.urls_util import app_url

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
SECRET_OVERLAP = timedelta(hours=24)
RESERVATION_TYPES = ("reservation.created", "reservation.modified", "reservation.cancelled")
EVENT_TYPES = (*RESERVATION_TYPES, "message.created")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Booking.guests is a small integer; no holiday rental sleeps more.
MAX_GUESTS = 999


# --- Channels ---------------------------------------------------------------------------


def channel_create(
    *,
    business: Business,
    platform: str,
    name: str = "",
    endpoint_url: str = "",
    inbound_secret: str | None = None,
    outbound_secret: str | None = None,
    public_id: str | None = None,
) -> tuple[Channel, str, str]:
    """A new channel; returns it with its inbound and outbound secrets in plain text,
    which are shown once and stored only encrypted."""
    inbound = inbound_secret or crypto.new_secret()
    outbound = outbound_secret or crypto.new_secret()
    channel = Channel(
        business=business,
        platform=platform,
        name=name,
        endpoint_url=endpoint_url,
        inbound_secret_enc=crypto.encrypt(inbound),
        outbound_secret_enc=crypto.encrypt(outbound),
    )
    if public_id:
        channel.public_id = public_id
    try:
        channel.full_clean(exclude=["inbound_secret_enc", "outbound_secret_enc"])
    except ValidationError as exc:
        raise InvalidChannelSetup(
            "This channel cannot be created.", fields=exc.message_dict
        ) from exc
    with transaction.atomic():
        channel.save()
    return channel, inbound, outbound


def _rotate(channel: Channel, side: str, new_secret: str | None, now: datetime) -> str:
    """A new `side` ("inbound" or "outbound") secret; the previous one stays in use for
    SECRET_OVERLAP (accepted inbound, signed with outbound)."""
    raw = new_secret or crypto.new_secret()
    with transaction.atomic():
        current = Channel.objects.select_for_update().get(pk=channel.pk)
        setattr(current, f"previous_{side}_secret_enc", getattr(current, f"{side}_secret_enc"))
        setattr(current, f"previous_{side}_secret_expires_at", now + SECRET_OVERLAP)
        setattr(current, f"{side}_secret_enc", crypto.encrypt(raw))
        current.secrets_rotated_at = now
        current.save(
            update_fields=[
                f"previous_{side}_secret_enc",
                f"previous_{side}_secret_expires_at",
                f"{side}_secret_enc",
                "secrets_rotated_at",
            ]
        )
    channel.refresh_from_db()
    return raw


def _secrets(channel: Channel, side: str, now: datetime) -> list[str]:
    """The current `side` secret, then the previous one while its overlap lasts."""
    found = [crypto.decrypt(getattr(channel, f"{side}_secret_enc"))]
    previous = getattr(channel, f"previous_{side}_secret_enc")
    expires = getattr(channel, f"previous_{side}_secret_expires_at")
    if previous and expires is not None and expires > now:
        found.append(crypto.decrypt(previous))
    return found


def channel_rotate_inbound_secret(
    *, channel: Channel, new_secret: str | None = None, now: datetime | None = None
) -> str:
    """A new inbound secret; the previous one stays valid for 24 hours, so the partner
    can switch without dropping events."""
    return _rotate(channel, "inbound", new_secret, now or timezone.now())


def channel_rotate_outbound_secret(
    *, channel: Channel, new_secret: str | None = None, now: datetime | None = None
) -> str:
    """A new secret for what we sign. Partners accept several v1 entries, so pushes are
    signed with the new and the previous secret for 24 hours."""
    return _rotate(channel, "outbound", new_secret, now or timezone.now())


def channel_events_url(channel: Channel) -> str:
    """Where the partner sends this channel's events (on the app host)."""
    return app_url(
        reverse("api-channel-events", urlconf=settings.ROOT_URLCONF, args=[channel.public_id])
    )


def channel_inbound_secrets(channel: Channel, *, now: datetime | None = None) -> list[str]:
    """What an inbound signature may match."""
    return _secrets(channel, "inbound", now or timezone.now())


def channel_outbound_secrets(channel: Channel, *, now: datetime | None = None) -> list[str]:
    """What pushes are signed with."""
    return _secrets(channel, "outbound", now or timezone.now())


def channel_outbound_secret(channel: Channel) -> str:
    """The current outbound secret (shown to the owner, printed by seed_demo)."""
    return crypto.decrypt(channel.outbound_secret_enc)


def listing_link_create(*, channel: Channel, listing_id: str, property: Property) -> ListingLink:
    if property.business_id != channel.business_id:
        raise InvalidChannelSetup(
            "The property belongs to another business.", fields={"property": ["not yours"]}
        )
    link, _ = ListingLink.objects.get_or_create(
        channel=channel,
        listing_id=listing_id,
        defaults={"property": property, "business_id": channel.business_id},
    )
    return link


# --- Inbound events: parsing ------------------------------------------------------------


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


@dataclass(frozen=True)
class ParsedEvent:
    id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]
    raw: dict[str, Any]


class _Fields:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def text(self, src: dict[str, Any], name: str, *, max_length: int, key: str = "") -> str:
        value = src.get(name)
        label = key or name
        if not isinstance(value, str) or not value.strip():
            self.add(label, "This field is required (a non-empty string).")
            return ""
        if len(value) > max_length:
            self.add(label, f"At most {max_length} characters.")
            return ""
        return value

    def optional_text(self, src: dict[str, Any], name: str, *, max_length: int, key: str) -> str:
        value = src.get(name)
        if value is None:
            return ""
        if not isinstance(value, str) or len(value) > max_length:
            self.add(key, f"A string of at most {max_length} characters.")
            return ""
        return value

    def integer(
        self, src: dict[str, Any], name: str, *, minimum: int, maximum: int = 2**62, key: str = ""
    ) -> int:
        value = src.get(name)
        label = key or name
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(label, "A whole number is required.")
            return minimum
        if value < minimum:
            self.add(label, f"Must be at least {minimum}.")
        if value > maximum:
            self.add(label, f"Must be at most {maximum}.")
        return value

    def day(self, src: dict[str, Any], name: str, key: str = "") -> date | None:
        value = src.get(name)
        label = key or name
        parsed = None
        if isinstance(value, str) and _DATE.fullmatch(value):
            try:
                parsed = parse_date(value)
            except ValueError:
                parsed = None
        if parsed is None:
            self.add(label, "A valid date (YYYY-MM-DD) is required.")
        return parsed

    def moment(self, src: dict[str, Any], name: str, key: str = "") -> datetime | None:
        value = src.get(name)
        label = key or name
        parsed = None
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.add(label, "A valid ISO 8601 date-time with a time zone is required.")
            return None
        return parsed


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _has_nul(value: Any) -> bool:
    """Whether a NUL character hides anywhere in the document (PostgreSQL text and
    jsonb cannot store it)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidPayload(
            "The body is not valid JSON.", fields={"body": ["malformed JSON"]}
        ) from exc
    if _has_nul(parsed):
        raise InvalidPayload(
            "The body contains a NUL character (\\u0000).", fields={"body": ["NUL character"]}
        )
    if not isinstance(parsed, dict):
        raise InvalidPayload("The body must be a JSON object.", fields={"body": ["not an object"]})
    return parsed


def parse_event(body: bytes) -> ParsedEvent:
    """Validate the envelope and its `data` per the contract; InvalidPayload names
    every field that is wrong."""
    raw = _parse_json(body)
    f = _Fields()
    event_id = f.text(raw, "id", max_length=100)
    event_type = raw.get("type")
    if event_type not in EVENT_TYPES:
        f.add("type", f"Unknown type; one of: {', '.join(EVENT_TYPES)}.")
    occurred_at = f.moment(raw, "occurred_at")
    data = raw.get("data")
    if not isinstance(data, dict):
        f.add("data", "An object is required.")
        data = {}
    clean: dict[str, Any] = {}
    if event_type in RESERVATION_TYPES:
        clean["reservation_id"] = f.text(
            data, "reservation_id", max_length=100, key="data.reservation_id"
        )
        clean["revision"] = f.integer(data, "revision", minimum=0, key="data.revision")
        clean["listing_id"] = f.text(data, "listing_id", max_length=100, key="data.listing_id")
        if event_type != "reservation.cancelled":
            _parse_stay(f, data, clean)
    elif event_type == "message.created":
        clean["reservation_id"] = f.text(
            data, "reservation_id", max_length=100, key="data.reservation_id"
        )
        clean["message_id"] = f.text(data, "message_id", max_length=100, key="data.message_id")
        sender = data.get("sender")
        if sender not in PartnerMessage.Sender.values:
            f.add("data.sender", "One of: guest, host.")
        clean["sender"] = sender
        clean["body"] = f.text(data, "body", max_length=10000, key="data.body")
        clean["sent_at"] = f.moment(data, "sent_at", key="data.sent_at")
    if f.errors:
        raise InvalidPayload(_first(f.errors), fields=f.errors)
    assert occurred_at is not None
    return ParsedEvent(
        id=event_id, type=str(event_type), occurred_at=occurred_at, data=clean, raw=raw
    )


def _parse_stay(f: _Fields, data: dict[str, Any], clean: dict[str, Any]) -> None:
    check_in = f.day(data, "check_in", key="data.check_in")
    check_out = f.day(data, "check_out", key="data.check_out")
    if check_in and check_out:
        if check_out <= check_in:
            f.add("data.check_out", "Must be after check_in.")
        elif (check_out - check_in).days > MAX_STAY_NIGHTS:
            f.add("data.check_out", "A stay can span at most 3 years.")
    clean["check_in"], clean["check_out"] = check_in, check_out
    clean["guests"] = (
        f.integer(data, "guests", minimum=1, maximum=MAX_GUESTS, key="data.guests")
        if ("guests" in data)
        else 1
    )
    guest = data.get("guest", {}) or {}
    if not isinstance(guest, dict):
        f.add("data.guest", "An object is required.")
        guest = {}
    clean["guest_name"] = f.optional_text(guest, "name", max_length=150, key="data.guest.name")
    email = f.optional_text(guest, "email", max_length=254, key="data.guest.email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            f.add("data.guest.email", "Not a valid email address.")
    clean["guest_email"] = email
    clean["guest_phone"] = f.optional_text(guest, "phone", max_length=40, key="data.guest.phone")
    clean["total"], clean["currency"] = None, None
    total = data.get("total")
    if total is not None:
        if not isinstance(total, dict):
            f.add("data.total", "An object {amount, currency} is required.")
            return
        try:
            amount = Decimal(str(total.get("amount")))
            if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
                raise InvalidOperation
            amount = amount.quantize(Decimal("0.01"))
            if amount >= Decimal("1e10"):  # 9999999999.995 rounds up past numeric(12, 2)
                raise InvalidOperation
            clean["total"] = amount
        except (InvalidOperation, ValueError):
            f.add("data.total.amount", "A non-negative decimal amount is required.")
        currency = total.get("currency")
        if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
            f.add("data.total.currency", "A three-letter ISO 4217 code is required.")
        clean["currency"] = currency


def _first(errors: dict[str, list[str]]) -> str:
    for key, messages in errors.items():
        return f"Invalid input: {key}: {messages[0]}"
    return "Invalid input."


# --- Inbound events: handling -----------------------------------------------------------


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
        try:
            with transaction.atomic():
                record = InboundEvent.objects.create(
                    business_id=channel.business_id,
                    channel=channel,
                    event_id=event.id,
                    type=event.type,
                    occurred_at=event.occurred_at,
                    payload=event.raw,
                )
        except IntegrityError:
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
    """The reservation's state row, created if missing, locked for this transaction."""
    PartnerReservation.objects.bulk_create(
        [
            PartnerReservation(
                business_id=channel.business_id,
                channel=channel,
                reservation_id=reservation_id,
                last_revision=-1,
            )
        ],
        ignore_conflicts=True,
    )
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
        _close_conflicts(channel, data["reservation_id"], "Cancelled by the partner.", now)
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
    _close_conflicts(channel, data["reservation_id"], f"Revision {data['revision']} applied.", now)
    state.booking = booking
    state.save()
    PartnerMessage.objects.filter(
        channel=channel, reservation_id=data["reservation_id"], booking__isnull=True
    ).update(booking=booking)
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
    details: dict[str, Any] = {"guests": data["guests"]}
    for name in ("guest_name", "guest_email", "guest_phone"):
        if data[name]:
            details[name] = data[name]
    if data["total"] is not None:
        details["total"] = data["total"]
        details["currency"] = data["currency"]
    # Guest details and the partner's price only: the calendar went through the service.
    Booking.objects.filter(pk=booking.pk).update(**details, updated_at=now)
    booking.refresh_from_db()
    return booking


def _apply_message(channel: Channel, event: ParsedEvent) -> InboundResult:
    data = event.data
    state = PartnerReservation.objects.filter(
        channel=channel, reservation_id=data["reservation_id"]
    ).first()
    booking = state.booking if state else None
    PartnerMessage.objects.get_or_create(
        channel=channel,
        message_id=data["message_id"],
        defaults={
            "business_id": channel.business_id,
            "reservation_id": data["reservation_id"],
            "booking": booking,
            "sender": data["sender"],
            "body": data["body"],
            "sent_at": data["sent_at"],
        },
    )
    return InboundResult("processed", booking=booking.reference if booking else None)


# --- Conflicts --------------------------------------------------------------------------


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


def _close_conflicts(channel: Channel, external_id: str, resolution: str, now: datetime) -> None:
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
