"""The rules every stay and block meets, whatever door it comes through: its dates, and
the guest details written on it.

Services call these before they write; pricing calls `stay_dates_check` for every
quote. Views, the API, the admin and partner parsers only shape input and present the
error, so a limit is changed here once and holds everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext

from bookings.errors import (
    BeyondHorizon,
    InvalidAmount,
    InvalidDates,
    InvalidGuestDetails,
    InvalidTransition,
)
from bookings.models import Booking
from properties.dates import format_day
from properties.models import Property
from properties.money import round_money

# The longest stay or block the engine accepts, in nights, from every source (partners
# and feeds included): three years of nights, leap years counted.
MAX_STAY_NIGHTS = 3 * 366

# No date further than this from today, either way. Later planning (messages at
# offsets before check-in, turnovers, the month grids, exports) adds and subtracts days
# from stay dates; within this reach none of it can leave the calendar's range of years.
REACH_DAYS = 10 * 366


@dataclass(frozen=True)
class DateNames:
    """How a door names the two dates, for the fields of the error."""

    start: str
    end: str
    start_label: str
    end_label: str
    what: str


STAY_DATES = DateNames("check_in", "check_out", "check-in", "check-out", "A stay")
BLOCK_DATES = DateNames("start", "end", "start", "end", "A block")
RANGE_DATES = DateNames("start", "end", "start", "end", "A date range")


def horizon_end(*, property: Property, today: date) -> date:
    """The last check-out the property's booking horizon allows."""
    return today + timedelta(days=min(property.booking_horizon_days, REACH_DAYS))


def stay_span_check(
    *, check_in: date, check_out: date, today: date, names: DateNames = STAY_DATES
) -> None:
    """The part of `stay_dates_check` that needs no property: check-in before
    check-out, both within REACH_DAYS of `today`, at most MAX_STAY_NIGHTS nights. Reads
    of a date range (a calendar, availability) are held to it too."""
    start_label, end_label = names.start_label, names.end_label
    if check_out <= check_in:
        raise InvalidDates(
            gettext("Check-out must be after check-in.")
            if names is STAY_DATES
            else f"{end_label.capitalize()} must be after {start_label}.",
            fields={names.end: [f"after {start_label}"]},
        )
    earliest = today - timedelta(days=REACH_DAYS)
    latest = today + timedelta(days=REACH_DAYS)
    if check_in < earliest or check_out > latest:
        field = names.start if check_in < earliest else names.end
        raise InvalidDates(
            gettext("Dates must fall between %(earliest)s and %(latest)s.")
            % {"earliest": earliest.isoformat(), "latest": latest.isoformat()},
            fields={field: [f"between {earliest.isoformat()} and {latest.isoformat()}"]},
        )
    if (check_out - check_in).days > MAX_STAY_NIGHTS:
        raise InvalidDates(
            f"{names.what} can span at most {MAX_STAY_NIGHTS} nights (3 years).",
            fields={names.end: [f"at most {MAX_STAY_NIGHTS} nights after {start_label}"]},
        )


def stay_dates_check(
    *,
    property: Property,
    check_in: date,
    check_out: date,
    today: date,
    allow_past: bool = False,
    allow_beyond_horizon: bool = False,
    names: DateNames = STAY_DATES,
) -> None:
    """Raise InvalidDates (BeyondHorizon for the horizon) naming the first rule broken:

    - check-in before check-out;
    - both dates within REACH_DAYS of `today` (the property's today);
    - at most MAX_STAY_NIGHTS nights;
    - check-in not before today, unless `allow_past` (a stay already in progress, or a
      stay recorded after the fact by the owner or a partner);
    - check-out within the property's booking horizon, unless `allow_beyond_horizon`
      (a stay already sold on a partner platform or recorded by the owner: refusing it
      would leave those nights open here while they are taken there).
    """
    stay_span_check(check_in=check_in, check_out=check_out, today=today, names=names)
    if not allow_past and check_in < today:
        raise InvalidDates(
            gettext("Check-in cannot be in the past.")
            if names is STAY_DATES
            else f"{names.start_label.capitalize()} cannot be in the past.",
            fields={names.start: ["in the past"]},
        )
    if not allow_beyond_horizon:
        horizon = horizon_end(property=property, today=today)
        if check_out > horizon:
            raise BeyondHorizon(
                gettext("Bookings open up to %(day)s; please choose earlier dates.")
                % {"day": format_day(horizon, "j M Y")},
                fields={names.end: [f"on or before {horizon.isoformat()}"]},
            )


