"""What staff do through the signed links in their emails, without an account: accept
a job, mark it done saying whether they set the key box to the job's code, report a
problem (messaging.links, messaging.views).

A link names one revision of one job. A job that changed since the email (its dates,
a cancellation, another cleaner) has a newer revision, and the older links are refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from messaging.errors import (
    JobClosed,
    KeyCodeAlreadyConfirmed,
    LinkOutdated,
    NotFound,
    ProblemAlreadyReported,
)
from messaging.models import KeyCode, KeyCodeConfirmation, Kind, ScheduledMessage, Turnover
from messaging.services.key_box import code_not_set_alert, key_code_confirm
from messaging.services.key_codes import arrivals_reconcile
from messaging.services.outbox import outbox_kick
from messaging.services.stay_messages import owner_notice_schedule
from properties.db import lock_one
from properties.models import Property

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


def _job_under_property_lock(turnover_id: int, revision: int) -> Turnover:
    """The job, locked after its property: key-code work takes the property's lock
    first everywhere (calendar writes, reassigning a cleaner), so this queues behind
    them instead of deadlocking with them."""
    property_id = (
        Turnover.objects.filter(pk=turnover_id).values_list("property_id", flat=True).first()
    )
    if property_id is None:
        raise NotFound("This job no longer exists.")
    lock_one(Property.objects.all(), pk=property_id)
    return _turnover_for_action(turnover_id, revision)


def _mark_done(turnover: Turnover, now: datetime) -> None:
    if turnover.state != Turnover.State.DONE:
        turnover.accepted_at = turnover.accepted_at or now
        turnover.state = Turnover.State.DONE
        turnover.done_at = now
        turnover.save(update_fields=["state", "accepted_at", "done_at", "updated_at"])


def turnover_done_code_set(
    *, turnover_id: int, revision: int, code: str, now: datetime | None = None
) -> Turnover:
    """The cleaner finished and set the key box to the job's code ("I set it"): the job
    is done and the code is confirmed on the box, by them. `code` is the code their page
    showed; a job whose code changed since refuses it."""
    now = now or timezone.now()
    with transaction.atomic():
        turnover = _job_under_property_lock(turnover_id, revision)
        _mark_done(turnover, now)
        key_code_confirm(
            property=turnover.property,
            code=code,
            by=turnover.cleaner,
            source=KeyCodeConfirmation.Source.CLEANER,
            turnover=turnover,
            now=now,
        )
        turnover.refresh_from_db()
    return turnover


def turnover_done_code_not_set(
    *, turnover_id: int, revision: int, now: datetime | None = None
) -> Turnover:
    """The cleaner finished but could not change the key box: the box keeps the code
    confirmed on it, which guests are sent; the owner is alerted at once."""
    now = now or timezone.now()
    with transaction.atomic():
        turnover = _job_under_property_lock(turnover_id, revision)
        key = KeyCode.objects.filter(turnover=turnover).first()
        if key is not None and key.confirmed_at is not None:
            raise KeyCodeAlreadyConfirmed(
                f"The box was already confirmed at {key.code}. If that is wrong, please "
                "tell the owner."
            )
        _mark_done(turnover, now)
        if turnover.code_outcome != Turnover.CodeOutcome.NOT_SET:
            turnover.code_outcome = Turnover.CodeOutcome.NOT_SET
            turnover.code_outcome_at = now
            turnover.save(update_fields=["code_outcome", "code_outcome_at", "updated_at"])
            code_not_set_alert(turnover=turnover, now=now)
        # A welcome waiting for this job's confirmation goes now, with the box's code.
        arrivals_reconcile(prop=turnover.property, now=now)
        outbox_kick()
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
