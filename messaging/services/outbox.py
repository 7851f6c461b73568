"""The outbox's rows: scheduling a message (once per key), cancelling pending ones, the
owner's "send now" and "cancel", and the dispatcher that claims due rows and hands them
to send tasks. Sending one row is `messaging.services.sending`.

    scheduled --claim (lease)--> scheduled+claimed --task--> sending --> sent
                                                           \\-> scheduled (retry) | failed
    sending for too long (process died mid-send) --> failed, needs review (not re-sent)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.db.models.sql import InsertQuery
from django.utils import timezone

from bookings.models import Booking
from messaging.models import (
    AUDIENCE,
    KIND_PRIORITY,
    PRIORITY_SAME_DAY,
    Audience,
    Broadcast,
    Conversation,
    Kind,
    ScheduledMessage,
    Turnover,
)
from messaging.selectors import Timing, out_of_quiet_hours, timing_for
from properties.db import after_commit, claim_due
from properties.models import Business, Property

State = ScheduledMessage.State

# A key code (welcome, correction) waits for the end of quiet hours only if that still
# leaves this long before check-in: a guest arriving early must not find it too late.
KEY_CODE_URGENT = timedelta(hours=3)
KEY_CODE_KINDS = (Kind.WELCOME, Kind.KEY_UPDATE)

# The dispatcher's task, woken by name: the tasks module imports these services.
DISPATCH_TASK = "messaging.tasks.dispatch_due"


def message_plan(
    *,
    prop: Property | None,
    timing: Timing | None,
    kind: str,
    wanted_at: datetime,
    expires_at: datetime | None,
    now: datetime,
) -> tuple[str, datetime, str]:
    """(state, send_at, reason) for a message wanted at `wanted_at`.

    Past due: sent at once while still useful, else skipped with the reason. Guests
    get nothing in quiet hours, unless waiting for morning would make it useless
    (usefulness wins: a late-night booking for tomorrow still gets its key code), or
    would leave a key code less than KEY_CODE_URGENT before check-in."""
    at = max(wanted_at, now)
    if (
        prop is not None
        and timing is not None
        and timing.quiet_hours
        and AUDIENCE[kind] == Audience.GUEST
    ):
        morning = out_of_quiet_hours(prop, at)
        latest = expires_at
        if expires_at is not None and kind in KEY_CODE_KINDS:
            latest = expires_at - KEY_CODE_URGENT
        if latest is None or morning < latest:
            at = morning
    if expires_at is not None and at >= expires_at:
        local = expires_at.astimezone(prop.tz) if prop else expires_at
        return (
            State.SKIPPED,
            wanted_at,
            f"Too late: it was due {wanted_at:%Y-%m-%d %H:%M} UTC and is only useful "
            f"until {local:%Y-%m-%d %H:%M} (property time).",
        )
    return State.SCHEDULED, at, ""


def _priority(kind: str, booking: Booking | None, send_at: datetime) -> int:
    priority = KIND_PRIORITY[kind]
    if (
        booking is not None
        and priority > PRIORITY_SAME_DAY
        and AUDIENCE[kind] == Audience.GUEST
        and send_at.astimezone(booking.property.tz).date() == booking.check_in
    ):
        priority = PRIORITY_SAME_DAY
    return priority


def message_row(
    *,
    business_id: int,
    kind: str,
    recipient: str,
    key: str,
    wanted_at: datetime,
    now: datetime,
    expires_at: datetime | None = None,
    prop: Property | None = None,
    booking: Booking | None = None,
    turnover: Turnover | None = None,
    broadcast: Broadcast | None = None,
    conversation: Conversation | None = None,
    recipient_name: str = "",
    context: dict[str, Any] | None = None,
    timing: Timing | None = None,
) -> ScheduledMessage:
    """The outbox row for `key` as it would be scheduled now (not saved): the state,
    send time and priority its kind, quiet hours and usefulness give it. Saved, alone or
    with others, by `messages_upsert`. `timing` is the property's (looked up when not
    given)."""
    if timing is None and prop is not None and AUDIENCE[kind] == Audience.GUEST:
        timing = timing_for(prop)  # quiet hours concern guests only
    state, send_at, reason = message_plan(
        prop=prop, timing=timing, kind=kind, wanted_at=wanted_at, expires_at=expires_at, now=now
    )
    return ScheduledMessage(
        business_id=business_id,
        booking=booking,
        turnover=turnover,
        broadcast=broadcast,
        conversation=conversation,
        kind=kind,
        recipient=recipient,
        recipient_name=recipient_name[:150],
        key=key,
        send_at=send_at,
        expires_at=expires_at,
        priority=_priority(kind, booking, send_at),
        state=state,
        last_error=reason,
        context=context or {},
    )


# Of a row that exists for the key, only what has not gone out is re-timed; its context
# gains the new keys (jsonb `||`, like a dict merge).
_UPSERT_TAIL = """
    ON CONFLICT ("key") DO UPDATE SET
        "state" = EXCLUDED."state",
        "send_at" = EXCLUDED."send_at",
        "expires_at" = EXCLUDED."expires_at",
        "priority" = EXCLUDED."priority",
        "last_error" = EXCLUDED."last_error",
        "claimed_until" = NULL,
        "context" = "messaging_scheduledmessage"."context" || EXCLUDED."context",
        "updated_at" = EXCLUDED."updated_at"
    WHERE "messaging_scheduledmessage"."state" IN ('scheduled', 'skipped')
