"""Sending one outbox row, at most once (docs/scheduling.md).

The order of the steps is the delivery guarantee:
1. wait for a slot of the global rate limit (nothing written yet);
2. lock the row and move it `scheduled -> sending` (committed) — only one task can;
3. hand the email to the provider, outside any transaction;
4. record `sent` with the provider's id.
A crash before 2 leaves the row `scheduled` (claimed again later); a crash between 2
and 4 leaves it `sending`, which `outbox_recover_stale` marks for review instead of
sending it again. A refusal the provider reports is retried with backoff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone

from bookings.models import Booking
from bookings.selectors import free_gaps
from messaging.models import (
    AUDIENCE,
    Audience,
    GuestOptOut,
    Kind,
    ScheduledMessage,
    SentEmail,
    Turnover,
)
from messaging.ratelimit import SendRateLimiter
from messaging.rendering import build_email, message_id_for
from messaging.selectors import (
    TOLD,
    arrival_details,
    planned_code_for_arrival,
    welcome_wait_until,
)
from messaging.services.key_box import welcome_unconfirmed_alert
from messaging.services.outbox import outbox_release

log = logging.getLogger(__name__)

State = ScheduledMessage.State

# Sources whose payment is collected outside Holidesk (the platform, or the owner).
PAID_ELSEWHERE = (
    Booking.Source.AIRBNB,
    Booking.Source.BOOKING,
    Booking.Source.VRBO,
    Booking.Source.ICAL,
    Booking.Source.OWNER,
    Booking.Source.API,
)
# How often a welcome held back by an amount due looks again whether it was paid.
PAYMENT_RECHECK = timedelta(minutes=15)


@dataclass(frozen=True)
class _Handover:
    """A row moved to `sending` (committed) and the email it is to send."""

    row: ScheduledMessage
    email: EmailMultiAlternatives


def outbox_send(
    *,
    message_id: int,
    now: datetime | None = None,
    limiter: SendRateLimiter | None = None,
) -> str:
    """Send one outbox row, at most once. Returns what happened (for logs and tests)."""
    if not _is_due(message_id, now or timezone.now()):
        return "not-due"
    limiter = limiter or SendRateLimiter.from_settings()
    granted_at = limiter.acquire(timeout=settings.MESSAGING_RATE_WAIT_SECONDS)
    if granted_at is None:
        outbox_release(message_ids=[message_id])
        return "rate-limited"
    handover = _start_sending(message_id, now=now or timezone.now(), granted_at=granted_at)
    if isinstance(handover, str):
        return handover
    try:
        backend = get_connection()
        backend.send_messages([handover.email])
    except Exception as exc:
        return _after_failure(message_id, exc)
    return _record_sent(handover, backend)


def _is_due(message_id: int, now: datetime) -> bool:
    """A cheap look before waiting for the rate limit (a duplicate task, a row
    cancelled or re-timed since it was claimed)."""
    found = list(
        ScheduledMessage.objects.filter(pk=message_id).order_by().values("state", "send_at")[:1]
    )
    return bool(found) and found[0]["state"] == State.SCHEDULED and found[0]["send_at"] <= now


def _start_sending(message_id: int, *, now: datetime, granted_at: datetime) -> _Handover | str:
    """Step 2: the row, moved to `sending` with the facts its email tells, and that
    email; or the outcome when it is not to be sent (taken, skipped, unrenderable)."""
    with transaction.atomic():
        # Lock only this row (a plain query: cheap to build, nothing else locked);
        # related rows are loaded lazily, only for the kinds that have them.
        rows = list(
            ScheduledMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("business")
            .filter(pk=message_id, state=State.SCHEDULED, send_at__lte=now)
            .order_by()[:1]
        )
        if not rows:
            return "taken"
        row = rows[0]
        reason = _skip_reason(row, now)
        if reason:
            row.state = State.SKIPPED
            row.last_error = reason
            row.save(update_fields=["state", "last_error", "updated_at"])
            return "skipped"
        if _wait_for_payment(row, now) or _wait_for_code(row, now):
            return "waiting"
        if not row.message_id:
            row.message_id = message_id_for(row)
        try:
            email, told = build_email(row, now=now)
        except Exception as exc:
            log.exception("Could not render message %s", row.pk)
            row.state = State.FAILED
            row.last_error = f"Could not render the email: {exc}"[:2000]
            row.save(update_fields=["state", "last_error", "message_id", "updated_at"])
            return "failed"
        row.state = State.SENDING
        row.attempts += 1
        row.sending_at = granted_at
        row.context = {**row.context, **told}
        row.save(
            update_fields=["state", "attempts", "sending_at", "context", "message_id", "updated_at"]
        )
        if row.kind == Kind.WELCOME and row.booking is not None:
            _alert_if_unconfirmed(row.booking, sent=str(told.get("key_code", "")), now=now)
    return _Handover(row=row, email=email)


def _wait_for_payment(row: ScheduledMessage, now: datetime) -> bool:
    """A welcome or key update of a stay with an amount due (its dates changed and the
    guest has not paid the difference yet) waits for the payment, looking again every
    `PAYMENT_RECHECK`, until it is paid or no longer useful (`expires_at`: skipped)."""
    booking = row.booking
    if row.kind not in (Kind.WELCOME, Kind.KEY_UPDATE) or booking is None or _paid(booking):
        return False
    row.send_at = now + PAYMENT_RECHECK
    row.claimed_until = None
    row.last_error = "Waiting for the amount due: the key code goes once the stay is paid."
    row.save(update_fields=["send_at", "claimed_until", "last_error", "updated_at"])
    return True


def _wait_for_code(row: ScheduledMessage, now: datetime) -> bool:
    """A welcome whose arrival's new code cannot be confirmed yet waits for it (see
    `welcome_wait_until`); a confirmation re-times it (`welcomes_release`)."""
    if row.kind != Kind.WELCOME or row.booking is None:
        return False
    until = welcome_wait_until(row.booking, now=now)
    if until is None:
        return False
    row.send_at = until
    row.claimed_until = None
    row.last_error = "Waiting for the cleaner to confirm the new key-box code."
    row.context = {**row.context, "waiting_for_code": True}
    row.save(update_fields=["send_at", "claimed_until", "last_error", "context", "updated_at"])
    return True


def _alert_if_unconfirmed(booking: Booking, *, sent: str, now: datetime) -> None:
    """The welcome goes without the arrival's new code confirmed: tell the owner (in
    the same transaction as the move to `sending`, so once per welcome)."""
    planned = planned_code_for_arrival(booking)
    if planned is not None and planned.confirmed_at is None:
        welcome_unconfirmed_alert(booking=booking, sent=sent, planned=planned, now=now)


def _record_sent(handover: _Handover, backend: BaseEmailBackend) -> str:
    """Step 4: the provider took the email."""
    row, email = handover.row, handover.email
    status = getattr(email, "anymail_status", None)
    provider_id = (getattr(status, "message_id", None) or "") if status else ""
    provider_id = str(provider_id or row.message_id)
    sent_at = timezone.now()
    with transaction.atomic():
        updated = ScheduledMessage.objects.filter(pk=row.pk, state=State.SENDING).update(
            state=State.SENT,
            sent_at=sent_at,
            provider_message_id=provider_id[:255],
            last_error="",
            needs_review=False,
            updated_at=sent_at,
        )
        SentEmail.objects.create(
            business_id=row.business_id,
            scheduled_message=row,
            kind=row.kind,
            to=row.recipient,
            subject=email.subject[:255],
            message_id=row.message_id,
            provider_message_id=provider_id[:255],
            backend=f"{type(backend).__module__}.{type(backend).__name__}"[:120],
            sent_at=sent_at,
        )
    return "sent" if updated else "sent-late"


def _after_failure(message_id: int, exc: Exception) -> str:
    """The provider refused or could not be reached: it did not accept the message, so
    trying again later is safe. After the last attempt the row fails for good."""
    with transaction.atomic():
        row = ScheduledMessage.objects.select_for_update().get(pk=message_id)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        row.last_error = error
        row.claimed_until = None
        if row.attempts >= settings.MESSAGING_MAX_ATTEMPTS:
            row.state = State.FAILED
            outcome = "failed"
        else:
            row.state = State.SCHEDULED
            row.send_at = timezone.now() + _backoff(row.attempts)
            outcome = "retry"
        row.save(update_fields=["state", "last_error", "claimed_until", "send_at", "updated_at"])
    log.warning("Message %s not sent (%s): %s", message_id, outcome, error)
    return outcome


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


# --- Checked again at send time ------------------------------------------------------------


def _skip_reason(row: ScheduledMessage, now: datetime) -> str:
    if row.expires_at is not None and now >= row.expires_at:
        return f"Too late: only useful until {row.expires_at:%Y-%m-%d %H:%M} UTC."
    booking = row.booking
    if booking is not None and AUDIENCE[row.kind] == Audience.GUEST:
        # The owner's own reply goes whatever became of the stay.
        if (
            row.kind not in (Kind.CANCELLATION, Kind.GUEST_REPLY)
            and booking.status != Booking.Status.CONFIRMED
        ):
            return f"The booking is {booking.get_status_display().lower()}."
        if (
            row.kind in (Kind.WELCOME, Kind.KEY_UPDATE)
            and row.expires_at is None
            and not _paid(booking)
        ):
            return "The stay is not paid in full: no key code is sent."
    if row.kind == Kind.KEY_UPDATE and booking is not None and not _details_changed(row, booking):
        return "Nothing changed since the last email to this guest."
    if (
        row.kind == Kind.CLEANER_JOB
        and row.turnover is not None
        and row.turnover.state == Turnover.State.CANCELLED
    ):
        return "The cleaning job was cancelled."
    if (
        row.kind == Kind.OWNER_GUEST_MESSAGE
        and row.conversation is not None
        and not row.conversation.unread
    ):
        return "The owner has read the conversation since."
    if (
        row.kind == Kind.BROADCAST
        and GuestOptOut.objects.filter(business=row.business, email=row.recipient.lower()).exists()
    ):
        return "The guest unsubscribed."
    if row.kind == Kind.BROADCAST and row.broadcast is not None and _all_booked(row, now):
        return "Every night it offered was booked in the meantime."
    return ""


def _all_booked(row: ScheduledMessage, now: datetime) -> bool:
    """Whether no night a broadcast offers is free any more (nor still to come)."""
    broadcast = row.broadcast
    assert broadcast is not None
    prop = broadcast.property
    start = max(broadcast.free_from, now.astimezone(prop.tz).date())
    if start >= broadcast.free_until:
        return True
    return not free_gaps(property=prop, start=start, end=broadcast.free_until)


def _paid(booking: Booking) -> bool:
    if booking.source in PAID_ELSEWHERE or booking.total <= 0:
        return True
    return booking.amount_paid - booking.amount_refunded >= booking.total


def _details_changed(row: ScheduledMessage, booking: Booking) -> bool:
    last = (
        ScheduledMessage.objects.filter(booking=booking, kind__in=[Kind.WELCOME, Kind.KEY_UPDATE])
        .filter(TOLD)
        .exclude(pk=row.pk)
        .order_by("-sending_at", "-id")
        .first()
    )
    if last is None:
        return True
    current = arrival_details(booking)
    return any(last.context.get(name) != value for name, value in current.items())
