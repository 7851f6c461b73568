"""Writes to the calendar. Every function here owns one explicit transaction.

The critical section, in every write that can create or move a stay:

1. `SELECT ... FOR UPDATE` the property row. Writers to one property queue up here, so
   they never race inside the GiST exclusion index, where concurrent inserters can
   deadlock (SQLSTATE 40P01) instead of failing cleanly (measured: a third of the
   rejections, with multi-second tails). Writers to different properties do not wait
   for each other.
2. Expire run-out holds of that property, so a stale hold never blocks anyone while
   waiting for the periodic sweeper.
3. Pre-check for an overlap, to name the conflicting range in the error.
4. Write. The exclusion constraint `booking_no_overlap` is still the authority: its
   violation (23P01), or a deadlock (40P01) should any path skip step 1, becomes
   `StayUnavailable`, never a 500.

Signals for side effects are sent on commit (see bookings.signals).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from psycopg import errors as pg_errors
from psycopg.types.range import Range

from bookings import signals
from bookings.errors import InvalidDates, InvalidTransition, StayUnavailable
from bookings.models import Booking
from bookings.pricing import Quote, quote
from bookings.selectors import overlapping_stay
from properties.db import lock_one
from properties.models import Property, User
from properties.money import round_money

OVERLAP_SQLSTATES = {"23P01", "40P01"}  # exclusion violation, deadlock


def _lock_property(property_id: int) -> Property:
    """Serialise calendar writers of one property (see `properties.db.lock_one`: the
    property row only, in a mode foreign-key checks do not wait on)."""
    return lock_one(Property.objects.select_related("business"), pk=property_id)


def _expire_run_out_holds(prop: Property, now: datetime) -> list[Booking]:
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


def _conflict(
    prop: Property, start: date, end: date, *, exclude_id: int | None = None
) -> Booking | None:
    return overlapping_stay(property=prop, start=start, end=end, exclude_id=exclude_id)


def _raise_if_taken(
    prop: Property, start: date, end: date, *, exclude_id: int | None = None
) -> None:
    other = _conflict(prop, start, end, exclude_id=exclude_id)
    if other is not None:
        raise StayUnavailable(conflict=(other.check_in, other.check_out))


def _fail_fast_if_taken(property_id: int, start: date, end: date, now: datetime) -> None:
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
def _overlap_is_unavailable(prop: Property, start: date, end: date) -> Iterator[None]:
    """Map the exclusion constraint (and a deadlock on its index) to StayUnavailable.
    Runs the write in a savepoint so the surrounding transaction stays usable."""
    try:
        with transaction.atomic():
            yield
    except (IntegrityError, DatabaseError) as exc:
        cause = exc.__cause__
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate not in OVERLAP_SQLSTATES:
            raise
        if isinstance(cause, pg_errors.ExclusionViolation):
            other = _conflict(prop, start, end)
            raise StayUnavailable(
                conflict=(other.check_in, other.check_out) if other else None
            ) from exc
        raise StayUnavailable() from exc


def _on_commit_send(signal: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender=Booking, **kwargs), robust=True)


# The longest stay or block the engine accepts (partners and feeds are held to it too).
MAX_SPAN_DAYS = 3 * 366


def _validate_range(start: date, end: date) -> None:
    if end <= start:
        raise InvalidDates(
            "The end date must be after the start date.", fields={"end": ["after start"]}
        )
    if (end - start).days > MAX_SPAN_DAYS:
        raise InvalidDates("A stay or block can span at most 3 years.", fields={"end": ["too far"]})


# --- Guest stays ------------------------------------------------------------------------


def booking_hold(
    *,
    property: Property,
    check_in: date,
    check_out: date,
    guests: int,
    guest_user: User | None = None,
    guest_name: str = "",
    guest_email: str = "",
    guest_phone: str = "",
    note: str = "",
    source: str = Booking.Source.DIRECT,
    hold_minutes: int | None = None,
    now: datetime | None = None,
) -> Booking:
    """Reserve the nights for a visitor while they pay (HOLIDESK_HOLD_MINUTES, 30 by default)."""
    now = now or timezone.now()
    minutes = hold_minutes or settings.HOLIDESK_HOLD_MINUTES
    _fail_fast_if_taken(property.pk, check_in, check_out, now)
    with transaction.atomic():
        prop = _lock_property(property.pk)
        priced = quote(prop, check_in, check_out, guests)
        _expire_run_out_holds(prop, now)
        return _insert_hold(
            prop,
            check_in,
            check_out,
            expires_at=now + timedelta(minutes=minutes),
            source=source,
            guest_user=guest_user,
            guest_name=guest_name or (guest_user.name if guest_user else ""),
            guest_email=guest_email or (guest_user.email if guest_user else ""),
            guest_phone=guest_phone,
            guests=guests,
            note=note,
            price_breakdown=priced.as_dict(),
            total=priced.total,
            currency=priced.currency,
        )


def _insert_hold(
    prop: Property, start: date, end: date, *, expires_at: datetime, **fields: Any
) -> Booking:
    """A held stay on a property locked by the caller (the nights checked free first)."""
    _raise_if_taken(prop, start, end)
    hold = Booking(
        business=prop.business,
        property=prop,
        stay=Range(start, end, "[)"),
        status=Booking.Status.HELD,
        kind=Booking.Kind.STAY,
        hold_expires_at=expires_at,
        **fields,
    )
    with _overlap_is_unavailable(prop, start, end):
        hold.save()
    signals.calendar_written.send(sender=Booking, booking=hold, action="held", previous=None)
    return hold


def extension_nights_hold(
    *,
    booking: Booking,
    check_in: date,
    check_out: date,
    hold_minutes: int | None = None,
    now: datetime | None = None,
) -> list[Booking]:
    """Hold the nights an extension adds to a confirmed stay (before it, after it or
    both) while the guest pays, like a checkout hold. The holds are released into the
    stay by `extension_holds_release` when the payment succeeds, or run out."""
    now = now or timezone.now()
    minutes = hold_minutes or settings.HOLIDESK_HOLD_MINUTES
    added = [
        (start, end)
        for start, end in ((check_in, booking.check_in), (booking.check_out, check_out))
        if start < end
    ]
    for start, end in added:
        _fail_fast_if_taken(booking.property_id, start, end, now)
    holds: list[Booking] = []
    with transaction.atomic():
        prop = _lock_property(booking.property_id)
        _expire_run_out_holds(prop, now)
        for start, end in added:
            hold = _insert_hold(
                prop,
                start,
                end,
                expires_at=now + timedelta(minutes=minutes),
                source=booking.source,
                guest_name=booking.guest_name,
                guest_email=booking.guest_email,
                guest_phone=booking.guest_phone,
                guests=booking.guests,
                note=f"Extra nights for {booking.reference}, awaiting payment.",
                total=Decimal(0),
                currency=booking.currency,
            )
            holds.append(hold)
    return holds


def extension_holds_release(*, holds: list[Booking]) -> None:
    """Free extension holds (still held) in the caller's transaction: just before the
    stay takes their nights, or when the extension is abandoned."""
    if not holds:
        return
    with transaction.atomic():
        _lock_property(holds[0].property_id)
        for hold in Booking.objects.select_for_update().filter(
            pk__in=[h.pk for h in holds], status=Booking.Status.HELD
        ):
            hold.status = Booking.Status.EXPIRED
            hold.save(update_fields=["status", "updated_at"])
            signals.calendar_written.send(
                sender=Booking, booking=hold, action="expired", previous=None
            )


def booking_confirm(
    *, booking: Booking, amount_paid: Decimal | None = None, now: datetime | None = None
) -> Booking:
    """Held -> confirmed, conditional on the current state (safe to call twice).

    A payment can arrive after its hold ran out. If the nights are still free the
    booking is confirmed anyway; if someone else took them, StayUnavailable is raised
    and the caller refunds. An overlapping stay is never confirmed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        prop = _lock_property(booking.property_id)
        current = Booking.objects.select_for_update().get(pk=booking.pk)
        if current.status == Booking.Status.CONFIRMED:
            return current
        if current.status == Booking.Status.CANCELLED:
            raise InvalidTransition(f"Booking {current.reference} was cancelled.")
        _expire_run_out_holds(prop, now)
        current.refresh_from_db()
        if current.status == Booking.Status.EXPIRED:
            _raise_if_taken(prop, current.check_in, current.check_out, exclude_id=current.pk)
        current.status = Booking.Status.CONFIRMED
        current.confirmed_at = now
        current.hold_expires_at = None
        if amount_paid is not None:
            current.amount_paid = amount_paid
        with _overlap_is_unavailable(prop, current.check_in, current.check_out):
            current.save()
        signals.calendar_written.send(
            sender=Booking, booking=current, action="confirmed", previous=None
        )
        _on_commit_send(signals.booking_confirmed, booking_id=current.pk)
    return current


