"""Inbound partner events as the contract defines them: the JSON body is parsed and
every field validated here, before anything is written.

The body is read by our own JSON parser (the signature covers the exact bytes, and
NaN, Infinity, NUL and lone surrogates must be refused everywhere in the document,
not only in the fields we read). The envelope and each event type's `data` are DRF
serializers; their errors are answered as InvalidPayload with dotted field names
("data.guest.email"), every wrong field named at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.settings import api_settings

from bookings.rules import MAX_STAY_NIGHTS
from integrations.errors import InvalidPayload
from integrations.models import PartnerMessage
from integrations.payload_fields import (
    Amount,
    ContactDetail,
    Currency,
    Day,
    Moment,
    PersonName,
    Text,
    WholeNumber,
    same_message,
)

MAX_BODY_BYTES = 256 * 1024
RESERVATION_TYPES = ("reservation.created", "reservation.modified", "reservation.cancelled")
EVENT_TYPES = (*RESERVATION_TYPES, "message.created")
# Booking.guests is a small integer; no holiday rental sleeps more.
MAX_GUESTS = 999
# PartnerReservation.last_revision is a bigint.
MAX_REVISION = 2**62
# The engine derives dates around a stay (a reminder before the arrival, a thank-you
# after the departure, the turnover); none reaches further than the longest span it
# accepts, so a stay keeps that much room from the ends of the calendar (years 1 and
# 9999) and nothing derived from it falls off.
EARLIEST_DAY = date.min + timedelta(days=MAX_STAY_NIGHTS)
LATEST_DAY = date.max - timedelta(days=MAX_STAY_NIGHTS)

# What PostgreSQL text and jsonb cannot store: NUL, and a UTF-16 surrogate that JSON's
# \uXXXX escapes can produce alone (a proper pair decodes to one character).
_NUL = "\x00"
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class ParsedEvent:
    id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]
    raw: dict[str, Any]


def parse_event(body: bytes) -> ParsedEvent:
    """Validate the envelope and its `data` per the contract; InvalidPayload names
    every field that is wrong."""
    raw = _parse_json(body)
    envelope = EventIn(data=raw)
    errors = {} if envelope.is_valid() else _dotted(envelope.errors)
    event_type = raw.get("type")
    data_in = DATA_IN.get(event_type) if isinstance(event_type, str) else None
    clean: dict[str, Any] = {}
    if data_in is not None:
        data = raw.get("data")
        payload = data_in(data=data if isinstance(data, dict) else {})
        if payload.is_valid():
            clean = dict(payload.validated_data)
        else:
            errors.update(_dotted(payload.errors, "data."))
    if errors:
        raise InvalidPayload(_first(errors), fields=errors)
    return ParsedEvent(
        id=envelope.validated_data["id"],
        type=envelope.validated_data["type"],
        occurred_at=envelope.validated_data["occurred_at"],
        data=clean,
        raw=raw,
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidPayload(
            "The body is not valid JSON.", fields={"body": ["malformed JSON"]}
        ) from exc
    unstorable = _unstorable(parsed)
    if unstorable == _NUL:
        raise InvalidPayload(
            "The body contains a NUL character (\\u0000).", fields={"body": ["NUL character"]}
        )
    if unstorable:
        raise InvalidPayload(
            "The body contains a lone UTF-16 surrogate (\\ud800-\\udfff).",
            fields={"body": ["lone surrogate"]},
        )
    if not isinstance(parsed, dict):
        raise InvalidPayload("The body must be a JSON object.", fields={"body": ["not an object"]})
    return parsed


def _unstorable(document: Any) -> str:
    """The first character anywhere in the document (keys included) that PostgreSQL
    cannot store, or ""."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _NUL in item:
                return _NUL
            found = _SURROGATE.search(item)
            if found:
                return found.group()
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return ""


