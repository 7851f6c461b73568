"""Reads behind messaging's parts of the owner dashboard. Each takes the business (or
objects already scoped to it) and answers in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Min, Q, QuerySet, Subquery

from bookings.availability import free_runs
from bookings.models import Booking
from messaging.audience import audience_counts
from messaging.models import Broadcast, KeyCode, ScheduledMessage, Staff, Turnover
from messaging.selectors import staff_in_scope
from properties.dashboard.reads import raw_first_with_total, scope_sql, sql_rows
from properties.models import Business, Property
from properties.permissions import Scope

# A scheduled email this late, or one mid-send this long, is stuck: the dispatcher
# runs every few seconds, so something (workers, the provider) needs a look.
OVERDUE = timedelta(minutes=15)
# Failures older than this are history, not today's problem.
PROBLEM_WINDOW = timedelta(days=30)


def arrival_codes(bookings: list[Booking]) -> dict[int, KeyCode]:
    """The code each guest is sent now (messaging.selectors `code_for_arrival`): the
    code confirmed on the property's box, else, before anything was confirmed there,
    the code planned for their arrival. A guest who arrived already keeps the code
    planned for their arrival (the box may have moved on since). One query for many
    stays (two when the stays come without their properties)."""
    if not bookings:
        return {}
    property_ids = {b.property_id for b in bookings}
    today = _local_todays(bookings)
    # The planned codes and the codes on the boxes in one statement, of the columns
    # used here (properties.dashboard.reads on why in SQL).
    sql = """
        SELECT k.id, k.property_id, k.code, k.valid_from, k.retired_at, k.confirmed_at,
               x.id IS NOT NULL AS on_box
        FROM messaging_keycode k
        LEFT JOIN messaging_keybox x ON x.key_code_id = k.id
        WHERE k.property_id = ANY(%(properties)s::bigint[])
          AND ((k.retired_at IS NULL AND k.valid_from <= %(latest)s) OR x.id IS NOT NULL)
        ORDER BY k.valid_from DESC, k.id DESC"""
    latest = max(b.check_in for b in bookings)
    # Each row also says `on_box`.
    rows: list[Any] = list(
        KeyCode.objects.raw(sql, {"properties": sorted(property_ids), "latest": latest})
    )
    boxes = {c.property_id: c for c in rows if c.on_box}
    planned: dict[int, list[KeyCode]] = {}  # per property, newest first
    for c in rows:
        if c.retired_at is None and c.valid_from <= latest:
            planned.setdefault(c.property_id, []).append(c)
    found: dict[int, KeyCode] = {}
    for booking in bookings:
        code = next(
            (c for c in planned.get(booking.property_id, ()) if c.valid_from <= booking.check_in),
            None,
        )
        if booking.check_in >= today[booking.property_id]:
            code = boxes.get(booking.property_id) or code
        if code is not None:
            found[booking.pk] = code
    return found


def _local_todays(bookings: list[Booking]) -> dict[int, date]:
    """Today where each booking's property is: from the properties the bookings carry
    already (Today's stays come with theirs), else read in one query."""
    today: dict[int, date] = {}
    for booking in bookings:
        if Booking.property.is_cached(booking):
            prop = booking.property
            if prop.timezone or Property.business.is_cached(prop):
                today[prop.pk] = prop.local_today()
    missing = {b.property_id for b in bookings} - today.keys()
    if missing:
        today.update(
            (p.pk, p.local_today())
            for p in Property.objects.filter(pk__in=missing).select_related("business")
        )
    return today


def turnovers_before(bookings: list[Booking]) -> dict[int, Turnover]:
    """The cleaning job that readies the property for each stay, by stay id: its state
    and whether it has a cleaner (properties.dashboard.reads on why in SQL)."""
    if not bookings:
        return {}
    sql = """
        SELECT t.id, t.next_booking_id, t.cleaner_id, t.state
        FROM messaging_turnover t
        WHERE t.next_booking_id = ANY(%(stays)s::bigint[]) AND t.state <> %(cancelled)s"""
    values = {"stays": [b.pk for b in bookings], "cancelled": Turnover.State.CANCELLED}
    jobs = list(Turnover.objects.raw(sql, values))
    return {t.next_booking_id: t for t in jobs if t.next_booking_id is not None}


def _local_day(business: Business, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=business.tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=business.tz)


def turnovers_on(
    *, business: Business, day: date, scope: Scope | None = None
) -> list[dict[str, Any]]:
    """Today's cleaning jobs: those starting on `day` (the business's local day),
    cancelled ones aside, by start and property, each a dict of what the panel shows:
    `starts_at`, `ends_at`, `next_booking_id`, `state`, `cleaner_id`, `cleaner_name`,
    `property_name`, `timezone` (the property's, else the business's), `reference`
    (the stay before), `code` and `code_retired_at` (the code the cleaner sets, if
    any). One statement (properties.dashboard.reads on why in SQL)."""
    start, end = _local_day(business, day)
    in_scope, params = scope_sql(scope, "p.group_id")
    sql = f"""
        SELECT t.id, t.starts_at, t.ends_at, t.next_booking_id, t.state, t.cleaner_id,
               s.name AS cleaner_name, p.name AS property_name,
               COALESCE(NULLIF(p.timezone, ''), %(timezone)s) AS timezone,
               b.reference, k.code, k.retired_at AS code_retired_at
        FROM messaging_turnover t
        JOIN properties_property p ON p.id = t.property_id
        JOIN bookings_booking b ON b.id = t.booking_id
        LEFT JOIN messaging_staff s ON s.id = t.cleaner_id
        LEFT JOIN messaging_keycode k ON k.turnover_id = t.id
        WHERE t.business_id = %(business)s::bigint AND t.starts_at >= %(start)s
          AND t.starts_at < %(end)s AND t.state <> %(cancelled)s AND {in_scope}
        ORDER BY t.starts_at, p.name"""  # noqa: S608 (constant fragments; the values are parameters)
    values = {
        "business": business.pk,
        "timezone": business.timezone,
        "start": start,
        "end": end,
        "cancelled": Turnover.State.CANCELLED,
        **params,
    }
    return sql_rows(sql, values)


def _scoped_messages(business: Business, scope: Scope | None) -> QuerySet[ScheduledMessage]:
    qs = ScheduledMessage.objects.filter(business=business)
    if scope is None:
        return qs
    return scope.apply_any(qs, "booking__property", "turnover__property")


def messages_in_trouble(
    *, business: Business, now: datetime, limit: int = 5, scope: Scope | None = None
) -> tuple[list[Any], int]:
    """Emails of the last PROBLEM_WINDOW that failed, need a person to decide, or are
    stuck (scheduled, or mid-send, for longer than OVERDUE), newest first, with how
    many there are, for Today: only the columns its panel shows, and the stay's
    reference as `booking_reference` (properties.dashboard.reads on why in SQL). A
    member of some groups sees those about their properties' stays and cleaning jobs."""
    in_scope, params = scope_sql(scope, "bp.group_id", "tp.group_id")
    joins = (
        ""
        if in_scope == "TRUE"
        else """
        LEFT JOIN properties_property bp ON bp.id = b.property_id
        LEFT JOIN messaging_turnover t ON t.id = m.turnover_id
        LEFT JOIN properties_property tp ON tp.id = t.property_id"""
    )
    sql = f"""
        SELECT m.id, m.kind, m.state, m.needs_review, m.recipient, m.recipient_name,
               m.last_error, m.send_at, m.booking_id, b.reference AS booking_reference,
               COUNT(*) OVER () AS _total
        FROM messaging_scheduledmessage m
        LEFT JOIN bookings_booking b ON b.id = m.booking_id{joins}
        WHERE m.business_id = %(business)s::bigint AND m.send_at >= %(since)s
          AND (m.state = %(failed)s OR m.needs_review
               OR (m.state = %(scheduled)s AND m.send_at < %(overdue)s)
               OR (m.state = %(sending)s AND m.sending_at < %(overdue)s))
          AND {in_scope}
        ORDER BY m.send_at DESC
        LIMIT %(limit)s"""  # noqa: S608 (constant fragments; the values are parameters)
    values = {
        "business": business.pk,
        "since": now - PROBLEM_WINDOW,
        "overdue": now - OVERDUE,
        "failed": ScheduledMessage.State.FAILED,
        "scheduled": ScheduledMessage.State.SCHEDULED,
        "sending": ScheduledMessage.State.SENDING,
        **params,
    }
    return raw_first_with_total(ScheduledMessage, sql, values, limit)


def booking_messages(booking: Booking) -> QuerySet[ScheduledMessage]:
    """Emails about one stay: to the guest, the owner, and the cleaner after it."""
    # The stay's one cleaning job as a subquery rather than a join: PostgreSQL then
    # looks both up by index instead of reading every email of the business.
    after = Turnover.objects.filter(booking=booking).values("pk")[:1]
    return (
        ScheduledMessage.objects.filter(business_id=booking.business_id)
        .filter(Q(booking=booking) | Q(turnover=Subquery(after)))
        .order_by("send_at", "id")
    )


def booking_turnovers(booking: Booking) -> tuple[Turnover | None, Turnover | None]:
    """(the cleaning before this stay, the cleaning after it)."""
    rows = list(
        Turnover.objects.filter(business_id=booking.business_id)
        .filter(Q(next_booking=booking) | Q(booking=booking))
        .exclude(state=Turnover.State.CANCELLED)
        .select_related("cleaner", "key_code", "booking", "next_booking")
    )
    before = next((t for t in rows if t.next_booking_id == booking.pk), None)
    after = next((t for t in rows if t.booking_id == booking.pk), None)
    return before, after


def message_for_business(
    *, business: Business, message_id: int, scope: Scope | None = None
) -> ScheduledMessage | None:
    return _scoped_messages(business, scope).filter(pk=message_id).first()


# --- Broadcasts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """A run of free nights, and the broadcast that already offered some of it."""

    free_from: date
    free_until: date
    told: Broadcast | None

    @property
    def nights(self) -> int:
        return (self.free_until - self.free_from).days


@dataclass(frozen=True)
class PropertyGaps:
    property: Property
    audience: int  # past guests a broadcast would reach
    runs: list[Run]


def broadcast_gaps(*, business: Business, today: date, until: date) -> list[PropertyGaps]:
    """Each property's free runs of nights from today until `until` (see
    `bookings.availability.free_runs`), how many past guests could be told, and the
    latest broadcast that already offered nights of each run. Four queries."""
    properties = list(Property.objects.for_business(business).order_by("name", "id"))
    runs = free_runs(business=business, today=today, until=until)
    audience = audience_counts(business=business, today=today)
    told = list(
        Broadcast.objects.filter(business=business, free_until__gt=today, free_from__lt=until)
        .order_by("-created_at")
        .only("id", "property_id", "free_from", "free_until", "total", "created_at")
    )
    by_property: dict[int, list[Run]] = {p.pk: [] for p in properties}
    for run in runs:
        latest = next(
            (
                b
                for b in told
                if b.property_id == run.property_id
                and b.free_from < run.free_until
                and b.free_until > run.free_from
            ),
            None,
        )
        by_property[run.property_id].append(Run(run.free_from, run.free_until, latest))
    return [
        PropertyGaps(property=p, audience=audience.get(p.pk, 0), runs=by_property[p.pk])
        for p in properties
    ]


@dataclass(frozen=True)
class Progress:
    """Where a broadcast's emails are: waiting their turn (or the end of quiet hours),
    sent, failed for good, or not sent (skipped: too late, the dates were booked;
    cancelled: the guest unsubscribed)."""

    total: int
    queued: int
    sent: int
    failed: int
    skipped: int
    cancelled: int
    next_at: datetime | None  # when the next waiting email is due

    @property
    def done(self) -> bool:
        return self.queued == 0

    @property
    def finished(self) -> int:
        return self.total - self.queued

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "queued": self.queued,
            "sent": self.sent,
            "failed": self.failed,
            "skipped": self.skipped,
            "cancelled": self.cancelled,
            "done": self.done,
            "next_at": self.next_at.isoformat() if self.next_at else None,
        }