def booking_create(
    *,
    property: Property,
    check_in: date,
    check_out: date,
    guests: int = 1,
    source: str,
    guest_name: str = "",
    guest_email: str = "",
    guest_phone: str = "",
    total: Decimal | None = None,
    currency: str | None = None,
    note: str = "",
    enforce_rules: bool = False,
    now: datetime | None = None,
) -> Booking:
    """A confirmed stay from a partner, the owner or the API (no hold, no payment here).

    Partner and owner bookings are not held to the site's stay rules (the partner
    applied its own); `enforce_rules=True` applies them.
    """
    now = now or timezone.now()
    _validate_range(check_in, check_out)
    _fail_fast_if_taken(property.pk, check_in, check_out, now)
    with transaction.atomic():
        prop = _lock_property(property.pk)
        priced: Quote = quote(
            prop, check_in, check_out, max(guests, 1), enforce_rules=enforce_rules
        )
        _expire_run_out_holds(prop, now)
        _raise_if_taken(prop, check_in, check_out)
        booking = Booking(
            business=prop.business,
            property=prop,
            stay=Range(check_in, check_out, "[)"),
            status=Booking.Status.CONFIRMED,
            kind=Booking.Kind.STAY,
            source=source,
            guest_name=guest_name,
            guest_email=guest_email,
            guest_phone=guest_phone,
            guests=guests,
            note=note,
            price_breakdown=priced.as_dict() if total is None else {"total": str(total)},
            total=priced.total if total is None else total,
            currency=currency or priced.currency,
            confirmed_at=now,
        )
        with _overlap_is_unavailable(prop, check_in, check_out):
            booking.save()
        signals.calendar_written.send(
            sender=Booking, booking=booking, action="confirmed", previous=None
        )
        _on_commit_send(signals.booking_confirmed, booking_id=booking.pk)
    return booking


