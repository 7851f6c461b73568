"""Real Celery worker and beat processes against the test database and a private
Redis: a worker killed mid-send, two beats at once, the rate limit across workers."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.utils import timezone

from messaging.models import Kind, ScheduledMessage
from messaging.services.outbox import outbox_dispatch, outbox_recover_stale
from properties.models import Business
from tests.conftest import Tenant
from tests.support.ports import wait_for
from tests.support.smtp import Sink
from tests.support.workers import Workers

State = ScheduledMessage.State
N = int(os.environ.get("BURST_N", "5000"))
# Worker processes hold connections of their own: kept on the test process that runs
# the many-connection tests, so the two never add up past PostgreSQL's 100.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.xdist_group("many_connections"),
]


def due(business: Business, n: int, *, prefix: str = "w") -> list[int]:
    now = timezone.now() - timedelta(seconds=1)
    rows = ScheduledMessage.objects.bulk_create(
        [
            ScheduledMessage(
                business=business,
                kind=Kind.OWNER_CONFLICT,
                recipient=f"owner{i}@example.com",
                key=f"{prefix}:{uuid.uuid4().hex}:{i}",
                send_at=now,
                context={"summary": f"conflict {i}"},
            )
            for i in range(n)
        ],
        batch_size=1000,
    )
    return [row.pk for row in rows]


def kick(workers: Workers) -> None:
    """What one beat tick does: ask a worker to run the dispatcher."""
    app = Celery(
        "test-kick",
        set_as_current=False,
        broker=workers.env["REDIS_URL"],
        broker_transport_options={
            "global_keyprefix": f"{workers.env['HOLIDESK_REDIS_PREFIX']}:celery:"
        },
    )
    app.send_task("messaging.tasks.dispatch_due")
    app.close()


def sent(ids: list[int]) -> int:
    return ScheduledMessage.objects.filter(pk__in=ids, state=State.SENT).count()


def test_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(
    tenant: Tenant, smtp_sink: Sink, workers: Workers, tmp_path: Path
) -> None:
    smtp_sink.delay_first = 4.0  # the first SMTP conversation hangs after DATA arrived
    workers.env.update(EMAIL_URL=f"smtp://127.0.0.1:{smtp_sink.port}", EMAIL_RATE_PER_SECOND="100")
    ids = due(tenant.business, 5)
    first = workers.worker(tmp_path, name="first", concurrency=1)
    kick(workers)
    assert wait_for(lambda: len(smtp_sink.messages) == 1, 20), workers.output()
    workers.kill(first)  # mid-send: the server has the message, the worker never heard "250"
    in_flight = ScheduledMessage.objects.get(pk__in=ids, state=State.SENDING)
    workers.worker(tmp_path, name="second", concurrency=1)
    assert wait_for(lambda: sent(ids) == 4, 30), workers.output()
    # Housekeeping later flags the interrupted one for review; nothing is sent twice.
    later = timezone.now() + timedelta(hours=1)
    assert outbox_recover_stale(now=later) == 1
    assert outbox_dispatch(now=later, enqueue=lambda i, p: None) == 0
    in_flight.refresh_from_db()
    assert in_flight.state == State.FAILED
    assert in_flight.needs_review
    assert len(smtp_sink.messages) == 5
    assert set(smtp_sink.by_message_id().values()) == {1}


def test_two_beat_processes_at_once_send_nothing_twice(
    tenant: Tenant, smtp_sink: Sink, workers: Workers, tmp_path: Path
) -> None:
    workers.env.update(
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_sink.port}",
        EMAIL_RATE_PER_SECOND="200",
        MESSAGING_DISPATCH_INTERVAL="0.3",
    )
    ids = due(tenant.business, 20)
    workers.worker(tmp_path, concurrency=3)
    workers.beat(tmp_path, name="beat-old")
    workers.beat(tmp_path, name="beat-new")  # a deploy overlap
    assert wait_for(lambda: sent(ids) == 20, 30), workers.output()
    more = due(tenant.business, 20, prefix="later")
    assert wait_for(lambda: sent(more) == 20, 30), workers.output()
    assert len(smtp_sink.messages) == 40
    assert set(smtp_sink.by_message_id().values()) == {1}


def _max_in_any_second(stamps: list[datetime]) -> int:
    ordered = sorted(stamps)
    best = 0
    left = 0
    for right, stamp in enumerate(ordered):
        while stamp - ordered[left] >= timedelta(seconds=1):
            left += 1
        best = max(best, right - left + 1)
    return best


@pytest.mark.slow
def test_rate_limit_holds_across_two_worker_processes_in_a_burst(
    tenant: Tenant, workers: Workers, tmp_path: Path
) -> None:
    # 5,000 at the default 10/s would take over 8 minutes; the limiter does not care
    # about the figure, so the burst runs at 100/s (about what two workers on two
    # cores can exceed, so the limiter is what holds them back) into an in-memory
    # mail backend. BURST_N / BURST_RATE change the figures.
    rate = int(os.environ.get("BURST_RATE", "100"))
    workers.env.update(
        EMAIL_URL="memory:",
        EMAIL_RATE_PER_SECOND=str(rate),
        DATABASE_CONN_MAX_AGE="60",
        # Production mode: no per-query debug bookkeeping in the workers.
        DEBUG="false",
        SECRET_KEY="burst-test-" + "k" * 50,
        HOLIDESK_ENCRYPTION_KEY="burst-test-key",
        PAYMENTS_BACKEND="fake",
    )
    ids = due(tenant.business, N)
    workers.worker(tmp_path, name="w1", concurrency=3, loglevel="WARNING")
    workers.worker(tmp_path, name="w2", concurrency=3, loglevel="WARNING")
    kick(workers)
    # The limiter bounds the rate from above only: a loaded machine may send slower, so
    # the wait allows several times the burst's length.
    assert wait_for(lambda: sent(ids) == N, 5 * N / rate, interval=0.5), workers.output()
    rows = ScheduledMessage.objects.filter(pk__in=ids)
    # `sending_at` is the limiter's grant time on the Redis clock, taken right before
    # the provider call; `sent_at` is when the provider call returned.
    grants = list(rows.values_list("sending_at", flat=True))
    finished = list(rows.values_list("sent_at", flat=True))
    assert len(set(rows.values_list("sent_email__backend", flat=True))) == 1
    busiest = _max_in_any_second([g for g in grants if g is not None])
    assert busiest <= rate, f"{busiest} sends in one second (limit {rate})"
    print(f"busiest second: {busiest} granted, {_max_in_any_second(finished)} finished")
    spread = max(grants) - min(grants)
    assert spread >= timedelta(seconds=N / rate - 1.5)