_STATE = ScheduledMessage.State


def broadcast_progress_counts(broadcast_ids: list[int]) -> dict[int, Progress]:
    """The progress of each broadcast by id, from its outbox rows. One query."""
    rows = (
        ScheduledMessage.objects.filter(broadcast_id__in=broadcast_ids)
        .values("broadcast_id")
        .annotate(
            total=Count("id"),
            queued=Count("id", filter=Q(state__in=(_STATE.SCHEDULED, _STATE.SENDING))),
            sent=Count("id", filter=Q(state=_STATE.SENT)),
            failed=Count("id", filter=Q(state=_STATE.FAILED)),
            skipped=Count("id", filter=Q(state=_STATE.SKIPPED)),
            cancelled=Count("id", filter=Q(state=_STATE.CANCELLED)),
            next_at=Min("send_at", filter=Q(state=_STATE.SCHEDULED)),
        )
        .order_by()
    )
    found = {
        row["broadcast_id"]: Progress(
            total=row["total"],
            queued=row["queued"],
            sent=row["sent"],
            failed=row["failed"],
            skipped=row["skipped"],
            cancelled=row["cancelled"],
            next_at=row["next_at"],
        )
        for row in rows
    }
    empty = Progress(0, 0, 0, 0, 0, 0, None)
    return {pk: found.get(pk, empty) for pk in broadcast_ids}