# Refund fraction of what was paid, by policy, by how long before the local check-in
# time the cancellation comes. Ordered from the earliest threshold.
CANCELLATION_POLICIES: dict[str, list[tuple[timedelta, Decimal]]] = {
    Property.CancellationPolicy.FLEXIBLE: [(timedelta(days=1), Decimal(1))],
    Property.CancellationPolicy.MODERATE: [
        (timedelta(days=5), Decimal(1)),
        (timedelta(0), Decimal("0.5")),
    ],
    Property.CancellationPolicy.STRICT: [(timedelta(days=7), Decimal("0.5"))],
}


def check_in_datetime(booking: Booking) -> datetime:
    """The local check-in moment, in UTC-aware form."""
    prop = booking.property
    return datetime.combine(booking.check_in, prop.check_in_time, tzinfo=prop.tz)


def refund_quote(
    *, booking: Booking, by_owner: bool = False, now: datetime | None = None
) -> Decimal:
    """What a cancellation now gives back under the property's policy.

    The owner cancelling refunds everything; a guest gets the policy's share of what
    was paid, by how long before the local check-in time they cancel."""
    now = now or timezone.now()
    paid = booking.amount_paid - booking.amount_refunded
    if paid <= 0:
        return Decimal(0)
    if by_owner:
        return paid
    notice = check_in_datetime(booking) - now
    fraction = Decimal(0)
    for threshold, share in CANCELLATION_POLICIES[booking.property.cancellation_policy]:
        if notice >= threshold:
            fraction = share
            break
    return round_money(paid * fraction, booking.currency)