def _dotted(errors: Mapping[str, Any], prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors under the contract's dotted names ("data.guest.email"); an
    object's own error (DRF's non_field_errors) is named after the object."""
    flat: dict[str, list[str]] = {}
    for name, detail in errors.items():
        key = prefix.rstrip(".") if name == api_settings.NON_FIELD_ERRORS_KEY else prefix + name
        if isinstance(detail, Mapping):
            flat.update(_dotted(detail, key + "."))
        else:
            flat.setdefault(key, []).extend(str(message) for message in detail)
    return flat


def _first(errors: dict[str, list[str]]) -> str:
    for key, messages in errors.items():
        return f"Invalid input: {key}: {messages[0]}"
    return "Invalid input."


class EventIn(serializers.Serializer[Any]):
    id = Text(max_length=100)
    type = serializers.ChoiceField(
        choices=EVENT_TYPES,
        error_messages=same_message(
            f"Unknown type; one of: {', '.join(EVENT_TYPES)}.", "invalid_choice"
        ),
    )
    occurred_at = Moment()
    # DRF's metaclass takes declared fields off the class, so this does not hide
    # Serializer.data.
    data = serializers.DictField(  # type: ignore[assignment]
        error_messages=same_message("An object is required.", "not_a_dict")
    )


class GuestIn(serializers.Serializer[Any]):
    name = PersonName(max_length=150)
    email = ContactDetail(max_length=254, email=True)
    phone = ContactDetail(max_length=40)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # Absent, null, {} or "": the partner shares no guest details.
        if data is empty or not data:
            return (True, {})
        return super().validate_empty_values(data)


class TotalIn(serializers.Serializer[Any]):
    amount = Amount()
    currency = Currency()


class ReservationIn(serializers.Serializer[Any]):
    """`data` of reservation.cancelled."""

    reservation_id = Text(max_length=100)
    revision = WholeNumber(min_value=0, max_value=MAX_REVISION)
    listing_id = Text(max_length=100)


class StayIn(ReservationIn):
    """`data` of reservation.created and reservation.modified; validated_data is flat:
    guest_name, guest_email, guest_phone, total (None if not sent) and currency."""

    check_in = Day(earliest=EARLIEST_DAY, latest=LATEST_DAY)
    check_out = Day(earliest=EARLIEST_DAY, latest=LATEST_DAY)
    guests = WholeNumber(min_value=1, max_value=MAX_GUESTS, required=False, default=1)
    guest = GuestIn(required=False, error_messages={"invalid": "An object is required."})
    total = TotalIn(
        required=False,
        allow_null=True,
        default=None,
        error_messages={"invalid": "An object {{amount, currency}} is required."},
    )

    def validate_check_out(self, check_out: date) -> date:
        # Checked with the field rather than in validate(), so that a wrong range is
        # named together with every other wrong field.
        try:
            check_in = self.fields["check_in"].run_validation(self.initial_data.get("check_in"))
        except serializers.ValidationError:
            return check_out  # check_in's own error is reported
        if check_out <= check_in:
            raise serializers.ValidationError("Must be after check_in.")
        if (check_out - check_in).days > MAX_STAY_NIGHTS:
            raise serializers.ValidationError("A stay can span at most 3 years.")
        return check_out

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        guest, total = attrs.pop("guest", {}), attrs.pop("total")
        return {
            **attrs,
            "guest_name": guest.get("name", ""),
            "guest_email": guest.get("email", ""),
            "guest_phone": guest.get("phone", ""),
            "total": total["amount"] if total else None,
            "currency": total["currency"] if total else None,
        }


class MessageIn(serializers.Serializer[Any]):
    """`data` of message.created."""

    reservation_id = Text(max_length=100)
    message_id = Text(max_length=100)
    sender = serializers.ChoiceField(
        choices=PartnerMessage.Sender.values,
        error_messages=same_message("One of: guest, host.", "invalid_choice"),
    )
    body = Text(max_length=10000)
    sent_at = Moment()


DATA_IN: dict[str, type[serializers.Serializer[Any]]] = {
    "reservation.created": StayIn,
    "reservation.modified": StayIn,
    "reservation.cancelled": ReservationIn,
    "message.created": MessageIn,
}