def month_from_param(raw: str | None) -> date | None:
    """The first day of the month a `YYYY-MM` query parameter names, or None when it
    names none (garbage, or a year no calendar has). Callers clamp it to their range."""
    match = re.fullmatch(r"(\d{1,4})-(\d{1,2})", (raw or "").strip())
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), 1)
    except ValueError:
        return None


# --- Guest details ----------------------------------------------------------------------

# Line breaks and tabs in a name or phone number become spaces: a line break would split
# every email header the booking fills (To:, Subject:) and every CSV row it lands in.
_SPACES = re.compile(r"[\t\n\r\u2028\u2029]+")
# Any other control character has no business in a name: refused, not silently dropped.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
GUEST_LIMITS = {"guest_name": 150, "guest_email": 254, "guest_phone": 40}


@dataclass(frozen=True)
class GuestDetails:
    name: str
    email: str
    phone: str


def _one_line(value: str, field: str) -> str:
    text = re.sub(" {2,}", " ", _SPACES.sub(" ", value)).strip()
    if _CONTROL.search(text):
        raise InvalidGuestDetails(
            "Guest details cannot contain control characters.",
            fields={field: ["contains a control character"]},
        )
    limit = GUEST_LIMITS[field]
    if len(text) > limit:
        raise InvalidGuestDetails(
            f"{field.replace('_', ' ').capitalize()} can be at most {limit} characters.",
            fields={field: [f"at most {limit} characters"]},
        )
    return text


def guest_details_clean(*, name: str, email: str, phone: str) -> GuestDetails:
    """The guest's name, email and phone as a booking stores them: one line each, no
    control characters, a valid email address (or none). Raises InvalidGuestDetails."""
    clean_email = _one_line(email, "guest_email")
    if clean_email:
        try:
            validate_email(clean_email)
        except ValidationError:
            raise InvalidGuestDetails(
                "The guest's email address is not valid.",
                fields={"guest_email": ["not a valid email address"]},
            ) from None
    return GuestDetails(
        name=_one_line(name, "guest_name"),
        email=clean_email,
        phone=_one_line(phone, "guest_phone"),
    )


# --- Who owns a booking ---------------------------------------------------------------

# Stays and blocks made on a partner's side: the partner is the authority on them (and
# collects their money); Holidesk applies what the partner sends.
PARTNER_SOURCES = (
    Booking.Source.AIRBNB,
    Booking.Source.BOOKING,
    Booking.Source.VRBO,
    Booking.Source.ICAL,
)


def owner_may_change_check(booking: Booking) -> None:
    """Raise InvalidTransition when a partner owns this booking: its dates and money
    are changed on the partner's side, never by the owner here."""
    if booking.source in PARTNER_SOURCES:
        label = booking.get_source_display()
        raise InvalidTransition(
            f"{label} owns this reservation: change it on {label}.",
        )


def owner_amount_check(amount: Decimal, currency: str) -> None:
    """An amount the owner enters (a refund, a payment taken offline): above zero and in
    units the currency can pay (InvalidAmount, naming the field, otherwise)."""
    if amount <= 0:
        raise InvalidAmount("Enter an amount above zero.", fields={"amount": ["above zero"]})
    if round_money(amount, currency) != amount:
        raise InvalidAmount(
            f"{currency} cannot be paid in amounts that fine.",
            fields={"amount": ["too many decimals"]},
        )


def owner_note_clean(note: str) -> str:
    """A note kept with a payment or refund: one line, at most 300 characters."""
    return " ".join(note.split())[:300]