def broadcast_for_business(*, business: Business, broadcast_id: int) -> Broadcast | None:
    return (
        Broadcast.objects.filter(business=business, pk=broadcast_id)
        .select_related("property")
        .first()
    )


def recent_broadcasts(*, business: Business, limit: int = 10) -> list[tuple[Broadcast, Progress]]:
    """The latest broadcasts with their progress. Two queries."""
    broadcasts = list(
        Broadcast.objects.filter(business=business)
        .select_related("property")
        .order_by("-created_at", "-id")[:limit]
    )
    progress = broadcast_progress_counts([b.pk for b in broadcasts])
    return [(b, progress[b.pk]) for b in broadcasts]


def broadcast_failures(*, broadcast: Broadcast, limit: int = 5) -> list[ScheduledMessage]:
    return list(
        ScheduledMessage.objects.filter(broadcast=broadcast, state=_STATE.FAILED).order_by(
            "-updated_at"
        )[:limit]
    )


# --- Staff and key codes ------------------------------------------------------------------

# A problem a cleaner reported stays on the staff page this long after the job began.
PROBLEMS_SHOWN_FOR = timedelta(days=30)


@dataclass(frozen=True)
class StaffJobs:
    """One staff member's cleaning jobs from today on (and problems they reported
    lately); `staff` None gathers the jobs nobody is assigned to."""

    staff: Staff | None
    jobs: list[Turnover]

    def count(self, *states: str) -> int:
        return sum(1 for job in self.jobs if job.state in states)

    @property
    def waiting(self) -> int:
        return self.count(Turnover.State.PENDING)

    @property
    def accepted(self) -> int:
        return self.count(Turnover.State.ACCEPTED)

    @property
    def done(self) -> int:
        return self.count(Turnover.State.DONE)

    @property
    def problems(self) -> list[Turnover]:
        return [
            job
            for job in self.jobs
            if job.state == Turnover.State.PROBLEM
            or job.code_outcome == Turnover.CodeOutcome.NOT_SET
        ]


