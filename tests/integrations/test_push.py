"""Outbound pushes against a real local HTTP server: success, retry, timeout, dead
letter, coalescing, supersession, re-drive, signatures and payloads."""

from __future__ import annotations

import itertools
import json
import random
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from bookings.services.blocks import block_create, block_remove
from bookings.services.stays import booking_create
from integrations import signatures, ssrf
from integrations.models import PushAttempt, PushOutbox
from integrations.services import channels, push
from tests.conftest import Tenant
from tests.integrations.conftest import Partner, make_partner
from tests.support.partner_server import PartnerServer

pytestmark = pytest.mark.django_db
Status = PushOutbox.Status
# Inside the pushed horizon (a year from today).
BASE = date.today() + timedelta(days=40)


@pytest.fixture
def connected(tenant: Tenant, partner_server: PartnerServer) -> Partner:
    return make_partner(tenant, endpoint=partner_server.url)


def later(seconds: float) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


def pending() -> PushOutbox:
    return PushOutbox.objects.get(status=Status.PENDING)


def change(tenant: Tenant, day: int = 0) -> None:
    start = BASE + timedelta(days=day * 3)
    block_create(property=tenant.prop, start=start, end=start + timedelta(days=2))


def test_calendar_change_enqueues_one_push_in_the_same_transaction(
    tenant: Tenant, connected: Partner
) -> None:
    assert not PushOutbox.objects.exists()
    change(tenant)
    row = pending()
    assert row.channel == connected.channel
    assert row.listing == connected.link
    assert row.kind == PushOutbox.Kind.AVAILABILITY


def test_rolled_back_change_enqueues_nothing(tenant: Tenant, connected: Partner) -> None:
    from bookings.errors import StayUnavailable

    change(tenant)
    PushOutbox.objects.all().delete()
    with pytest.raises(StayUnavailable):
        change(tenant)  # the same nights again: refused, rolled back
    assert not PushOutbox.objects.exists()


def test_channel_without_endpoint_gets_no_push(tenant: Tenant) -> None:
    make_partner(tenant, endpoint="")
    change(tenant)
    assert not PushOutbox.objects.exists()


def test_success_is_delivered_signed_with_full_state(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer
) -> None:
    change(tenant, 0)
    change(tenant, 1)
    booking_create(
        property=tenant.prop,
        check_in=BASE + timedelta(days=30),
        check_out=BASE + timedelta(days=34),
        source="direct",
    )
    row = pending()
    assert push.push_deliver(push_id=row.pk, now=later(2)) == "delivered"
    row.refresh_from_db()
    assert row.status == Status.DELIVERED
    assert row.attempts == 1
    assert len(partner_server.requests) == 1
    sent = partner_server.requests[0]
    body = sent["body"]
    signatures.verify(sent["headers"]["Holidesk-Signature"], body, [connected.outbound])
    payload = json.loads(body)
    assert payload["id"] == row.push_id
    assert payload["type"] == "availability.updated"
    assert payload["data"]["listing_id"] == "air-555"
    # Ranges are half-open [start, end).
    day = BASE.isoformat
    assert payload["data"]["unavailable"] == [
        {"start": day(), "end": (BASE + timedelta(days=2)).isoformat()},
        {
            "start": (BASE + timedelta(days=3)).isoformat(),
            "end": (BASE + timedelta(days=5)).isoformat(),
        },
        {
            "start": (BASE + timedelta(days=30)).isoformat(),
            "end": (BASE + timedelta(days=34)).isoformat(),
        },
    ]
    assert payload["data"]["horizon_end"]
    attempt = PushAttempt.objects.get()
    assert attempt.ok
    assert attempt.status_code == 200
    connected.channel.refresh_from_db()
    assert connected.channel.last_push_ok_at is not None


def test_500_then_success_retries_within_30_seconds(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer
) -> None:
    partner_server.statuses = [500, 200]
    change(tenant)
    row = pending()
    assert push.push_deliver(push_id=row.pk, now=later(2)) == "retry"
    row.refresh_from_db()
    assert row.status == Status.PENDING
    assert row.attempts == 1
    assert row.last_status_code == 500
    assert "HTTP 500" in row.last_error
    assert timedelta(seconds=0) < row.next_attempt_at - timezone.now() <= timedelta(seconds=30)
    assert push.push_deliver(push_id=row.pk, now=later(2)) == "not-due"
    assert push.push_deliver(push_id=row.pk, now=later(31)) == "delivered"
    assert [a.status_code for a in PushAttempt.objects.order_by("number")] == [500, 200]
    assert len(partner_server.requests) == 2