def booking_cancel_without_refund(
    *, booking: Booking, by_owner: bool = False, reason: str = "", now: datetime | None = None
) -> tuple[Booking, Decimal]:
    """Cancel a stay; returns it with the refund the policy implies (the caller pays it
    out through the payment gateway)."""
    now = now or timezone.now()
    with transaction.atomic():
        _lock_property(booking.property_id)
        current = (
            Booking.objects.select_for_update()
            .select_related("property__business")
            .get(pk=booking.pk)
        )
        if current.is_block:
            raise InvalidTransition(f"{current.reference} is a block; remove it instead.")
        if current.status not in (Booking.Status.HELD, Booking.Status.CONFIRMED):
            raise InvalidTransition(
                f"Booking {current.reference} is already {current.get_status_display().lower()}."
            )
        refund = refund_quote(booking=current, by_owner=by_owner, now=now)
        previous_status = current.status
        current.status = Booking.Status.CANCELLED
        current.cancelled_at = now
        if reason:
            current.note = (current.note + "\n" if current.note else "") + f"Cancelled: {reason}"
        current.save()
        signals.calendar_written.send(
            sender=Booking,
            booking=current,
            action="cancelled",
            previous={"status": previous_status},
        )
        _on_commit_send(signals.booking_cancelled, booking_id=current.pk)
    return current, refund


def booking_change_dates(
    *,
    booking: Booking,
    check_in: date,
    check_out: date,
    enforce_rules: bool = True,
    now: datetime | None = None,
) -> tuple[Booking, Decimal]:
    """Move or extend a confirmed stay atomically; returns it with the price difference
    (positive: the guest owes more). The exclusion constraint still guards the move."""
    now = now or timezone.now()
    _validate_range(check_in, check_out)
    with transaction.atomic():
        prop = _lock_property(booking.property_id)
        current = Booking.objects.select_for_update().get(pk=booking.pk)
        if current.status != Booking.Status.CONFIRMED or current.is_block:
            raise InvalidTransition(
                f"Only confirmed stays can change dates ({current.reference} is {current.status})."
            )
        if (current.check_in, current.check_out) == (check_in, check_out):
            return current, Decimal(0)
        if enforce_rules and check_in != current.check_in and check_in < prop.local_today():
            raise InvalidDates(
                "Check-in cannot move into the past.", fields={"check_in": ["in the past"]}
            )
        priced = quote(
            prop,
            check_in,
            check_out,
            current.guests,
            enforce_rules=enforce_rules and check_in >= prop.local_today(),
        )
        _expire_run_out_holds(prop, now)
        _raise_if_taken(prop, check_in, check_out, exclude_id=current.pk)
        previous = {
            "check_in": current.check_in,
            "check_out": current.check_out,
            "total": current.total,
        }
        difference = priced.total - current.total
        current.stay = Range(check_in, check_out, "[)")
        current.price_breakdown = priced.as_dict()
        current.total = priced.total
        with _overlap_is_unavailable(prop, check_in, check_out):
            current.save()
        signals.calendar_written.send(
            sender=Booking, booking=current, action="changed", previous=previous
        )
        _on_commit_send(
            signals.booking_changed,
            booking_id=current.pk,
            old_check_in=previous["check_in"].isoformat(),
            old_check_out=previous["check_out"].isoformat(),
        )
    return current, difference


