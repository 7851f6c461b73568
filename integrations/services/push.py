"""Outbound pushes: full state to partners, through an outbox in PostgreSQL.

A calendar write (bookings.signals.calendar_written, inside the booking transaction)
upserts one pending row per connected (channel, listing), so the push commits or rolls
back with the change, and a burst of changes coalesces into the one pending row. After
commit a task is enqueued (a moment later, to let a burst settle); the beat dispatcher
picks up anything whose task was lost.

Delivery builds the payload from the state at that moment, so whatever is sent is the
latest. Each attempt is logged. Failures retry with exponential backoff and jitter
(first retry within 30 s, each delay 3.35 times the one before, the 8th attempt about
11 h after the first), then the row is a dead letter that the owner can re-drive. A
newer pending row supersedes an older one waiting for its retry, and rows of one
listing are never in flight at the same time.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from bookings.models import Booking
from bookings.selectors import unavailable_ranges
from integrations import signatures, ssrf
from integrations.models import Channel, ListingLink, PushAttempt, PushOutbox
from integrations.services.channels import channel_outbound_secrets
from integrations.services.partner_messages import message_payload, replies_redrive, reply_announce
from properties import request_id
from properties.db import claim_due
from properties.models import Business, Property
from properties.photos.selectors import largest_jpeg, photos_public
from properties.urls_util import app_url

log = logging.getLogger(__name__)

Status = PushOutbox.Status
Kind = PushOutbox.Kind
# A row in `sending` this long after its claim was interrupted (worker lost): it is
# sent again, which is harmless since pushes carry full state.
SENDING_LEASE = timedelta(seconds=90)
CLAIM_LEASE = timedelta(seconds=60)
# A partner's answer is logged, not used: read at most this much of it.
ANSWER_MAX_BYTES = 64 * 1024


def backoff_delay(attempts: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: each delay is
    INTEGRATIONS_PUSH_BACKOFF_FACTOR (3.35) times the one before (20 s, 67 s, 3.7 min,
    12.5 min, 42 min, 2.3 h, 7.9 h: about 11 h from the first attempt to the 8th),
    +-20% jitter so partners coming back from an outage are not hit by every business
    at once."""
    base = settings.INTEGRATIONS_PUSH_FIRST_RETRY_SECONDS
    delay = base * settings.INTEGRATIONS_PUSH_BACKOFF_FACTOR ** max(attempts - 1, 0)
    jitter = (rng or random).uniform(0.8, 1.2)
    return float(delay * jitter)


# --- Enqueueing -----------------------------------------------------------------------


def _links_for_property(property_id: int) -> list[ListingLink]:
    return list(
        ListingLink.objects.filter(property_id=property_id, channel__active=True)
        .exclude(channel__endpoint_url="")
        .only("id", "business_id", "channel_id")
    )


def push_enqueue(*, links: list[ListingLink], kind: str, now: datetime | None = None) -> int:
    """Make sure each link has one pending push of `kind`, due soon: two statements for
    any number of links, and no savepoint of their own. A row waiting for a retry is
    superseded by a fresh one (the new state replaces what it would send); a pending row
    not yet tried takes the change as it is (the push reads the state when it goes)."""
    if not links:
        return 0
    now = now or timezone.now()
    due = now + timedelta(seconds=settings.INTEGRATIONS_PUSH_DEBOUNCE_SECONDS)
    link_ids = [link.pk for link in links]
    with transaction.atomic(savepoint=False):
        # Supersede first: a row leaves the partial unique index (pending per listing
        # and kind) only once that statement is done.
        PushOutbox.objects.filter(
            listing_id__in=link_ids, kind=kind, status=Status.PENDING, attempts__gt=0
        ).update(status=Status.SUPERSEDED, updated_at=now, claimed_until=None)
        PushOutbox.objects.bulk_create(
            [
                PushOutbox(
                    business_id=link.business_id,
                    channel_id=link.channel_id,
                    listing_id=link.pk,
                    kind=kind,
                    next_attempt_at=due,
                )
                for link in links
            ],
            ignore_conflicts=True,  # the pending row exists: this change coalesces into it
        )
        transaction.on_commit(lambda: _kick(link_ids, kind), robust=True)
    return len(links)


def push_enqueue_for_property(*, property_id: int, kind: str = Kind.AVAILABILITY) -> int:
    return push_enqueue(links=_links_for_property(property_id), kind=kind)


