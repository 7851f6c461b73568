"""Writes to the calendar, one module per business process:

- `stays`: a visitor's hold, confirmation, stays recorded by partners, the owner or the
  API, moving a stay, the guest details on it;
- `cancellation`: the policies, refund quotes, cancelling without paying anything out;
- `blocks`: nights closed by the owner, a feed or maintenance;
- `holds`: the visitor's hold allowance, extension holds, the sweep of run-out holds;
- `writes`: the critical section they share (property lock, overlap mapping, retries
  of lost lock races).

The rules of dates and guest details are `bookings.rules`.
"""

from __future__ import annotations

# Names importable from `bookings.services` when it was one module, kept until every
# caller imports them from its process's module.
from datetime import date

from django.utils import timezone

from bookings.rules import MAX_STAY_NIGHTS, stay_span_check
from bookings.services.blocks import block_change_dates, block_create, block_remove
from bookings.services.cancellation import (
    CANCELLATION_POLICIES,
    booking_cancel_without_refund,
    check_in_datetime,
    refund_quote,
)
from bookings.services.holds import (
    extension_holds_release,
    extension_nights_hold,
    holds_expire,
)
from bookings.services.stays import (
    booking_change_dates,
    booking_confirm,
    booking_create,
    booking_guest_update,
    booking_hold,
)
from bookings.services.writes import property_lock

MAX_SPAN_DAYS = MAX_STAY_NIGHTS
_lock_property = property_lock


def _validate_range(start: date, end: date) -> None:
    """The engine's date limits without a property; `bookings.rules.stay_dates_check`
    is the whole rule."""
    stay_span_check(check_in=start, check_out=end, today=timezone.localdate())


__all__ = [
    "CANCELLATION_POLICIES",
    "MAX_SPAN_DAYS",
    "block_change_dates",
    "block_create",
    "block_remove",
    "booking_cancel_without_refund",
    "booking_change_dates",
    "booking_confirm",
    "booking_create",
    "booking_guest_update",
    "booking_hold",
    "check_in_datetime",
    "extension_holds_release",
    "extension_nights_hold",
    "holds_expire",
    "property_lock",
    "refund_quote",
]