"""


def messages_upsert(rows: list[ScheduledMessage]) -> None:
    """Schedule every row in one statement: a new key is inserted; the row of a key that
    exists is re-timed if it has not gone out (scheduled or skipped), and otherwise left
    as it is. Idempotent, and safe against a concurrent scheduler of the same key (the
    unique key makes the second one wait, then update). A key given twice keeps the
    last."""
    if not rows:
        return
    by_key = {row.key: row for row in rows}
    query = InsertQuery(ScheduledMessage)
    fields = [f for f in ScheduledMessage._meta.concrete_fields if not f.primary_key]
    query.insert_values(fields, list(by_key.values()))
    compiler = query.get_compiler(using=ScheduledMessage.objects.db)
    ((sql, params),) = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql + _UPSERT_TAIL, params)


def message_schedule(row: ScheduledMessage) -> ScheduledMessage:
    """Create the outbox row `row` (built by `message_row`), or re-time the stored one
    with its key if it has not gone out yet (see `messages_upsert`); returns the row as
    stored. Idempotent: the key is unique, so scheduling twice never makes two
    messages."""
    messages_upsert([row])
    return ScheduledMessage.objects.get(key=row.key)


def messages_cancel_pending(messages: QuerySet[ScheduledMessage], *, reason: str) -> int:
    """Cancel those of `messages` that have not gone out; returns how many."""
    return int(
        messages.filter(state=State.SCHEDULED).update(
            state=State.CANCELLED, last_error=reason, claimed_until=None, updated_at=timezone.now()
        )
    )


def outbox_kick() -> None:
    """Wake the dispatcher once the current transaction commits (at once outside one)
    instead of at its next beat. Best effort: the beat claims the rows anyway."""
    if settings.MESSAGING_KICK_DISPATCHER:
        after_commit(lambda: current_app.send_task(DISPATCH_TASK), what="the message dispatcher")


def outbox_send_now(
    *, business: Business, message_ids: list[int], now: datetime | None = None
) -> int:
    """An owner's explicit "send now": due at once, including a failed or skipped row
    (a person decided; this is how a row marked for review is sent again)."""
    now = now or timezone.now()
    count = int(
        ScheduledMessage.objects.filter(
            business=business,
            pk__in=message_ids,
            state__in=[State.SCHEDULED, State.FAILED, State.SKIPPED],
        ).update(
            state=State.SCHEDULED,
            send_at=now,
            expires_at=None,
            claimed_until=None,
            needs_review=False,
            updated_at=now,
        )
    )
    outbox_kick()
    return count


def outbox_cancel(*, business: Business, message_ids: list[int]) -> int:
    return messages_cancel_pending(
        ScheduledMessage.objects.filter(business=business, pk__in=message_ids),
        reason="Cancelled by the owner.",
    )


# --- The dispatcher ------------------------------------------------------------------------


def outbox_claim_due(
    *, now: datetime | None = None, limit: int | None = None
) -> list[tuple[int, int]]:
    """Claim due rows, most urgent first: (id, priority) pairs.

    See `properties.db.claim_due`: any number of dispatchers may run at once, and a
    row whose task vanished (Redis flushed, worker lost) is claimed again when its
    lease runs out."""
    now = now or timezone.now()
    limit = limit or settings.MESSAGING_DISPATCH_BATCH
    # Leave time for everything claimed to pass the rate limit before a re-claim.
    lease_seconds = settings.MESSAGING_CLAIM_LEASE_SECONDS + limit / settings.EMAIL_RATE_PER_SECOND
    lease = now + timedelta(seconds=lease_seconds)
    rows = claim_due(
        table="messaging_scheduledmessage",
        where="state = 'scheduled' AND send_at <= %(now)s",
        order_by="priority, send_at, id",
        now=now,
        limit=limit,
        lease_until=lease,
        returning=("id", "priority", "send_at"),
    )
    rows.sort(key=lambda r: (r[1], r[2], r[0]))
    return [(int(r[0]), int(r[1])) for r in rows]


def outbox_release(*, message_ids: list[int]) -> None:
    """Hand claimed rows back, so the next dispatcher run may claim them at once."""
    ScheduledMessage.objects.filter(pk__in=message_ids, state=State.SCHEDULED).update(
        claimed_until=None
    )


def outbox_dispatch(*, enqueue: Callable[[int, int], None], now: datetime | None = None) -> int:
    """One dispatcher run: claim what is due and hand each row (id, priority) to
    `enqueue`, which starts its send task. Rows it could not hand over are released."""
    claimed = outbox_claim_due(now=now)
    for index, (message_id, priority) in enumerate(claimed):
        try:
            enqueue(message_id, priority)
        except Exception:
            outbox_release(message_ids=[m for m, _ in claimed[index:]])
            raise
    return len(claimed)


def outbox_recover_stale(*, now: datetime | None = None) -> int:
    """Rows left in `sending` by a process that died mid-send.

    We cannot know whether the provider accepted the email before the crash, so the
    row is not sent again automatically (that could deliver it twice): it is marked
    failed and `needs_review`, and shows up in the admin's outbox for a person to
    check (the Message-ID is in the SentEmail log and the provider's logs) and, if
    needed, "send again"."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.MESSAGING_SENDING_STALE_SECONDS)
    return int(
        ScheduledMessage.objects.filter(state=State.SENDING, sending_at__lt=cutoff).update(
            state=State.FAILED,
            needs_review=True,
            last_error=(
                "Interrupted while sending: the provider may or may not have accepted it. "
                "Not re-sent automatically; check and use 'Send now' if it did not arrive."
            ),
            updated_at=now,
        )
    )
