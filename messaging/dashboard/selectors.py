"""Reads behind messaging's parts of the owner dashboard. Each takes the business (or
objects already scoped to it) and answers in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Min, Q, QuerySet

from bookings.availability import free_runs
from bookings.models import Booking
from messaging.audience import audience_counts
from messaging.models import Broadcast, KeyCode, ScheduledMessage, Turnover
from properties.models import Business, Property
from properties.permissions import Scope

# A scheduled email this late, or one mid-send this long, is stuck: the dispatcher
# runs every few seconds, so something (workers, the provider) needs a look.
OVERDUE = timedelta(minutes=15)
# Failures older than this are history, not today's problem.
PROBLEM_WINDOW = timedelta(days=30)


def arrival_codes(bookings: list[Booking]) -> dict[int, KeyCode]:
    """The code on the box when each guest arrives (see messaging.selectors
    `code_for_arrival`), for many stays in one query."""
    if not bookings:
        return {}
    codes = list(
        KeyCode.objects.filter(
            property_id__in={b.property_id for b in bookings},
            retired_at__isnull=True,
            valid_from__lte=max(b.check_in for b in bookings),
        ).order_by("-valid_from", "-id")
    )
    found = {}
    for booking in bookings:
        code = next(
            (
                c
                for c in codes
                if c.property_id == booking.property_id and c.valid_from <= booking.check_in
            ),
            None,
        )
        if code is not None:
            found[booking.pk] = code
    return found


def turnovers_before(bookings: list[Booking]) -> dict[int, Turnover]:
    """The cleaning job that readies the property for each stay, by stay id."""
    rows = (
        Turnover.objects.filter(next_booking_id__in=[b.pk for b in bookings])
        .exclude(state=Turnover.State.CANCELLED)
        .select_related("cleaner")
    )
    return {t.next_booking_id: t for t in rows if t.next_booking_id is not None}


def _local_day(business: Business, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=business.tz)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=business.tz)


def turnovers_on(*, business: Business, day: date, scope: Scope | None = None) -> list[Turnover]:
    """Cleaning jobs starting on `day` (the business's local day), cancelled ones aside."""
    start, end = _local_day(business, day)
    qs: QuerySet[Turnover] = Turnover.objects.filter(
        business=business, starts_at__gte=start, starts_at__lt=end
    )
    if scope is not None:
        qs = scope.apply(qs)
    return list(
        qs.exclude(state=Turnover.State.CANCELLED)
        .select_related("property__business", "cleaner", "booking", "next_booking", "key_code")
        .order_by("starts_at", "property__name")
    )


def _scoped_messages(business: Business, scope: Scope | None) -> QuerySet[ScheduledMessage]:
    qs = ScheduledMessage.objects.filter(business=business)
    if scope is None:
        return qs
    return scope.apply_any(qs, "booking__property", "turnover__property")


def messages_in_trouble(
    *, business: Business, now: datetime, limit: int = 5, scope: Scope | None = None
) -> tuple[list[ScheduledMessage], int]:
    """Emails that failed, need a person to decide, or are stuck, newest first."""
    qs = (
        _scoped_messages(business, scope)
        .filter(send_at__gte=now - PROBLEM_WINDOW)
        .filter(
            Q(state=ScheduledMessage.State.FAILED)
            | Q(needs_review=True)
            | Q(state=ScheduledMessage.State.SCHEDULED, send_at__lt=now - OVERDUE)
            | Q(state=ScheduledMessage.State.SENDING, sending_at__lt=now - OVERDUE)
        )
    )
    rows = list(qs.select_related("booking").order_by("-send_at")[:limit])
    total = len(rows) if len(rows) < limit else qs.count()
    return rows, total


def booking_messages(booking: Booking) -> QuerySet[ScheduledMessage]:
    """Emails about one stay: to the guest, the owner, and the cleaner after it."""
    return (
        ScheduledMessage.objects.filter(business_id=booking.business_id)
        .filter(Q(booking=booking) | Q(turnover__booking=booking))
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
