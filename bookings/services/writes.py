"""The critical section every calendar write goes through, shared by the services.

1. `SELECT ... FOR NO KEY UPDATE` the property row (`property_lock`). Writers to one
   property queue up here, so they never race inside the GiST exclusion index, where
   concurrent inserters can deadlock (SQLSTATE 40P01) instead of failing cleanly
   (measured: a third of the rejections, with multi-second tails). Writers to different
   properties do not wait for each other.
2. Expire run-out holds of that property (`run_out_holds_expire`), so a stale hold never
   blocks anyone while waiting for the periodic sweeper.
3. Pre-check for an overlap (`stay_free_check`), to name the conflicting range.
4. Write inside `overlap_is_unavailable`. The exclusion constraint `booking_no_overlap`
   is still the authority: its violation (23P01) becomes `StayUnavailable`, never a 500.

A lost lock race (deadlock 40P01, serialization failure 40001) is not an overlap: the
outermost service retries its whole transaction (`calendar_write`), and if the race is
still lost after the last attempt the caller gets `properties.errors.Busy` (503, "try
again"), never "those dates are taken".
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any, ParamSpec, TypeVar

from django.db import DatabaseError, IntegrityError, connection, transaction
from psycopg import errors as pg_errors

from bookings import signals
from bookings.errors import StayUnavailable
from bookings.models import Booking
from bookings.selectors import overlapping_stay
from properties.db import RETRYABLE_SQLSTATES, lock_one, retry_on_conflict, sqlstate
from properties.errors import Busy
from properties.models import Property

P = ParamSpec("P")
R = TypeVar("R")

# Attempts of a calendar write that keeps losing lock races before it answers Busy.
WRITE_ATTEMPTS = 5


def calendar_write(func: Callable[P, R]) -> Callable[P, R]:
    """Make a service that opens its own transaction safe against lost lock races.

    Called outside any transaction, the service is run again (with a short jittered
    pause) when the database rolled it back for a deadlock or serialization failure,
    and answers `Busy` once the attempts are spent. Called inside a caller's
    transaction, it cannot retry (the loss rolled back more than its own work): the
    database error goes up to the caller's outermost transaction, whose owner retries
    or answers busy (the API error handler and the site middleware map it to 503)."""
    retried = retry_on_conflict(WRITE_ATTEMPTS)(func)

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        outermost = not connection.in_atomic_block
        try:
            return retried(*args, **kwargs)
        except DatabaseError as exc:
            if outermost and sqlstate(exc) in RETRYABLE_SQLSTATES:
                raise Busy() from exc
            raise

    return run


def property_lock(property_id: int) -> Property:
    """Serialise calendar writers of one property (see `properties.db.lock_one`: the
    property row only, in a mode foreign-key checks do not wait on). Only inside a
    transaction."""
    return lock_one(Property.objects.select_related("business"), pk=property_id)


def run_out_holds_expire(prop: Property, now: datetime) -> list[Booking]:
    """Mark the run-out holds of a property locked by the caller expired."""
    expired = list(
        Booking.objects.select_for_update().filter(
            property=prop, status=Booking.Status.HELD, hold_expires_at__lte=now
        )
    )
    for booking in expired:
        booking.status = Booking.Status.EXPIRED
        booking.save(update_fields=["status", "updated_at"])
        signals.calendar_written.send(
            sender=Booking, booking=booking, action="expired", previous=None
        )
    return expired


def stay_free_check(
    prop: Property, start: date, end: date, *, exclude_id: int | None = None
) -> None:
    """StayUnavailable, naming the conflicting range, when [start, end) is taken."""
    other = overlapping_stay(property=prop, start=start, end=end, exclude_id=exclude_id)
    if other is not None:
        raise StayUnavailable(conflict=(other.check_in, other.check_out))


def stay_free_fast_check(property_id: int, start: date, end: date, now: datetime) -> None:
    """Answer a loser without queueing for the property lock when committed state
    already shows a conflict (the usual case under contention, once the winner has
    committed). Only an optimisation: the check under the lock is the one that counts."""
    other = (
        Booking.objects.filter(property_id=property_id)
        .active(now=now)
        .overlapping(start, end)
        .only("stay")
        .order_by("stay")
        .first()
    )
    if other is not None:
        raise StayUnavailable(conflict=(other.check_in, other.check_out))


@contextlib.contextmanager
def overlap_is_unavailable(prop: Property, start: date, end: date) -> Iterator[None]:
    """Map the exclusion constraint's violation to StayUnavailable. Runs the write in a
    savepoint so the surrounding transaction stays usable. A deadlock is left alone: it
    says nothing about the dates (see `calendar_write`)."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        if not isinstance(exc.__cause__, pg_errors.ExclusionViolation):
            raise
        other = overlapping_stay(property=prop, start=start, end=end)
        raise StayUnavailable(
            conflict=(other.check_in, other.check_out) if other else None
        ) from exc


def on_commit_send(signal: Any, **kwargs: Any) -> None:
    """Send a bookings signal once the current transaction commits."""
    transaction.on_commit(lambda: signal.send(sender=Booking, **kwargs), robust=True)
