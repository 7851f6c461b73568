"""Inbound partner events as the contract defines them: the JSON body is parsed and
every field validated here, before anything is written; InvalidPayload names every
field that is wrong."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_date, parse_datetime

from bookings.services import MAX_SPAN_DAYS
from integrations.errors import InvalidPayload
from integrations.models import PartnerMessage

MAX_BODY_BYTES = 256 * 1024
RESERVATION_TYPES = ("reservation.created", "reservation.modified", "reservation.cancelled")
EVENT_TYPES = (*RESERVATION_TYPES, "message.created")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Booking.guests is a small integer; no holiday rental sleeps more.
MAX_GUESTS = 999


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
        elif (check_out - check_in).days > MAX_SPAN_DAYS:
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
