"""The cleaner of a job: their job email (the day before), their update email (at
once, when a job they were told of changes), and the owner putting another cleaner on
a job. Every such email renders the job's current times, key code and links when it
is sent, so only the fact that something changed needs scheduling.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from messaging.errors import NotFound
from messaging.models import KeyCode, Kind, ScheduledMessage, Staff, Turnover
from messaging.selectors import TOLD, Timing, local_moment, timing_for
from messaging.services.key_codes import arrivals_reconcile, key_code_replace
from messaging.services.outbox import (
    message_row,
    messages_cancel_pending,
    messages_upsert,
    outbox_kick,
)
from properties.db import lock_one
from properties.models import Property

State = ScheduledMessage.State
CLEANER_KINDS = (Kind.CLEANER_JOB, Kind.CLEANER_UPDATE)


def job_messages(*, turnover: Turnover) -> QuerySet[ScheduledMessage]:
    return ScheduledMessage.objects.filter(turnover=turnover)


def _told(turnover: Turnover, email: str) -> QuerySet[ScheduledMessage]:
    """The job's emails `email` may already have."""
    return (
        job_messages(turnover=turnover)
        .filter(kind__in=CLEANER_KINDS, recipient__iexact=email)
        .filter(TOLD)
    )


def cleaner_was_told(*, turnover: Turnover) -> bool:
    """Whether the job's current cleaner may already have an email about it."""
    cleaner = turnover.cleaner
    return cleaner is not None and _told(turnover, cleaner.email).exists()


def cleaner_job_row(
    *, turnover: Turnover, timing: Timing, now: datetime
) -> ScheduledMessage | None:
    """The job email to the job's cleaner (the day before), not saved; None without an
    active cleaner."""
    cleaner = turnover.cleaner
    if cleaner is None or not cleaner.active:
        return None
    prop = turnover.property
    day_before = turnover.starts_at.astimezone(prop.tz).date() - timedelta(days=1)
    return message_row(
        business_id=prop.business_id,
        kind=Kind.CLEANER_JOB,
        recipient=cleaner.email,
        recipient_name=cleaner.name,
        key=f"turnover:{turnover.pk}:{Kind.CLEANER_JOB}:{cleaner.email.lower()}",
        wanted_at=local_moment(prop, day_before, timing.cleaner_notice_time),
        expires_at=turnover.ends_at or turnover.starts_at + timedelta(days=1),
        now=now,
        prop=prop,
        turnover=turnover,
        timing=timing,
    )


def cleaner_job_schedule(*, turnover: Turnover, timing: Timing, now: datetime) -> None:
    row = cleaner_job_row(turnover=turnover, timing=timing, now=now)
    if row is not None:
        messages_upsert([row])


def cleaner_update_rows(
    updates: list[tuple[Turnover, str]], *, now: datetime, timing: Timing | None = None
) -> list[ScheduledMessage]:
    """Tell each job's cleaner at once what changed (one email per job revision; a
    pending older update is folded into it, and cancelled): the rows to upsert. Two
    statements for any number of jobs."""
    updates = [(t, changes) for t, changes in updates if t.cleaner is not None]
    if not updates:
        return []
    pending = ScheduledMessage.objects.filter(
        turnover_id__in=[t.pk for t, _ in updates],
        kind=Kind.CLEANER_UPDATE,
        state=State.SCHEDULED,
    ).order_by("id")
    earlier: dict[int, list[str]] = {}
    for row in pending:
        earlier.setdefault(row.turnover_id, []).append(str(row.context.get("changes", "")))  # type: ignore[arg-type]
    messages_cancel_pending(
        ScheduledMessage.objects.filter(
            turnover_id__in=[t.pk for t, _ in updates], kind=Kind.CLEANER_UPDATE
        ),
        reason="Replaced by a newer update.",
    )
    rows = []
    for turnover, changes in updates:
        cleaner = turnover.cleaner
        assert cleaner is not None
        before = " ".join(earlier.get(turnover.pk, []))
        rows.append(
            message_row(
                business_id=turnover.business_id,
                kind=Kind.CLEANER_UPDATE,
                recipient=cleaner.email,
                recipient_name=cleaner.name,
                key=f"turnover:{turnover.pk}:{Kind.CLEANER_UPDATE}:{cleaner.email.lower()}:{turnover.revision}",
                wanted_at=now,
                now=now,
                prop=turnover.property,
                turnover=turnover,
                context={"changes": (before + " " + changes).strip()},
                timing=timing,
            )
        )
    return rows