def availability_push_enqueue(*, booking: Booking) -> None:
    """A stay or block was written (inside the booking's transaction): its property's
    availability is pushed to every connected channel."""
    push_enqueue_for_property(property_id=booking.property_id)


def listing_push_enqueue(*, property_id: int) -> None:
    """A property or its images changed: its listing details are pushed."""
    push_enqueue_for_property(property_id=property_id, kind=Kind.LISTING)


def _kick(link_ids: list[int], kind: str) -> None:
    if not settings.INTEGRATIONS_KICK_PUSHES:
        return
    from integrations.tasks import deliver_push

    ids = list(
        PushOutbox.objects.filter(
            listing_id__in=link_ids, kind=kind, status=Status.PENDING
        ).values_list("pk", flat=True)
    )
    try:
        for push_id in ids:
            deliver_push.apply_async(
                (push_id,), countdown=settings.INTEGRATIONS_PUSH_DEBOUNCE_SECONDS
            )
    except Exception:  # the dispatcher picks the rows up anyway
        log.warning("Could not enqueue partner pushes", exc_info=True)


# --- Payloads ---------------------------------------------------------------------------


def availability_payload(link: ListingLink, *, today: Any = None) -> dict[str, Any]:
    prop = link.property
    start = today or prop.local_today()
    horizon_end = start + timedelta(days=settings.INTEGRATIONS_PUSH_HORIZON_DAYS)
    ranges = unavailable_ranges(property=prop, start=start, end=horizon_end)
    return {
        "listing_id": link.listing_id,
        "unavailable": [{"start": a.isoformat(), "end": b.isoformat()} for a, b in ranges],
        "horizon_end": horizon_end.isoformat(),
    }


def listing_payload(link: ListingLink) -> dict[str, Any]:
    prop: Property = link.property
    images = []
    # Only processed photos, each as its largest JPEG rendition (partners get what
    # visitors get: upright, no metadata); a photo still processing joins the listing
    # with the push its readiness triggers.
    for image in photos_public(business=prop.business, property=prop):
        source = largest_jpeg(image)
        if source is None:
            continue
        images.append(
            {
                "url": source.url if source.url.startswith("http") else app_url(source.url),
                "width": source.width,
                "height": source.height,
                "caption": image.caption,
            }
        )
    return {
        "listing_id": link.listing_id,
        "name": prop.name,
        "description": prop.description,
        "max_guests": prop.max_guests,
        "bedrooms": prop.bedrooms,
        "bathrooms": prop.bathrooms,
        "check_in_time": prop.check_in_time.strftime("%H:%M"),
        "check_out_time": prop.check_out_time.strftime("%H:%M"),
        "images": images,
    }


