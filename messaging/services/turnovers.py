"""Cleaning jobs (turnovers): one per confirmed stay's check-out, until the next
arrival, each with its own key code, kept in step with the calendar; and the owner's
alert when nobody accepted a job in time. The cleaner's emails and reassigning a job
are `messaging.services.cleaners`.

Syncing runs inside the booking service's transaction, under the property's row lock,
which serialises turnover and key-code work per property.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Case, DateField, Exists, OuterRef, Q, Value, When
from django.utils import timezone
from psycopg.types.range import Range

from bookings.models import Booking
from messaging.models import KeyCode, Kind, ScheduledMessage, Staff, Turnover
from messaging.selectors import (
    TOLD,
    Timing,
    check_in_moment,
    check_out_moment,
    local_moment,
    timing_for,
)
from messaging.services.cleaners import (
    CLEANER_KINDS,
    cleaner_job_row,
    cleaner_update_rows,
    cleaner_was_told,
)
from messaging.services.key_codes import key_codes_in_use, key_codes_plan, key_codes_prune
from messaging.services.outbox import messages_cancel_pending, messages_upsert, outbox_kick
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


# What a sync may change on a job (written for all changed jobs in one statement).
_SYNCED_FIELDS = [
    "state",
    "cleaner",
    "starts_at",
    "ends_at",
    "accept_by",
    "next_booking",
    "revision",
    "owner_alerted_at",
    "updated_at",
]


@dataclass
class _Plan:
    """What one sync writes, gathered so that each kind of write is one statement."""

    now: datetime
    timing: Timing
    created: list[Turnover] = field(default_factory=list)
    changed: dict[int, Turnover] = field(default_factory=dict)
    valid_from: dict[int, date] = field(default_factory=dict)  # job id -> its code's day
    revived: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    jobs_to_tell: list[Turnover] = field(default_factory=list)
    updates: list[tuple[Turnover, str]] = field(default_factory=list)


def turnovers_sync(
    *,
    prop: Property,
    now: datetime,
    around: tuple[date, date] | None = None,
    changed: int | None = None,
    timing: Timing | None = None,
) -> None:
    """Make the property's turnovers match its confirmed stays: one job per stay's
    check-out, until the next arrival; each new job gets a new key code.

    With `around` (the span of a changed booking's old and new dates, `changed` its
    id) only the jobs that change can differ are synced: the stays in that span and
    the one just before it, whose next arrival may have moved; the first stay after
    the span is read as the last one's next arrival. Without it, every future job.

    Set-based: however many jobs the span holds, the stays are one read, the jobs one
    locked read (with whether each has messages and whether its cleaner was told), and
    new jobs, their codes, changed jobs, their codes' days, cancellations and the
    cleaners' emails one statement each."""
    timing = timing or timing_for(prop)
    today = now.astimezone(prop.tz).date()
    horizon = today - timedelta(days=2)
    taken = key_codes_in_use(prop=prop, timing=timing)
    stays, after = _stays_to_sync(prop, horizon=horizon, around=around)
    existing = _lock_turnovers(prop, stays, horizon=horizon, around=around, changed=changed)
    default_cleaner = _DefaultCleaner(timing)
    plan = _Plan(now=now, timing=timing)
    for slot in _slots(stays, after, timing):
        turnover = existing.pop(slot.stay.pk, None)
        if turnover is None:
            plan.created.append(_turnover_new(prop, slot, cleaner=default_cleaner.get()))
        else:
            _turnover_update(turnover, slot, default_cleaner=default_cleaner, plan=plan)
    for turnover in existing.values():
        if turnover.state != Turnover.State.CANCELLED and (
            turnover.booking.status != Booking.Status.CONFIRMED
        ):
            _turnover_cancel(turnover, plan)
    _plan_write(prop, plan, taken)
    key_codes_prune(prop=prop, now=now)


class _DefaultCleaner:
    """The property's default cleaner, read once and only if a job needs it."""

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.read = False
        self.cleaner: Staff | None = None

    def get(self) -> Staff | None:
        if not self.read and self.timing.default_cleaner_id:
            self.cleaner = Staff.objects.filter(
                pk=self.timing.default_cleaner_id, active=True
            ).first()
        self.read = True
        return self.cleaner