def test_timeout_is_a_failed_attempt(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer, settings: Any
) -> None:
    settings.INTEGRATIONS_PUSH_TIMEOUT_SECONDS = 0.3
    partner_server.delay = 1.0
    change(tenant)
    row = pending()
    assert push.push_deliver(push_id=row.pk, now=later(2)) == "retry"
    attempt = PushAttempt.objects.get()
    assert not attempt.ok
    assert attempt.status_code is None
    assert "No answer within" in attempt.error
    assert 250 <= attempt.latency_ms < 1000


def test_dead_letter_after_the_last_attempt_and_redrive(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer
) -> None:
    partner_server.statuses = [503]
    change(tenant)
    row = pending()
    clock = later(2)
    outcomes = []
    for _ in range(8):
        outcomes.append(push.push_deliver(push_id=row.pk, now=clock))
        row.refresh_from_db()
        clock = row.next_attempt_at + timedelta(seconds=1)
    assert outcomes == ["retry"] * 7 + ["dead"]
    assert row.status == Status.DEAD
    assert row.attempts == 8
    assert PushAttempt.objects.filter(push=row).count() == 8
    connected.channel.refresh_from_db()
    health = push.channel_health(connected.channel)
    assert health["dead_letters"] == 1
    assert health["last_push_error"].startswith("HTTP 503")

    partner_server.statuses = [200]
    assert push.push_redrive(business=tenant.business, push_ids=[row.pk]) == 1
    row.refresh_from_db()
    assert row.status == Status.SUPERSEDED
    assert "Re-driven" in row.last_error
    fresh = pending()
    assert push.push_deliver(push_id=fresh.pk, now=later(2)) == "delivered"
    assert push.channel_health(connected.channel)["dead_letters"] == 0


def test_redrive_of_another_business_does_nothing(
    tenant: Tenant, outsider: Tenant, connected: Partner
) -> None:
    change(tenant)
    PushOutbox.objects.update(status=Status.DEAD)
    assert push.push_redrive(business=outsider.business, push_ids=[pending_id()]) == 0


def pending_id() -> int:
    return PushOutbox.objects.values_list("pk", flat=True).first() or 0


def test_backoff_spans_about_12_hours_over_8_attempts() -> None:
    rng = random.Random(7)
    for _ in range(50):
        delays = [push.backoff_delay(n, rng=rng) for n in range(1, 8)]
        assert delays[0] <= 30
        assert all(b > a for a, b in itertools.pairwise(delays))
        total = sum(delays)
        assert 8 * 3600 <= total <= 16 * 3600


def test_ten_quick_changes_coalesce_into_one_push(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer
) -> None:
    for day in range(10):
        change(tenant, day)
    assert PushOutbox.objects.count() == 1
    claimed: list[int] = []
    assert push.push_dispatch(now=later(2), enqueue=claimed.append) == 1
    for push_id in claimed:
        push.push_deliver(push_id=push_id, now=later(2))
    assert len(partner_server.requests) == 1
    assert len(partner_server.bodies()[0]["data"]["unavailable"]) == 10


def test_newer_change_supersedes_a_push_waiting_for_its_retry(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer
) -> None:
    partner_server.statuses = [500, 200]
    change(tenant, 0)
    old = pending()
    assert push.push_deliver(push_id=old.pk, now=later(2)) == "retry"
    change(tenant, 1)
    old.refresh_from_db()
    assert old.status == Status.SUPERSEDED
    new = pending()
    assert new.pk != old.pk
    assert new.attempts == 0
    assert push.push_deliver(push_id=new.pk, now=later(2)) == "delivered"
    assert len(partner_server.bodies()[-1]["data"]["unavailable"]) == 2


def test_change_while_a_push_is_in_flight_waits_for_it(tenant: Tenant, connected: Partner) -> None:
    change(tenant, 0)
    first = pending()
    PushOutbox.objects.filter(pk=first.pk).update(status=Status.SENDING, sending_at=timezone.now())
    change(tenant, 1)
    second = pending()
    assert push.push_deliver(push_id=second.pk, now=later(2)) == "busy"


