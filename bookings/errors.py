"""Booking domain errors. Each names the rule broken, in words a guest understands."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext

from properties.dates import format_day
from properties.errors import DomainError


class BookingError(DomainError):
    code = "booking_error"
    http_status = 400


class StayUnavailable(BookingError):
    """The nights overlap another active stay or block on the same property."""

    code = "stay_unavailable"
    http_status = 409

    def __init__(self, message: str = "", *, conflict: tuple[date, date] | None = None):
        self.conflict = conflict
        if not message:
            message = gettext("Those dates are no longer available.")
            if conflict:
                message = gettext("Those dates overlap another stay from %(start)s to %(end)s.") % {
                    "start": format_day(conflict[0], "j M Y"),
                    "end": format_day(conflict[1], "j M Y"),
                }
        details = {}
        if conflict:
            details["conflict"] = {"start": conflict[0].isoformat(), "end": conflict[1].isoformat()}
        super().__init__(message, **details)


class RuleViolation(BookingError):
    """A stay rule (minimum nights, guests, advance notice, horizon...) is broken."""

    code = "rule_violation"
    http_status = 400


class InvalidDates(RuleViolation):
    code = "invalid_dates"


class MinimumStay(RuleViolation):
    code = "minimum_stay"


class MaximumStay(RuleViolation):
    code = "maximum_stay"


class TooManyGuests(RuleViolation):
    code = "invalid_guests"


class AdvanceNotice(RuleViolation):
    code = "advance_notice"


class BeyondHorizon(InvalidDates):
    code = "beyond_horizon"


class InvalidGuestDetails(RuleViolation):
    """A guest's name, email or phone that cannot be stored or sent as given."""

    code = "invalid_guest"


class HoldLimitReached(BookingError):
    """One visitor already holds as many stays, or nights, as a business allows at once."""

    code = "hold_limit"
    http_status = 429


class InvalidTransition(BookingError):
    """The booking is not in a state that allows this (e.g. cancelling a cancelled one)."""

    code = "invalid_state"
    http_status = 409


class InvalidAmount(BookingError):
    """An amount of money that cannot be paid or refunded as asked (not positive, finer
    than the currency allows, more than is due or refundable)."""

    code = "invalid_amount"
    http_status = 400


class PriceChanged(BookingError):
    """The amounts moved since the owner was shown them: nothing was done; show them
    again and ask once more."""

    code = "price_changed"
    http_status = 409