def staff_jobs(
    *, business: Business, now: datetime, days: int = 30, scope: Scope | None = None
) -> list[StaffJobs]:
    """Each active staff member (cleaners first, then repairs and others, by name) with
    their jobs starting from the business's today until `days` ahead, and jobs of the
    last PROBLEMS_SHOWN_FOR with a problem; then the jobs without a cleaner. Two
    queries, whatever the number of staff and jobs."""
    start, _ = _local_day(business, now.astimezone(business.tz).date())
    problem = Q(state=Turnover.State.PROBLEM) | Q(code_outcome=Turnover.CodeOutcome.NOT_SET)
    turnovers: QuerySet[Turnover] = Turnover.objects.filter(business=business)
    if scope is not None:
        turnovers = scope.apply(turnovers)
    jobs = list(
        turnovers.filter(starts_at__lt=now + timedelta(days=days))
        .filter(Q(starts_at__gte=start) | problem & Q(starts_at__gte=now - PROBLEMS_SHOWN_FOR))
        .exclude(state=Turnover.State.CANCELLED)
        .select_related("property", "cleaner", "booking", "next_booking", "key_code")
        .order_by("starts_at", "id")
    )
    kinds = [k for k, _ in Staff.StaffKind.choices]
    members: QuerySet[Staff] = Staff.objects.filter(business=business, active=True)
    if scope is not None and not scope.whole_business:
        # A group's manager sees the people with jobs in their groups
        # and the cleaners of their properties.
        members = staff_in_scope(members, scope)
    staff = sorted(
        members,
        key=lambda s: (kinds.index(s.kind) if s.kind in kinds else len(kinds), s.name, s.pk),
    )
    # A job's cleaner who is no longer active still has the job until it is reassigned.
    known = {s.pk for s in staff}
    for job in jobs:
        if job.cleaner is not None and job.cleaner.pk not in known:
            known.add(job.cleaner.pk)
            staff.append(job.cleaner)
    rows = [StaffJobs(staff=s, jobs=[j for j in jobs if j.cleaner_id == s.pk]) for s in staff]
    unassigned = [j for j in jobs if j.cleaner_id is None]
    if unassigned:
        rows.append(StaffJobs(staff=None, jobs=unassigned))
    return rows


def property_for_business(*, business: Business, property_id: int) -> Property | None:
    return (
        Property.objects.filter(business=business, pk=property_id)
        .select_related("business")
        .first()
    )