def test_lost_sending_row_is_sent_again_by_the_dispatcher(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer
) -> None:
    change(tenant)
    row = pending()
    PushOutbox.objects.filter(pk=row.pk).update(
        status=Status.SENDING, sending_at=timezone.now() - timedelta(minutes=5)
    )
    claimed: list[int] = []
    assert push.push_dispatch(now=later(1), enqueue=claimed.append) == 1
    assert push.push_deliver(push_id=claimed[0], now=later(1)) == "delivered"


def test_block_removal_and_listing_change_push(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer
) -> None:
    start = BASE
    block = block_create(property=tenant.prop, start=start, end=start + timedelta(days=2))
    push.push_deliver(push_id=pending().pk, now=later(2))
    block_remove(block=block)
    push.push_deliver(push_id=pending().pk, now=later(2))
    assert partner_server.bodies()[-1]["data"]["unavailable"] == []
    tenant.prop.name = "Harbour View"
    tenant.prop.save()
    row = PushOutbox.objects.get(status=Status.PENDING, kind=PushOutbox.Kind.LISTING)
    push.push_deliver(push_id=row.pk, now=later(2))
    listing = partner_server.bodies()[-1]
    assert listing["type"] == "listing.updated"
    assert listing["data"]["name"] == "Harbour View"
    assert set(listing["data"]) >= {"max_guests", "bedrooms", "check_in_time", "images"}


def test_hourly_reconciliation_enqueues_every_connected_listing(
    tenant: Tenant, connected: Partner, outsider: Tenant
) -> None:
    make_partner(outsider, endpoint="http://127.0.0.1:9/hook")
    assert push.push_reconcile() == 2
    assert PushOutbox.objects.filter(status=Status.PENDING).count() == 2
    assert push.push_reconcile() == 2  # coalesced into the same rows
    assert PushOutbox.objects.count() == 2


def test_private_endpoint_is_refused_outside_development(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer, settings: Any
) -> None:
    settings.INTEGRATIONS_ALLOW_PRIVATE_URLS = False
    change(tenant)
    assert push.push_deliver(push_id=pending().pk, now=later(2)) == "retry"
    assert partner_server.requests == []
    assert "Refused" in PushAttempt.objects.get().error


def test_answer_from_a_private_address_is_not_trusted(
    tenant: Tenant,
    connected: Partner,
    partner_server: PartnerServer,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the first answer (taken for public, nothing listens there) is
    the one connected to; the later answer pointing at the partner server is never used."""
    settings.INTEGRATIONS_ALLOW_PRIVATE_URLS = False
    answers = [["127.0.0.3"], ["127.0.0.1"]]
    monkeypatch.setattr(
        ssrf, "resolve", lambda host, port: answers.pop(0) if len(answers) > 1 else answers[0]
    )
    change(tenant)
    with ssrf.treat_as_public("127.0.0.3/32"):
        assert push.push_deliver(push_id=pending().pk, now=later(2)) == "retry"
    attempt = PushAttempt.objects.get()
    assert not attempt.ok
    assert partner_server.requests == []


def test_a_slow_drip_answer_is_cut_at_the_total_time_limit(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer, settings: Any
) -> None:
    settings.INTEGRATIONS_PUSH_TIMEOUT_SECONDS = 0.5
    partner_server.drip_seconds = 2.0
    change(tenant)
    assert push.push_deliver(push_id=pending().pk, now=later(2)) == "retry"
    attempt = PushAttempt.objects.get()
    assert "No answer within" in attempt.error
    assert attempt.latency_ms < 1500


def test_outbound_secret_rotation_signs_with_both_secrets_for_a_day(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer
) -> None:
    old = channels.channel_outbound_secret(connected.channel)
    new = channels.channel_rotate_outbound_secret(channel=connected.channel)
    change(tenant)
    push.push_deliver(push_id=pending().pk, now=later(2))
    sent = partner_server.requests[0]
    header = sent["headers"]["Holidesk-Signature"]
    # A partner holding either secret accepts the push during the overlap.
    signatures.verify(header, sent["body"], [new])
    signatures.verify(header, sent["body"], [old])
    # After 24 hours only the new secret signs.
    connected.channel.refresh_from_db()
    later_secrets = channels.channel_outbound_secrets(
        connected.channel, now=timezone.now() + timedelta(hours=25)
    )
    assert later_secrets == [new]
