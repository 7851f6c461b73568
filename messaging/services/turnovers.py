"""Cleaning jobs (turnovers): one per confirmed stay's check-out, until the next
arrival, each with its own key code, kept in step with the calendar; and the owner's
alert when nobody accepted a job in time. The cleaner's emails and reassigning a job
are `messaging.services.cleaners`.

Syncing runs inside the booking service's transaction, under the property's row lock,
which serialises turnover and key-code work per property.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from psycopg.types.range import Range

from bookings.models import Booking
from messaging.models import KeyCode, Kind, ScheduledMessage, Staff, Turnover
from messaging.selectors import Timing, check_in_moment, check_out_moment, local_moment, timing_for
from messaging.services.cleaners import (
    cleaner_job_schedule,
    cleaner_update_schedule,
    cleaner_was_told,
    job_messages,
)
from messaging.services.key_codes import key_code_ensure_first, key_code_plan, key_codes_prune
from messaging.services.outbox import messages_cancel_pending, outbox_kick
from messaging.services.stay_messages import owner_notice_schedule
from properties.models import Property


@dataclass(frozen=True)
class _Slot:
    """Where a stay's job belongs: from its check-out until the next arrival."""

    stay: Booking
    following: Booking | None
    starts_at: datetime
    ends_at: datetime | None
    accept_by: datetime


def turnovers_sync(
    *,
    prop: Property,
    now: datetime,
    around: tuple[date, date] | None = None,
    changed: int | None = None,
) -> None:
    """Make the property's turnovers match its confirmed stays: one job per stay's
    check-out, until the next arrival; each new job gets a new key code.

    With `around` (the span of a changed booking's old and new dates, `changed` its
    id) only the jobs that change can differ are synced: the stays in that span and
    the one just before it, whose next arrival may have moved; the first stay after
    the span is read as the last one's next arrival. Without it, every future job."""
    timing = timing_for(prop)
    today = now.astimezone(prop.tz).date()
    horizon = today - timedelta(days=2)
    key_code_ensure_first(prop=prop, timing=timing)
    stays, after = _stays_to_sync(prop, horizon=horizon, around=around)
    existing = _lock_turnovers(prop, stays, horizon=horizon, around=around, changed=changed)
    # One query for "has this job any message yet?" instead of one per unchanged stay.
    with_messages = set(
        ScheduledMessage.objects.filter(turnover_id__in=[t.pk for t in existing.values()])
        .values_list("turnover_id", flat=True)
        .distinct()
    )
    default_cleaner = (
        Staff.objects.filter(pk=timing.default_cleaner_id, active=True).first()
        if timing.default_cleaner_id
        else None
    )
    for slot in _slots(stays, after, timing):
        turnover = existing.pop(slot.stay.pk, None)
        if turnover is None:
            _turnover_create(prop, slot, cleaner=default_cleaner, timing=timing, now=now)
        else:
            _turnover_update(
                turnover,
                slot,
                default_cleaner=default_cleaner,
                has_messages=turnover.pk in with_messages,
                timing=timing,
                now=now,
            )
    for turnover in existing.values():
        if turnover.state != Turnover.State.CANCELLED and (
            turnover.booking.status != Booking.Status.CONFIRMED
        ):
            _turnover_cancel(turnover, now)
    key_codes_prune(prop=prop, now=now)


def _stays_to_sync(
    prop: Property, *, horizon: date, around: tuple[date, date] | None
) -> tuple[list[Booking], Booking | None]:
    """The confirmed stays whose jobs are synced, in order, and the stay after them
    (read only as the last one's next arrival; None when all future stays are synced)."""
    confirmed = Booking.objects.filter(
        property=prop,
        kind=Booking.Kind.STAY,
        status=Booking.Status.CONFIRMED,
        stay__endswith__gte=horizon,
    )
    after: Booking | None = None
    if around is None:
        stays = list(confirmed.order_by("stay"))
    else:
        start, end = around
        before = confirmed.filter(stay__endswith__lte=start).order_by("-stay").first()
        inside = list(confirmed.filter(stay__overlap=Range(start, end, "[)")).order_by("stay"))
        after = confirmed.filter(stay__startswith__gte=end).order_by("stay").first()
        stays = ([before] if before is not None else []) + inside
        if after is not None:
            after.property = prop
    for stay in stays:
        stay.property = prop  # one shared instance instead of a join per row
    return stays, after


def _lock_turnovers(
    prop: Property,
    stays: list[Booking],
    *,
    horizon: date,
    around: tuple[date, date] | None,
    changed: int | None,
) -> dict[int, Turnover]:
    """The existing jobs that may change, locked, by their stay's id: those of the
    synced stays, and (to be cancelled) those whose stay is no longer among them."""
    turnovers = Turnover.objects.select_for_update(of=("self",)).filter(property=prop)
    if around is None:
        turnovers = turnovers.filter(
            Q(starts_at__gte=local_moment(prop, horizon, prop.check_out_time))
            | Q(booking__in=stays)
        )
    else:
        turnovers = turnovers.filter(booking_id__in=[*(s.pk for s in stays), changed])
    return {
        t.booking_id: t
        for t in turnovers.select_related("cleaner", "booking", "property__business")
    }


