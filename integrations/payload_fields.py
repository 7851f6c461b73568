"""Strict DRF fields for partner payloads (integrations.services.events).

DRF's own fields are lenient where the partner contract is strict: CharField trims and
turns numbers into strings, IntegerField takes "4" and 4.0, DateField takes
"2031-12-2", DateTimeField makes a naive time local. Each kind of value the contract
names has its field here, answering the contract's one message whatever is wrong
(missing, null or malformed).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.dateparse import parse_date
from rest_framework import ISO_8601, serializers
from rest_framework.fields import empty

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
# Guest details end up in email headers, where a line break would start a new header.
# In a name, line breaks and tabs become a space; any other control character (C0,
# DEL, C1) or line separator is refused.
_NAME_BREAKS = re.compile(r"[\t\n\r\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def same_message(message: str, *codes: str) -> dict[str, Any]:
    """DRF error messages: `message` for a value that is missing, null or malformed,
    and for `codes`."""
    return dict.fromkeys(("required", "null", "invalid", *codes), message)


class Text(serializers.CharField):
    """A non-empty JSON string, kept exactly as sent."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        required = "This field is required (a non-empty string)."
        super().__init__(
            max_length=max_length,
            trim_whitespace=False,
            error_messages={
                **same_message(required, "blank"),
                "max_length": "At most {max_length} characters.",
            },
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not data.strip():
            self.fail("invalid")
        return data


class OptionalText(serializers.CharField):
    """A JSON string, or absent, or null (both read as "")."""

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        message = f"A string of at most {max_length} characters."
        super().__init__(
            max_length=max_length,
            required=False,
            default="",
            allow_blank=True,
            trim_whitespace=False,
            error_messages=same_message(message, "max_length"),
            **kwargs,
        )

    def run_validation(self, data: Any = empty) -> Any:
        return super().run_validation("" if data is None else data)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return data


def _no_control_characters(value: str) -> None:
    if _CONTROL.search(value):
        raise serializers.ValidationError("Control characters (such as line breaks) are refused.")


class PersonName(OptionalText):
    """A name on one line: line breaks and tabs become a space, other control
    characters are refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(_no_control_characters)

    def to_internal_value(self, data: Any) -> str:
        return _NAME_BREAKS.sub(" ", super().to_internal_value(data))


class ContactDetail(OptionalText):
    """An email address (`email=True`) or a phone number: no control character at all."""

    def __init__(self, *, email: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(_no_control_characters)
        self.email = email

    def run_validators(self, value: Any) -> None:
        super().run_validators(value)
        # Judged as an address only once its length and characters are right: one
        # message at a time.
        if self.email:
            try:
                validate_email(value)
            except DjangoValidationError as exc:
                raise serializers.ValidationError("Not a valid email address.") from exc


class WholeNumber(serializers.IntegerField):
    """A JSON integer (not "4", not 4.0, not true)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            error_messages={
                **same_message("A whole number is required."),
                "min_value": "Must be at least {min_value}.",
                "max_value": "Must be at most {max_value}.",
            },
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class Day(serializers.Field):
    """A day written exactly YYYY-MM-DD, from `earliest` to `latest`."""

    default_error_messages = same_message("A valid date (YYYY-MM-DD) is required.")

    def __init__(self, *, earliest: date, latest: date, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.earliest, self.latest = earliest, latest

    def to_internal_value(self, data: Any) -> date:
        if not isinstance(data, str) or not _DATE.fullmatch(data):
            self.fail("invalid")
        try:
            day = parse_date(data)
        except ValueError:  # 2031-02-30
            self.fail("invalid")
        if day is None:
            self.fail("invalid")
        if not self.earliest <= day <= self.latest:
            raise serializers.ValidationError(
                f"A date from {self.earliest} to {self.latest} is required."
            )
        return day


class Moment(serializers.DateTimeField):
    """An ISO 8601 date-time with its UTC offset, returned in UTC; one that UTC cannot
    hold (0001-01-01T00:00+01:00) is refused."""

    default_error_messages = {
        **same_message("A valid ISO 8601 date-time with a time zone is required.", "date"),
        "overflow": "A date-time between the years 1 and 9999 in UTC is required.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(input_formats=[ISO_8601], default_timezone=UTC, **kwargs)

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("invalid")
        return super().enforce_timezone(value)


class Amount(serializers.Field):
    """A non-negative decimal (JSON string or number), rounded to cents, that fits
    numeric(12, 2)."""

    default_error_messages = same_message("A non-negative decimal amount is required.")
    LIMIT = Decimal("1e10")

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            amount = Decimal(str(data))
        except (InvalidOperation, ValueError):
            self.fail("invalid")
        if not amount.is_finite() or amount < 0 or amount >= self.LIMIT:
            self.fail("invalid")
        amount = amount.quantize(Decimal("0.01"))
        if amount >= self.LIMIT:  # 9999999999.995 rounds up past numeric(12, 2)
            self.fail("invalid")
        return amount


class Currency(serializers.Field):
    """A three-letter ISO 4217 code, upper case."""

    default_error_messages = same_message("A three-letter ISO 4217 code is required.")

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not _CURRENCY.fullmatch(data):
            self.fail("invalid")
        return data