# --- Blocks -----------------------------------------------------------------------------


def block_create(
    *,
    property: Property,
    start: date,
    end: date,
    note: str = "",
    kind: str = Booking.Kind.OWNER_BLOCK,
    source: str = Booking.Source.OWNER,
    now: datetime | None = None,
) -> Booking:
    """Close nights [start, end) on the calendar. Blocks count as unavailable like stays."""
    now = now or timezone.now()
    _validate_range(start, end)
    if kind not in Booking.BLOCK_KINDS:
        raise InvalidTransition(f"{kind} is not a kind of block.")
    _fail_fast_if_taken(property.pk, start, end, now)
    with transaction.atomic():
        prop = _lock_property(property.pk)
        _expire_run_out_holds(prop, now)
        _raise_if_taken(prop, start, end)
        block = Booking(
            business=prop.business,
            property=prop,
            stay=Range(start, end, "[)"),
            status=Booking.Status.CONFIRMED,
            kind=kind,
            source=source,
            note=note,
            currency=prop.business.currency,
            confirmed_at=now,
        )
        with _overlap_is_unavailable(prop, start, end):
            block.save()
        signals.calendar_written.send(
            sender=Booking, booking=block, action="block_created", previous=None
        )
        _on_commit_send(signals.block_changed, booking_id=block.pk, action="created")
    return block


def block_change_dates(
    *, block: Booking, start: date, end: date, now: datetime | None = None
) -> Booking:
    """Move a block (a partner or iCal event whose dates changed)."""
    now = now or timezone.now()
    _validate_range(start, end)
    with transaction.atomic():
        prop = _lock_property(block.property_id)
        current = Booking.objects.select_for_update().get(pk=block.pk)
        if not current.is_block or current.status != Booking.Status.CONFIRMED:
            raise InvalidTransition(f"{current.reference} is not an active block.")
        if (current.check_in, current.check_out) == (start, end):
            return current
        _expire_run_out_holds(prop, now)
        _raise_if_taken(prop, start, end, exclude_id=current.pk)
        previous = {"check_in": current.check_in, "check_out": current.check_out}
        current.stay = Range(start, end, "[)")
        with _overlap_is_unavailable(prop, start, end):
            current.save()
        signals.calendar_written.send(
            sender=Booking, booking=current, action="changed", previous=previous
        )
        _on_commit_send(signals.block_changed, booking_id=current.pk, action="changed")
    return current


def block_remove(*, block: Booking, now: datetime | None = None) -> Booking:
    now = now or timezone.now()
    with transaction.atomic():
        _lock_property(block.property_id)
        current = Booking.objects.select_for_update().get(pk=block.pk)
        if not current.is_block:
            raise InvalidTransition(f"{current.reference} is a guest stay; cancel it instead.")
        if current.status == Booking.Status.CANCELLED:
            return current
        current.status = Booking.Status.CANCELLED
        current.cancelled_at = now
        current.save()
        signals.calendar_written.send(
            sender=Booking, booking=current, action="block_removed", previous=None
        )
        _on_commit_send(signals.block_changed, booking_id=current.pk, action="removed")
    return current


# --- Housekeeping -----------------------------------------------------------------------


def holds_expire(*, now: datetime | None = None, batch: int = 500) -> int:
    """Periodic sweep: mark run-out holds expired. Writes expire their own property's
    holds as well, so this only keeps the table tidy and the admin honest."""
    now = now or timezone.now()
    total = 0
    property_ids = list(
        Booking.objects.filter(status=Booking.Status.HELD, hold_expires_at__lte=now)
        .values_list("property_id", flat=True)
        .distinct()[:batch]
    )
    for property_id in property_ids:
        with transaction.atomic():
            prop = _lock_property(property_id)
            total += len(_expire_run_out_holds(prop, now))
    return total