def push_envelope(push: PushOutbox, *, now: datetime) -> dict[str, Any]:
    link = push.listing
    if push.kind == Kind.MESSAGE:
        event_type, data = "message.created", message_payload(push)
    elif push.kind == Kind.LISTING:
        assert link is not None
        event_type, data = "listing.updated", listing_payload(link)
    else:
        assert link is not None
        event_type, data = "availability.updated", availability_payload(link)
    return {
        "id": push.push_id,
        "type": event_type,
        "occurred_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }


# --- Delivery ---------------------------------------------------------------------------


def _siblings(push: PushOutbox) -> QuerySet[PushOutbox]:
    """Rows that push the same thing: the same listing's state, or the same message
    (a re-driven reply)."""
    if push.kind == Kind.MESSAGE:
        same = PushOutbox.objects.filter(message_id=push.message_id, kind=Kind.MESSAGE)
    else:
        same = PushOutbox.objects.filter(listing_id=push.listing_id, kind=push.kind)
    return same.exclude(pk=push.pk)


def _newer_pending(push: PushOutbox) -> PushOutbox | None:
    return _siblings(push).filter(status=Status.PENDING).first()


def _sibling_in_flight(push: PushOutbox, now: datetime) -> bool:
    return bool(
        _siblings(push).filter(status=Status.SENDING, sending_at__gt=now - SENDING_LEASE).exists()
    )


def push_deliver(*, push_id: int, now: datetime | None = None) -> str:
    """Attempt one push. Returns what happened (for logs and tests)."""
    now = now or timezone.now()
    with transaction.atomic():
        push = (
            PushOutbox.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("channel", "listing__property__business", "message")
            .filter(pk=push_id, status=Status.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if push is None:
            return "not-due"
        if _sibling_in_flight(push, now):
            # Its sender delivers this one when it finishes (see _after_attempt).
            push.claimed_until = None
            push.save(update_fields=["claimed_until", "updated_at"])
            return "busy"
        channel = push.channel
        if not channel.active or not channel.endpoint_url:
            push.last_error = "The channel is inactive or has no endpoint URL."
            if push.kind == Kind.MESSAGE:
                # Unlike a calendar, a reply is not sent again by the next change.
                push.status = Status.DEAD
                reply_announce(push, "failed", push.last_error)
            else:
                push.status = Status.SUPERSEDED
            push.save(update_fields=["status", "last_error", "updated_at"])
            return "skipped"
        push.status = Status.SENDING
        push.attempts += 1
        push.sending_at = now
        push.claimed_until = None
        push.save(update_fields=["status", "attempts", "sending_at", "claimed_until", "updated_at"])
        envelope = push_envelope(push, now=now)
    body = json.dumps(envelope, separators=(",", ":")).encode()
    secret, *previous = channel_outbound_secrets(channel)
    status_code: int | None = None
    error = ""
    began = time.perf_counter()
    try:
        answer = ssrf.request(
            "POST",
            channel.endpoint_url,
            data=body,
            headers={
                "Content-Type": "application/json",
                signatures.HEADER: signatures.sign(secret, body, also=previous),
                **request_id.outbound_headers(),
            },
            max_bytes=ANSWER_MAX_BYTES,
            timeout=settings.INTEGRATIONS_PUSH_TIMEOUT_SECONDS,
            follow_redirects=False,
            truncate=True,
        )
        status_code = answer.status
        if not 200 <= status_code < 300:
            text = answer.body[:300].decode("utf-8", errors="replace")
            error = f"HTTP {status_code}: {text}"
    except ssrf.UnsafeURL as exc:
        error = f"Refused: {exc}"
    except ssrf.FetchTimeout:
        error = f"No answer within {settings.INTEGRATIONS_PUSH_TIMEOUT_SECONDS:g} s."
    except ssrf.FetchError as exc:
        error = str(exc)[:500]
    latency_ms = int((time.perf_counter() - began) * 1000)
    return _after_attempt(push, status_code, error, latency_ms, timezone.now())


def _after_attempt(
    push: PushOutbox, status_code: int | None, error: str, latency_ms: int, now: datetime
) -> str:
    ok = not error
    with transaction.atomic():
        PushAttempt.objects.create(
            business_id=push.business_id,
            push=push,
            number=push.attempts,
            url=push.channel.endpoint_url[:500],
            status_code=status_code,
            latency_ms=latency_ms,
            error=error[:2000],
            ok=ok,
            attempted_at=now,
        )
        current = PushOutbox.objects.select_for_update().get(pk=push.pk)
        newer = _newer_pending(current)
        current.last_status_code = status_code
        current.last_error = error[:2000]
        if ok:
            current.status = Status.DELIVERED
            current.delivered_at = now
            outcome = "delivered"
            Channel.objects.filter(pk=push.channel_id).update(last_push_ok_at=now)
        else:
            Channel.objects.filter(pk=push.channel_id).update(
                last_push_error=error[:2000], last_push_error_at=now
            )
            if newer is not None:
                current.status = Status.SUPERSEDED
                outcome = "superseded"
            elif current.attempts >= settings.INTEGRATIONS_PUSH_MAX_ATTEMPTS:
                current.status = Status.DEAD
                outcome = "dead"
            else:
                current.status = Status.PENDING
                current.next_attempt_at = now + timedelta(seconds=backoff_delay(current.attempts))
                outcome = "retry"
        current.save()
        if outcome != "superseded":
            state = {"delivered": "sent", "dead": "failed"}.get(outcome, "pending")
            reply_announce(push, state, error)
        if newer is not None:
            newer_id = newer.pk
            transaction.on_commit(lambda: _kick_one(newer_id), robust=True)
    if not ok:
        log.warning("Push %s to channel %s: %s (%s)", push.push_id, push.channel_id, error, outcome)
    return outcome


def _kick_one(push_id: int) -> None:
    if not settings.INTEGRATIONS_KICK_PUSHES:
        return
    from integrations.tasks import deliver_push

    try:
        deliver_push.delay(push_id)
    except Exception:
        log.warning("Could not enqueue push %s", push_id, exc_info=True)


def push_recover_stale(*, now: datetime | None = None) -> int:
    """Rows left in `sending` by a lost worker go back to pending (or make way for a
    newer pending row): full-state pushes are safe to send again."""
    now = now or timezone.now()
    stale = PushOutbox.objects.filter(status=Status.SENDING, sending_at__lt=now - SENDING_LEASE)
    count = 0
    for push in stale[:500]:
        with transaction.atomic():
            current = PushOutbox.objects.select_for_update(skip_locked=True).filter(
                pk=push.pk, status=Status.SENDING
            )
            row = current.first()
            if row is None:
                continue
            if _newer_pending(row) is not None:
                row.status = Status.SUPERSEDED
            else:
                row.status = Status.PENDING
                row.next_attempt_at = now
            row.last_error = "Interrupted while sending; sent again."
            row.save(update_fields=["status", "next_attempt_at", "last_error", "updated_at"])
            count += 1
    return count


def push_dispatch(
    *, now: datetime | None = None, enqueue: Callable[[int], None] | None = None, limit: int = 2000
) -> int:
    """One dispatcher run: due retries and rows whose task was lost."""
    now = now or timezone.now()
    push_recover_stale(now=now)
    if enqueue is None:
        from integrations.tasks import deliver_push

        def enqueue(push_id: int) -> None:
            deliver_push.delay(push_id)

    rows = claim_due(
        table="integrations_pushoutbox",
        where="status = 'pending' AND next_attempt_at <= %(now)s",
        order_by="next_attempt_at, id",
        now=now,
        limit=limit,
        lease_until=now + CLAIM_LEASE,
    )
    ids = [int(row[0]) for row in rows]
    for index, push_id in enumerate(ids):
        try:
            enqueue(push_id)
        except Exception:
            PushOutbox.objects.filter(pk__in=ids[index:]).update(claimed_until=None)
            raise
    return len(ids)


def push_reconcile(*, now: datetime | None = None) -> int:
    """Hourly: a full-state availability push for every connected listing, catching
    anything a lost change or a partner's bug left out of date."""
    count = 0
    links = (
        ListingLink.objects.filter(channel__active=True)
        .exclude(channel__endpoint_url="")
        .only("id", "business_id", "channel_id")
        .order_by("id")
    )
    batch: list[ListingLink] = []
    for link in links.iterator(chunk_size=1000):
        batch.append(link)
        if len(batch) >= 500:
            count += push_enqueue(links=batch, kind=Kind.AVAILABILITY, now=now)
            batch = []
    if batch:
        count += push_enqueue(links=batch, kind=Kind.AVAILABILITY, now=now)
    return count


def push_redrive(*, business: Business, push_ids: list[int], now: datetime | None = None) -> int:
    """The owner's "send again" on dead letters: a fresh pending push of the current
    state for each of their listings, or of the same message for a reply; the dead rows
    stay as history, marked re-driven."""
    now = now or timezone.now()
    dead = PushOutbox.objects.filter(business=business, pk__in=push_ids, status=Status.DEAD)
    links_by_kind: dict[str, list[ListingLink]] = {}
    replies: list[PushOutbox] = []
    for push in dead.select_related("listing", "channel", "message"):
        if push.kind == Kind.MESSAGE:
            replies.append(push)
        elif push.listing is not None:
            links_by_kind.setdefault(push.kind, []).append(push.listing)
    count = 0
    with transaction.atomic():
        for kind, links in links_by_kind.items():
            unique = list({link.pk: link for link in links}.values())
            count += push_enqueue(links=unique, kind=kind, now=now - timedelta(seconds=60))
        dead.update(status=Status.SUPERSEDED, last_error="Re-driven by the owner.", updated_at=now)
        count += replies_redrive(replies, now=now)
    return count


def channel_health(channel: Channel) -> dict[str, Any]:
    """Last success, last error, next attempt and dead letters of one channel."""
    pushes = PushOutbox.objects.filter(channel=channel)
    next_attempt = (
        pushes.filter(status=Status.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return {
        "last_inbound_at": channel.last_inbound_at,
        "last_push_ok_at": channel.last_push_ok_at,
        "last_push_error": channel.last_push_error,
        "last_push_error_at": channel.last_push_error_at,
        "next_attempt_at": next_attempt,
        "dead_letters": pushes.filter(status=Status.DEAD).count(),
    }
