"""What staff do through the signed links in their emails, without an account: accept
a job, mark it done, report a problem (messaging.links, messaging.views).

A link names one revision of one job. A job that changed since the email (its dates,
a cancellation, another cleaner) has a newer revision, and the older links are refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from messaging.errors import JobClosed, LinkOutdated, NotFound, ProblemAlreadyReported
from messaging.models import Kind, ScheduledMessage, Turnover
from messaging.services.outbox import outbox_kick
from messaging.services.stay_messages import owner_notice_schedule

# A problem report can be reworded for this long; the owner is emailed once per link.
PROBLEM_REPORT_WINDOW = timedelta(hours=1)


def _turnover_for_action(turnover_id: int, revision: int) -> Turnover:
    turnover = (
        Turnover.objects.select_for_update(of=("self",))
        .select_related("property__business", "cleaner")
        .filter(pk=turnover_id)
        .first()
    )
    if turnover is None:
        raise NotFound("This job no longer exists.")
    if turnover.state == Turnover.State.CANCELLED:
        raise JobClosed("This job was cancelled. Nothing to do.")
    if turnover.revision != revision:
        raise LinkOutdated(
            "This job changed after that email was sent. Please use the newest email."
        )
    return turnover


def turnover_accept(*, turnover_id: int, revision: int, now: datetime | None = None) -> Turnover:
    now = now or timezone.now()
    with transaction.atomic():
        turnover = _turnover_for_action(turnover_id, revision)
        if turnover.state == Turnover.State.PENDING:
            turnover.state = Turnover.State.ACCEPTED
            turnover.accepted_at = now
            turnover.save(update_fields=["state", "accepted_at", "updated_at"])
    return turnover


def turnover_done(*, turnover_id: int, revision: int, now: datetime | None = None) -> Turnover:
    now = now or timezone.now()
    with transaction.atomic():
        turnover = _turnover_for_action(turnover_id, revision)
        if turnover.state != Turnover.State.DONE:
            turnover.accepted_at = turnover.accepted_at or now
            turnover.state = Turnover.State.DONE
            turnover.done_at = now
            turnover.save(update_fields=["state", "accepted_at", "done_at", "updated_at"])
    return turnover


def turnover_report_problem(
    *, turnover_id: int, revision: int, note: str, now: datetime | None = None
) -> Turnover:
    """Record a staff member's problem with a job and email the owner, once per link
    revision: a link must not be able to flood the owner, nor use up the platform's
    shared email rate. For PROBLEM_REPORT_WINDOW after the report, posting again
    rewords it (the job shows the new words, and so does the owner's email if it has
    not gone out yet); after that the link reports nothing more."""
    now = now or timezone.now()
    note = note.strip()[:4000]
    with transaction.atomic():
        # The job's row lock makes a second post wait for the first one's report.
        turnover = _turnover_for_action(turnover_id, revision)
        key = f"turnover:{turnover.pk}:rev{turnover.revision}"
        report = (
            ScheduledMessage.objects.select_for_update(of=("self",))
            .filter(turnover=turnover, kind=Kind.OWNER_PROBLEM, key__startswith=f"{key}:")
            .order_by("id")
            .first()
        )
        if report is not None and now >= report.created_at + PROBLEM_REPORT_WINDOW:
            local = report.created_at.astimezone(turnover.property.tz)
            business = turnover.property.business
            raise ProblemAlreadyReported(
                f"A problem with this job was already reported on {local:%-d %b at %H:%M}. "
                f"For anything new, please contact {business.name} directly"
                + (f" ({business.contact_email})." if business.contact_email else ".")
            )
        turnover.state = Turnover.State.PROBLEM
        turnover.problem = note
        turnover.save(update_fields=["state", "problem", "updated_at"])
        if report is None:
            owner_notice_schedule(
                business=turnover.property.business,
                kind=Kind.OWNER_PROBLEM,
                key=key,
                now=now,
                turnover=turnover,
                context={"problem": note},
            )
            outbox_kick()
        elif report.state == ScheduledMessage.State.SCHEDULED:
            report.context = {**report.context, "problem": note}
            report.save(update_fields=["context", "updated_at"])
    return turnover
