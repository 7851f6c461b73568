"""The outbox against real PostgreSQL, Redis and an SMTP server: claiming, sending,
Redis loss, crashes after the provider accepted, retries, the rate limiter."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
import time_machine
from celery import Celery
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from bookings.models import Booking
from messaging.models import Kind, ScheduledMessage, SentEmail
from messaging.ratelimit import SendRateLimiter
from messaging.services.outbox import (
    message_row,
    message_schedule,
    outbox_claim_due,
    outbox_dispatch,
    outbox_recover_stale,
    outbox_send_now,
)
from messaging.services.sending import PAYMENT_RECHECK, outbox_send
from properties.models import Business
from tests.conftest import Tenant
from tests.messaging.conftest import stay
from tests.support.ports import free_port
from tests.support.smtp import Sink

State = ScheduledMessage.State


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def due_rows(business: Business, n: int, *, kind: str = Kind.OWNER_CONFLICT) -> list[int]:
    now = timezone.now()
    ids = []
    for i in range(n):
        row = message_schedule(
            message_row(
                business_id=business.pk,
                kind=kind,
                recipient=f"owner{i}@example.com",
                key=f"test:{kind}:{i}",
                wanted_at=now - timedelta(seconds=1),
                now=now,
                context={"summary": f"conflict {i}"},
            )
        )
        ids.append(row.pk)
    return ids


def send_all(ids: list[int]) -> list[str]:
    return [outbox_send(message_id=i) for i in ids]


@pytest.fixture
def fast(settings: Any, redis_prefix: str) -> None:
    settings.EMAIL_RATE_PER_SECOND = 1000.0


def test_confirmation_is_delivered_end_to_end_with_ics_and_logged(
    tenant: Tenant, smtp_sink: Sink, fast: None
) -> None:
    booking = stay(tenant.prop, date(2031, 2, 10), date(2031, 2, 14), email="ada@example.com")
    claimed: list[int] = []
    with time_machine.travel(timezone.now() + timedelta(hours=13), tick=False):
        # Past any quiet hours: the confirmation and the owner notice are due.
        outbox_dispatch(enqueue=lambda i, p: claimed.append(i))
        results = send_all(claimed)
    assert results.count("sent") == 2
    [mail] = smtp_sink.to("ada@example.com")
    assert "is confirmed" in mail["Subject"]
    assert tenant.business.name in mail["From"]
    parts = {part.get_content_type(): part for part in mail.walk()}
    assert "text/html" in parts
    assert "text/plain" in parts
    ics = parts["text/calendar"].get_payload(decode=True)
    assert b"BEGIN:VEVENT" in ics
    assert booking.reference.encode() in ics
    row = ScheduledMessage.objects.get(booking=booking, kind=Kind.CONFIRMATION)
    assert row.state == State.SENT
    assert row.attempts == 1
    assert mail["Message-ID"] == row.message_id
    log = SentEmail.objects.get(scheduled_message=row)
    assert log.provider_message_id == row.provider_message_id
    assert "smtp" in log.backend


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatchers_send_each_message_once(
    tenant: Tenant, smtp_sink: Sink, fast: None
) -> None:
    ids = due_rows(tenant.business, 40)
    claimed: list[list[int]] = [[], []]
    barrier = threading.Barrier(2)

    def dispatcher(slot: int) -> None:
        try:
            barrier.wait()
            for _ in range(20):
                outbox_dispatch(enqueue=lambda i, p: claimed[slot].append(i))
            # Each dispatcher's tasks are delivered twice (a broker redelivery): harmless.
            send_all(claimed[slot] + claimed[slot])
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed[0] + claimed[1]) == sorted(ids)
    assert not set(claimed[0]) & set(claimed[1])
    assert len(smtp_sink.messages) == 40
    assert set(smtp_sink.by_message_id().values()) == {1}
    assert ScheduledMessage.objects.filter(pk__in=ids, state=State.SENT).count() == 40


@pytest.mark.slow  # starts its own redis-server
def test_flushing_redis_between_scheduling_and_sending_loses_nothing(
    tenant: Tenant, smtp_sink: Sink, fast: None, private_redis: str
) -> None:
    ids = due_rows(tenant.business, 5)
    # Not the current app: tasks of this process must keep publishing through config.celery.
    broker = Celery("flush-test", broker=private_redis, set_as_current=False)
    now = timezone.now()
    outbox_dispatch(
        now=now,
        enqueue=lambda i, p: broker.send_task("messaging.tasks.send_message", args=[i], priority=p),
    )
    client = redis.Redis.from_url(private_redis)
    assert client.dbsize() > 0
    client.flushall()  # every handed-out task is gone
    # Still leased: the next run does not hand them out twice...
    assert outbox_dispatch(now=now + timedelta(seconds=5), enqueue=lambda i, p: None) == 0
    # ...but once the lease has run out, they are claimed again and sent.
    again: list[int] = []
    lease = timedelta(seconds=django_settings.MESSAGING_CLAIM_LEASE_SECONDS + 600)
    outbox_dispatch(now=now + lease, enqueue=lambda i, p: again.append(i))
    assert sorted(again) == sorted(ids)
    send_all(again)
    assert len(smtp_sink.messages) == 5
    assert ScheduledMessage.objects.filter(pk__in=ids, state=State.SENT).count() == 5


def test_crash_after_provider_accepted_is_not_resent_blindly(
    tenant: Tenant, smtp_sink: Sink, fast: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    [message_id] = due_rows(tenant.business, 1)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise SystemExit("worker lost after the SMTP server said 250")

    monkeypatch.setattr(SentEmail.objects, "create", crash)
    with pytest.raises(SystemExit):
        outbox_send(message_id=message_id)
    monkeypatch.undo()
    assert len(smtp_sink.messages) == 1
    row = ScheduledMessage.objects.get(pk=message_id)
    assert row.state == State.SENDING
    later = timezone.now() + timedelta(hours=1)
    # The dispatcher never hands out a row that may have gone out...
    assert outbox_dispatch(now=later, enqueue=lambda i, p: None) == 0
    assert outbox_send(message_id=message_id, now=later) == "not-due"
    # ...housekeeping marks it for a person to review instead.
    assert outbox_recover_stale(now=later) == 1
    row.refresh_from_db()
    assert row.state == State.FAILED
    assert row.needs_review
    assert outbox_dispatch(now=later, enqueue=lambda i, p: None) == 0
    assert len(smtp_sink.messages) == 1
    # An explicit "send now" by the owner sends it again, with the same Message-ID.
    outbox_send_now(business=tenant.business, message_ids=[message_id])
    assert outbox_send(message_id=message_id) == "sent"
    counts = smtp_sink.by_message_id()
    assert counts[row.message_id] == 2


def test_provider_refusal_is_retried_with_backoff_then_fails(
    tenant: Tenant, settings: Any, fast: None
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nobody listens
    settings.EMAIL_TIMEOUT = 2
    settings.MESSAGING_MAX_ATTEMPTS = 2
    [message_id] = due_rows(tenant.business, 1)
    assert outbox_send(message_id=message_id) == "retry"
    row = ScheduledMessage.objects.get(pk=message_id)
    assert row.state == State.SCHEDULED
    assert row.attempts == 1
    assert row.send_at > timezone.now() + timedelta(seconds=30)
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    with time_machine.travel(row.send_at + timedelta(seconds=1), tick=False):
        assert outbox_send(message_id=message_id) == "failed"
    row.refresh_from_db()
    assert row.state == State.FAILED
    assert row.attempts == 2


def test_welcome_waits_for_an_amount_due_and_goes_once_it_is_paid(
    tenant: Tenant, settings: Any, fast: None
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    booking = stay(
        tenant.prop,
        date(2031, 2, 10),
        date(2031, 2, 14),
        source=Booking.Source.DIRECT,
        total=Decimal("400.00"),
    )
    welcome = ScheduledMessage.objects.get(booking=booking, kind=Kind.WELCOME)
    due_at = welcome.send_at + timedelta(minutes=1)
    with time_machine.travel(due_at, tick=False):
        assert outbox_send(message_id=welcome.pk) == "waiting"
    welcome.refresh_from_db()
    assert welcome.state == State.SCHEDULED
    assert welcome.send_at == due_at + PAYMENT_RECHECK
    assert "amount due" in welcome.last_error

    Booking.objects.filter(pk=booking.pk).update(amount_paid=Decimal("400.00"))
    with time_machine.travel(welcome.send_at + timedelta(seconds=1), tick=False):
        assert outbox_send(message_id=welcome.pk) == "sent"


def test_welcome_of_a_stay_never_paid_is_skipped_once_too_late(
    tenant: Tenant, settings: Any, fast: None
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    booking = stay(
        tenant.prop,
        date(2031, 2, 10),
        date(2031, 2, 14),
        source=Booking.Source.DIRECT,
        total=Decimal("400.00"),
    )
    welcome = ScheduledMessage.objects.get(booking=booking, kind=Kind.WELCOME)
    assert welcome.expires_at is not None
    ScheduledMessage.objects.filter(pk=welcome.pk).update(send_at=welcome.expires_at)
    with time_machine.travel(welcome.expires_at + timedelta(minutes=1), tick=False):
        assert outbox_send(message_id=welcome.pk) == "skipped"
    welcome.refresh_from_db()
    assert welcome.state == State.SKIPPED
    assert "Too late" in welcome.last_error


def test_refund_notice_tells_the_guest_once_with_their_booking(
    tenant: Tenant, settings: Any, fast: None
) -> None:
    from django.core import mail

    from bookings import signals

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    booking = stay(tenant.prop, date(2031, 2, 10), date(2031, 2, 14), email="late@example.com")
    for _ in range(2):  # a repeated signal schedules nothing more
        signals.refund_issued.send(
            sender=None,
            business_id=tenant.business.pk,
            booking_id=booking.pk,
            refund_id=41,
            summary="Your payment of €350.00 arrived after those nights were taken.",
        )
    row = ScheduledMessage.objects.get(kind=Kind.REFUND_NOTICE)
    with time_machine.travel(row.send_at + timedelta(seconds=1), tick=False):
        assert outbox_send(message_id=row.pk) == "sent"
    sent = [m for m in mail.outbox if "late@example.com" in m.to[0]]
    assert len(sent) == 1, [(m.to, m.subject) for m in mail.outbox]
    message = sent[0]
    assert booking.reference in message.subject
    assert "€350.00 arrived after those nights were taken" in message.body
    assert f"/trips/{booking.reference}/" in message.body


def test_claiming_takes_key_codes_before_marketing(tenant: Tenant) -> None:
    marketing = due_rows(tenant.business, 3, kind=Kind.BROADCAST)
    urgent = due_rows(tenant.business, 2, kind=Kind.CLEANER_UPDATE)
    first = outbox_claim_due(limit=2)
    assert sorted(i for i, _ in first) == sorted(urgent)
    rest = outbox_claim_due(limit=10)
    assert sorted(i for i, _ in rest) == sorted(marketing)


def test_rate_limiter_grants_at_most_the_limit_per_window(redis_prefix: str) -> None:
    limiter = SendRateLimiter(rate_per_second=5, key=f"{redis_prefix}:limiter", guard_seconds=0.5)
    results = [limiter.try_acquire() for _ in range(8)]
    granted = [value for ok, value in results if ok]
    assert len(granted) == 5
    waits = [value for ok, value in results if not ok]
    assert all(0 < wait <= 1.5 for wait in waits)
    limiter.reset()
    assert limiter.try_acquire()[0]


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_has_an_audience_a_priority_a_subject_and_templates(kind: Kind) -> None:
    from pathlib import Path

    from messaging.models import AUDIENCE, KIND_PRIORITY
    from messaging.rendering import SUBJECTS

    assert kind in AUDIENCE
    assert kind in KIND_PRIORITY
    assert kind in SUBJECTS
    templates = Path(django_settings.BASE_DIR) / "templates" / "emails"
    assert (templates / f"{kind.value}.html").exists()
    assert (templates / f"{kind.value}.txt").exists()