def cleaner_update_schedule(*, turnover: Turnover, changes: str, now: datetime) -> None:
    """Tell the job's cleaner at once what changed (see `cleaner_update_rows`)."""
    messages_upsert(cleaner_update_rows([(turnover, changes)], now=now))


def turnover_cleaner_assign(
    *, turnover: Turnover, cleaner: Staff | None, now: datetime | None = None
) -> Turnover:
    """The owner puts another cleaner (or nobody) on a job.

    The job gets a new revision, so the links in the previous cleaner's emails stop
    working, and an acceptance (theirs) no longer stands. Their unsent emails about it
    are cancelled. If they were told the job's key code, the code is replaced before
    anyone sets it: the new cleaner is told the new code, and a guest already told the
    old one (nothing confirmed yet) gets a correction. A job already done, or whose code
    was confirmed on the box, keeps its code."""
    now = now or timezone.now()
    if cleaner is not None and cleaner.business_id != turnover.business_id:
        raise NotFound("No such staff member.")
    with transaction.atomic():
        prop = lock_one(Property.objects.select_related("business"), pk=turnover.property_id)
        turnover = lock_one(Turnover.objects.select_related("booking"), pk=turnover.pk)
        turnover.property = prop
        if turnover.cleaner_id == (cleaner.pk if cleaner else None):
            return turnover
        turnover.cleaner = cleaner
        turnover.revision += 1
        if turnover.state == Turnover.State.ACCEPTED:
            turnover.state = Turnover.State.PENDING
            turnover.accepted_at = None
        turnover.save()
        keep = cleaner.email if cleaner else ""
        messages_cancel_pending(
            job_messages(turnover=turnover)
            .filter(kind__in=CLEANER_KINDS)
            .exclude(recipient__iexact=keep),
            reason="Another cleaner was assigned.",
        )
        if turnover.state == Turnover.State.CANCELLED:
            return turnover
        if turnover.state != Turnover.State.DONE and _code_known_to_others(
            turnover, keep=keep, now=now
        ):
            key_code_replace(turnover=turnover, now=now)
            arrivals_reconcile(prop=prop, now=now)
        if cleaner is not None:
            _assigned_cleaner_tell(turnover, now)
        outbox_kick()
    return turnover


def _code_known_to_others(turnover: Turnover, *, keep: str, now: datetime) -> bool:
    """Whether someone other than `keep` was told the job's current code, which is not
    on the box yet, while the next guest may still need it."""
    if turnover.ends_at is not None and turnover.ends_at <= now:
        return False
    key = KeyCode.objects.filter(turnover=turnover).first()
    if key is None or key.confirmed_at is not None:
        return False  # confirmed: it is on the box, and guests are sent it
    return (
        job_messages(turnover=turnover)
        .filter(kind__in=CLEANER_KINDS, context__key_code=key.code)
        .filter(TOLD)
        .exclude(recipient__iexact=keep)
        .exists()
    )


def _assigned_cleaner_tell(turnover: Turnover, now: datetime) -> None:
    """The job email, or an update at once when this cleaner's job email for it went
    out (or was cancelled) before: they had the job earlier and hold outdated links."""
    assert turnover.cleaner is not None
    earlier = job_messages(turnover=turnover).filter(
        kind=Kind.CLEANER_JOB, recipient__iexact=turnover.cleaner.email
    )
    if earlier.exclude(state__in=[State.SCHEDULED, State.SKIPPED]).exists():
        cleaner_update_schedule(turnover=turnover, changes="This job is assigned to you.", now=now)
    else:
        cleaner_job_schedule(turnover=turnover, timing=timing_for(turnover.property), now=now)
