"""Pushes through real Celery processes: beat's dispatcher claims the pending push, a
worker delivers it to a real HTTP server, a 500 is retried after its backoff, and a
Redis flush in between loses nothing (the outbox is in PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import redis

from bookings.services.blocks import block_create
from integrations.models import PushAttempt, PushOutbox
from tests.conftest import Tenant, make_tenant
from tests.integrations.conftest import make_partner
from tests.support.partner_server import PartnerServer
from tests.support.ports import wait_for
from tests.support.workers import Workers

# Worker processes hold connections of their own: kept on the test process that runs
# the many-connection tests, so the two never add up past PostgreSQL's 100.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.xdist_group("many_connections"),
]
Status = PushOutbox.Status


def test_beat_and_worker_deliver_retry_and_survive_a_redis_flush(
    workers: Workers,
    partner_server: PartnerServer,
    tmp_path: Path,
) -> None:
    tenant: Tenant = make_tenant("seaside")
    make_partner(tenant, endpoint=partner_server.url)
    partner_server.statuses = [500, 200]
    workers.env.update(
        INTEGRATIONS_PUSH_DISPATCH_INTERVAL="0.5",
        INTEGRATIONS_PUSH_FIRST_RETRY_SECONDS="1",
        INTEGRATIONS_PUSH_DEBOUNCE_SECONDS="0",
        INTEGRATIONS_KICK_PUSHES="false",
    )
    start = tenant.prop.local_today() + timedelta(days=30)
    block_create(property=tenant.prop, start=start, end=start + timedelta(days=2))
    assert PushOutbox.objects.filter(status=Status.PENDING).count() == 1
    # Whatever the broker held is gone before any process starts.
    redis.Redis.from_url(workers.env["REDIS_URL"]).flushall()

    workers.worker(tmp_path, concurrency=1)
    workers.beat(tmp_path)
    assert wait_for(lambda: PushOutbox.objects.filter(status=Status.DELIVERED).count() == 1, 30), (
        workers.output()
    )
    assert [a.status_code for a in PushAttempt.objects.order_by("number")] == [500, 200]
    assert len(partner_server.requests) == 2
    body = partner_server.bodies()[-1]
    assert body["type"] == "availability.updated"