def _stays_to_sync(
    prop: Property, *, horizon: date, around: tuple[date, date] | None
) -> tuple[list[Booking], Booking | None]:
    """The confirmed stays whose jobs are synced, in order, and the stay after them
    (read only as the last one's next arrival; None when all future stays are synced).
    One read either way."""
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
        # The stay before the span, those in it and the one after it, in one statement.
        before = confirmed.filter(stay__endswith__lte=start).order_by("-stay")[:1]
        inside = confirmed.filter(stay__overlap=Range(start, end, "[)")).order_by("stay")
        later = confirmed.filter(stay__startswith__gte=end).order_by("stay")[:1]
        found = list(
            before.annotate(part=Value(0)).union(
                inside.annotate(part=Value(1)), later.annotate(part=Value(2)), all=True
            )
        )
        found.sort(key=lambda b: (b.part, b.check_in))
        stays = [b for b in found if b.part < 2]
        after = next((b for b in found if b.part == 2), None)
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
    synced stays, and (to be cancelled) those whose stay is no longer among them. Each
    comes with `has_messages` and `cleaner_told` (its cleaner may have an email about
    it), so that nothing is asked per job."""
    turnovers = Turnover.objects.select_for_update(of=("self",)).filter(property=prop)
    if around is None:
        turnovers = turnovers.filter(
            Q(starts_at__gte=local_moment(prop, horizon, prop.check_out_time))
            | Q(booking__in=stays)
        )
    else:
        turnovers = turnovers.filter(booking_id__in=[*(s.pk for s in stays), changed])
    job_messages = ScheduledMessage.objects.filter(turnover_id=OuterRef("pk"))
    found = turnovers.select_related("cleaner", "booking").annotate(
        has_messages=Exists(job_messages),
        cleaner_told=Exists(
            job_messages.filter(
                kind__in=CLEANER_KINDS, recipient__iexact=OuterRef("cleaner__email")
            ).filter(TOLD)
        ),
    )
    result: dict[int, Turnover] = {}
    for turnover in found:
        turnover.property = prop
        result[turnover.booking_id] = turnover
    return result


def _slots(stays: list[Booking], after: Booking | None, timing: Timing) -> Iterator[_Slot]:
    for index, stay in enumerate(stays):
        following = stays[index + 1] if index + 1 < len(stays) else after
        starts_at = check_out_moment(stay)
        ends_at = check_in_moment(following) if following else None
        accept_by = (ends_at or starts_at + timedelta(days=1)) - timedelta(
            hours=timing.accept_deadline_hours
        )
        yield _Slot(stay, following, starts_at, ends_at, accept_by)


def _turnover_new(prop: Property, slot: _Slot, *, cleaner: Staff | None) -> Turnover:
    return Turnover(
        business_id=prop.business_id,
        property=prop,
        booking=slot.stay,
        next_booking=slot.following,
        cleaner=cleaner,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        accept_by=slot.accept_by,
    )


def _turnover_update(
    turnover: Turnover, slot: _Slot, *, default_cleaner: _DefaultCleaner, plan: _Plan
) -> None:
    """Move an existing job to its slot. A change the cleaner should hear of gets a
    new revision (older links stop working) and, once they were told, an update."""
    prop = turnover.property
    changes = []
    if turnover.state == Turnover.State.CANCELLED:
        turnover.state = Turnover.State.PENDING
        plan.revived.append(turnover.pk)
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
    told = turnover.cleaner_told  # type: ignore[attr-defined]
    if turnover.cleaner is None:
        cleaner = default_cleaner.get()
        if cleaner is not None:
            turnover.cleaner = cleaner
            # The default cleaner may have had this job before (rare): ask about them.
            told = changes and cleaner_was_told(turnover=turnover)
    following_id = slot.following.pk if slot.following else None
    if not changes and turnover.next_booking_id == following_id:
        if turnover.cleaner_id and not turnover.has_messages:  # type: ignore[attr-defined]
            plan.changed[turnover.pk] = turnover
            plan.jobs_to_tell.append(turnover)
        return
    if turnover.starts_at != slot.starts_at or turnover.pk in plan.revived:
        # The job's code is on the box from the stay's check-out day.
        plan.valid_from[turnover.pk] = slot.stay.check_out
    turnover.starts_at = slot.starts_at
    turnover.ends_at = slot.ends_at
    turnover.accept_by = slot.accept_by
    turnover.next_booking = slot.following
    if changes:
        turnover.revision += 1
        turnover.owner_alerted_at = None
    plan.changed[turnover.pk] = turnover
    if told and changes:
        plan.updates.append((turnover, " ".join(changes)))
    else:
        plan.jobs_to_tell.append(turnover)


def _turnover_cancel(turnover: Turnover, plan: _Plan) -> None:
    turnover.state = Turnover.State.CANCELLED
    turnover.revision += 1
    plan.changed[turnover.pk] = turnover
    plan.cancelled.append(turnover.pk)
    if turnover.cleaner_told:  # type: ignore[attr-defined]
        plan.updates.append(
            (
                turnover,
                "This job is cancelled because the stay was cancelled. "
                "Do not change the key-box code.",
            )
        )


def _plan_write(prop: Property, plan: _Plan, taken: set[str]) -> None:
    """Each kind of write of a sync in one statement (none when there is nothing of
    that kind)."""
    now, timing = plan.now, plan.timing
    if plan.created:
        Turnover.objects.bulk_create(plan.created)
        key_codes_plan(
            jobs=[(t, t.booking.check_out) for t in plan.created],
            length=timing.key_code_length,
            taken=taken,
        )
    if plan.changed:
        stamp = timezone.now()
        for turnover in plan.changed.values():
            turnover.updated_at = stamp
        Turnover.objects.bulk_update(list(plan.changed.values()), _SYNCED_FIELDS)
    if plan.valid_from:
        KeyCode.objects.filter(turnover_id__in=list(plan.valid_from)).update(
            valid_from=Case(
                *(When(turnover_id=pk, then=Value(day)) for pk, day in plan.valid_from.items()),
                output_field=DateField(),
            )
        )
    if plan.revived:
        KeyCode.objects.filter(turnover_id__in=plan.revived).update(retired_at=None)
    if plan.cancelled:
        KeyCode.objects.filter(turnover_id__in=plan.cancelled, retired_at__isnull=True).update(
            retired_at=now
        )
        messages_cancel_pending(
            ScheduledMessage.objects.filter(turnover_id__in=plan.cancelled, kind=Kind.CLEANER_JOB),
            reason="The cleaning job was cancelled.",
        )
    rows = [
        row
        for turnover in (*plan.created, *plan.jobs_to_tell)
        if (row := cleaner_job_row(turnover=turnover, timing=timing, now=now)) is not None
    ]
    rows += cleaner_update_rows(plan.updates, now=now, timing=timing)
    messages_upsert(rows)


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
