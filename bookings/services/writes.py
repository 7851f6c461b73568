"""The critical section every calendar write goes through, shared by the services.

0. Before the transaction, a cheap pre-check on committed state
   (`stay_free_fast_check`) answers most conflicts (409) without queueing on the lock.
1. `SELECT ... FOR NO KEY UPDATE` the property row (`property_lock`). Writers to one
   property queue up here, so they never race inside the GiST exclusion index, where
   concurrent inserters can deadlock (SQLSTATE 40P01) instead of failing cleanly
   (measured: a third of the rejections, with multi-second tails). Writers to different
   properties do not wait for each other. A new stay or block that finds the lock taken
   first waits for the holder to finish without queueing, and answers from committed
   state when the holder took its nights, so a burst of losers answers together.
2. One overlap check under the lock (`stay_free_claim`): the rows over the new nights
   that count for the constraint. A live one is the conflict it names; a run-out hold
   among them is expired there, since only a hold over the new nights can block the
   write (other run-out holds are already free for every read, and the periodic sweep
   tidies them).
3. One write (`calendar_insert`, `calendar_save`). The exclusion constraint
   `booking_no_overlap` is still the authority: its violation (23P01) becomes
   `StayUnavailable`, never a 500. No savepoint of its own: every service runs it in its
   own `transaction.atomic()`, which is the savepoint when the service is called inside
   a caller's transaction, so a refused write leaves the caller's transaction usable.

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
from django.utils import timezone
from psycopg import errors as pg_errors
from psycopg.types.range import Range

from bookings import signals
from bookings.errors import StayUnavailable
from bookings.models import ACTIVE_STATUSES, Booking
from bookings.selectors import overlapping_stay
from properties.db import (
    RETRYABLE_SQLSTATES,
    lock_one,
    require_transaction,
    retry_on_conflict,
    sqlstate,
)
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


def property_lock(
    property_id: int, *, wanted: tuple[date, date, datetime] | None = None
) -> Property:
    """Serialise calendar writers of one property (see `properties.db.lock_one`: the
    property row only, in a mode foreign-key checks do not wait on). Only inside a
    transaction.

    With `wanted` (start, end, now of a new stay or block) a writer that finds the lock
    taken does not queue behind the others at once: it waits for the holder to finish
    under a shared lock (taken in a savepoint and released at once, so no waiter ever
    upgrades a lock), then answers a conflict the holder's write made from committed
    state (`stay_free_fast_check`). Every loser of a burst then answers together
    instead of one after the other; only a writer whose nights are still free queues
    for the lock."""
    properties = Property.objects.select_related("business")
    if wanted is None:
        return lock_one(properties, pk=property_id)
    require_transaction()
    free = list(
        properties.select_for_update(of=("self",), no_key=True, skip_locked=True).filter(
            pk=property_id
        )
    )
    if free:
        return free[0]
    savepoint = transaction.savepoint()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM properties_property WHERE id = %s FOR SHARE", [property_id])
    transaction.savepoint_rollback(savepoint)
    stay_free_fast_check(property_id, *wanted)
    return lock_one(properties, pk=property_id)


def run_out_holds_expire(prop: Property, now: datetime) -> list[Booking]:
    """Mark every run-out hold of a property locked by the caller expired (the periodic
    sweep; a write expires only the holds over its own nights, in `stay_free_claim`)."""
    return holds_mark_expired(
        list(
            Booking.objects.filter(
                property=prop, status=Booking.Status.HELD, hold_expires_at__lte=now
            )
        ),
        prop=prop,
    )


def holds_mark_expired(holds: list[Booking], *, prop: Property) -> list[Booking]:
    """Expire run-out holds (rows in hand, of a property locked by the caller) in one
    statement, and announce each to the in-transaction subscribers."""
    if not holds:
        return holds
    Booking.objects.filter(pk__in=[h.pk for h in holds], status=Booking.Status.HELD).update(
        status=Booking.Status.EXPIRED, updated_at=timezone.now()
    )
    for hold in holds:
        hold.status = Booking.Status.EXPIRED
        hold.property = prop
        calendar_written_send(hold, action="expired")
    return holds


def stay_free_claim(
    prop: Property, start: date, end: date, *, now: datetime, exclude_id: int | None = None
) -> None:
    """The one overlap check under the property lock: StayUnavailable, naming the
    conflicting range, when a live stay, block or hold is over [start, end); otherwise
    the run-out holds over those nights (the only ones that would still block the write
    under the constraint) are expired."""
    rows = Booking.objects.filter(property=prop, status__in=ACTIVE_STATUSES).overlapping(start, end)
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    found = list(rows.order_by("stay"))
    for other in found:
        if other.status == Booking.Status.CONFIRMED or (
            other.hold_expires_at is not None and other.hold_expires_at > now
        ):
            raise StayUnavailable(conflict=(other.check_in, other.check_out))
    holds_mark_expired(found, prop=prop)


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
        .values_list("stay", flat=True)
        .order_by("stay")
        .first()
    )
    if other is not None:
        raise StayUnavailable(conflict=(other.lower, other.upper))


@contextlib.contextmanager
def overlap_is_unavailable() -> Iterator[None]:
    """Map the exclusion constraint's violation to StayUnavailable. Reached only by a
    writer that raced past the check under the lock (none of the services does); the
    transaction is then unusable until the service's atomic block rolls back, so the
    conflicting range is not looked up. A deadlock is left alone: it says nothing about
    the dates (see `calendar_write`)."""
    try:
        yield
    except IntegrityError as exc:
        if not isinstance(exc.__cause__, pg_errors.ExclusionViolation):
            raise
        raise StayUnavailable() from exc


def calendar_insert(
    prop: Property, start: date, end: date, *, action: str, now: datetime, **fields: Any
) -> Booking:
    """Insert a stay or a block [start, end) on a property locked by the caller: one
    overlap check (naming the conflicting range), then one insert under the constraint."""
    stay_free_claim(prop, start, end, now=now)
    fields.setdefault("language", prop.business.default_language)
    booking = Booking(business=prop.business, property=prop, stay=Range(start, end, "[)"), **fields)
    calendar_save(prop, booking, action=action)
    return booking


def calendar_save(
    prop: Property, booking: Booking, *, action: str, previous: dict[str, Any] | None = None
) -> None:
    """Save a booking whose nights count on the calendar, under the exclusion
    constraint, and announce the write to the in-transaction subscribers."""
    booking.property = prop
    with overlap_is_unavailable():
        booking.save()
    calendar_written_send(booking, action=action, previous=previous)


def calendar_written_send(
    booking: Booking, *, action: str, previous: dict[str, Any] | None = None
) -> None:
    """`calendar_written` runs its receivers inside the caller's transaction, so their
    rows (re-timed messages, pushes) commit or roll back with the calendar."""
    signals.calendar_written.send(sender=Booking, booking=booking, action=action, previous=previous)


def on_commit_send(signal: Any, **kwargs: Any) -> None:
    """Send a bookings signal once the current transaction commits."""
    transaction.on_commit(lambda: signal.send(sender=Booking, **kwargs), robust=True)