def _slots(stays: list[Booking], after: Booking | None, timing: Timing) -> Iterator[_Slot]:
    for index, stay in enumerate(stays):
        following = stays[index + 1] if index + 1 < len(stays) else after
        starts_at = check_out_moment(stay)
        ends_at = check_in_moment(following) if following else None
        accept_by = (ends_at or starts_at + timedelta(days=1)) - timedelta(
            hours=timing.accept_deadline_hours
        )
        yield _Slot(stay, following, starts_at, ends_at, accept_by)


def _turnover_create(
    prop: Property, slot: _Slot, *, cleaner: Staff | None, timing: Timing, now: datetime
) -> None:
    turnover = Turnover.objects.create(
        business_id=prop.business_id,
        property=prop,
        booking=slot.stay,
        next_booking=slot.following,
        cleaner=cleaner,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        accept_by=slot.accept_by,
    )
    key_code_plan(turnover=turnover, valid_from=slot.stay.check_out, length=timing.key_code_length)
    cleaner_job_schedule(turnover=turnover, timing=timing, now=now)


def _turnover_update(
    turnover: Turnover,
    slot: _Slot,
    *,
    default_cleaner: Staff | None,
    has_messages: bool,
    timing: Timing,
    now: datetime,
) -> None:
    """Move an existing job to its slot. A change the cleaner should hear of gets a
    new revision (older links stop working) and, once they were told, an update."""
    prop = turnover.property
    changes = []
    if turnover.state == Turnover.State.CANCELLED:
        turnover.state = Turnover.State.PENDING
        KeyCode.objects.filter(turnover=turnover).update(retired_at=None)
        changes.append("This job is back on.")
    if turnover.starts_at != slot.starts_at:
        changes.append(
            f"Check-out moved from {_fmt(prop, turnover.starts_at)} to "
            f"{_fmt(prop, slot.starts_at)}."
        )
    if turnover.ends_at != slot.ends_at:
        changes.append(
            f"Next arrival is now {_fmt(prop, slot.ends_at)} (was {_fmt(prop, turnover.ends_at)})."
        )
    if turnover.cleaner is None and default_cleaner is not None:
        turnover.cleaner = default_cleaner
    following_id = slot.following.pk if slot.following else None
    if not changes and turnover.next_booking_id == following_id:
        if turnover.cleaner_id and not has_messages:
            turnover.save(update_fields=["cleaner", "updated_at"])
            cleaner_job_schedule(turnover=turnover, timing=timing, now=now)
        return
    told = cleaner_was_told(turnover=turnover)
    turnover.starts_at = slot.starts_at
    turnover.ends_at = slot.ends_at
    turnover.accept_by = slot.accept_by
    turnover.next_booking = slot.following
    if changes:
        turnover.revision += 1
        turnover.owner_alerted_at = None
    turnover.save()
    KeyCode.objects.filter(turnover=turnover).update(valid_from=slot.stay.check_out)
    if told and changes:
        cleaner_update_schedule(turnover=turnover, changes=" ".join(changes), now=now)
    else:
        cleaner_job_schedule(turnover=turnover, timing=timing, now=now)


def _turnover_cancel(turnover: Turnover, now: datetime) -> None:
    told = cleaner_was_told(turnover=turnover)
    turnover.state = Turnover.State.CANCELLED
    turnover.revision += 1
    turnover.save(update_fields=["state", "revision", "updated_at"])
    KeyCode.objects.filter(turnover=turnover, retired_at__isnull=True).update(retired_at=now)
    messages_cancel_pending(
        job_messages(turnover=turnover).filter(kind=Kind.CLEANER_JOB),
        reason="The cleaning job was cancelled.",
    )
    if told:
        cleaner_update_schedule(
            turnover=turnover,
            changes="This job is cancelled because the stay was cancelled. "
            "Do not change the key-box code.",
            now=now,
        )


def _fmt(prop: Property, moment: datetime | None) -> str:
    if moment is None:
        return "no next arrival"
    local = moment.astimezone(prop.tz)
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"


def turnovers_alert_unaccepted(*, now: datetime | None = None, batch: int = 500) -> int:
    """Owners hear about jobs nobody accepted by the deadline (once per job revision)."""
    now = now or timezone.now()
    count = 0
    with transaction.atomic():
        due = list(
            Turnover.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=Turnover.State.PENDING, accept_by__lte=now, owner_alerted_at__isnull=True)
            .filter(
                Q(ends_at__gt=now) | Q(ends_at__isnull=True, starts_at__gt=now - timedelta(days=1))
            )
            .select_related("property__business", "cleaner")[:batch]
        )
        for turnover in due:
            who = turnover.cleaner.name if turnover.cleaner else "no cleaner assigned"
            owner_notice_schedule(
                business=turnover.property.business,
                kind=Kind.OWNER_UNACCEPTED,
                key=f"turnover:{turnover.pk}:{turnover.revision}",
                now=now,
                turnover=turnover,
                context={
                    "summary": f"Not accepted by the deadline ({who}); next arrival "
                    f"{_fmt(turnover.property, turnover.ends_at)}."
                },
            )
            turnover.owner_alerted_at = now
            turnover.save(update_fields=["owner_alerted_at", "updated_at"])
            count += 1
        if count:
            outbox_kick()
    return count
