"""GET /metrics: the token, the request metrics per route group, and every state gauge
read from a hand-built data set."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from psycopg.types.range import Range

from bookings.models import Booking
from bookings.payments.models import Payment, Refund
from config import metrics, metrics_state
from config.telemetry import RequestMiddleware
from integrations.models import Channel, IcalFeed, ListingLink, Platform, PushOutbox
from integrations.services import channels
from messaging.models import ScheduledMessage, SentEmail
from properties.models import Business, Property
from tests.conftest import APP_HOST, Tenant, site_host
from tests.factories import PropertyFactory
from tests.settings_names import ROOT as REPO

TOKEN = "metrics-token-for-the-tests-0123456789abcdef"


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("kaput")


# Used by the 5xx test through @pytest.mark.urls: one API route that fails.
urlpatterns = [path("api/v1/boom", _boom, name="api-boom")]


@pytest.fixture
def token(settings: Any) -> str:
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    cache.delete(metrics_state.CACHE_KEY)
    yield
    cache.delete(metrics_state.CACHE_KEY)


@pytest.fixture
def broker_prefix(settings: Any) -> Iterator[str]:
    """A broker key prefix of this test's own, so no worker sees what it pushes."""
    prefix = f"holidesk-test-{uuid.uuid4().hex[:8]}:celery:"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": prefix}
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield prefix
    keys = client.keys(prefix + "*")
    if keys:
        client.delete(*keys)
    client.close()


def _scrape(client: Client, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


# --- The token ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_answer_404_without_a_configured_token(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    client = Client(HTTP_HOST=APP_HOST)
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
def test_metrics_answer_404_without_the_right_token(token: str, authorization: str | None) -> None:
    client = Client(HTTP_HOST=APP_HOST)
    headers = {"Authorization": authorization} if authorization else {}
    assert client.get("/metrics", headers=headers).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("host", [APP_HOST, "127.0.0.1:8000", "localhost:8000"])
def test_metrics_answer_with_the_token_on_the_app_host_and_loopback(
    token: str, host: str, broker_prefix: str
) -> None:
    values = _scrape(Client(HTTP_HOST=host), Authorization=f"Bearer {token}")
    assert ("holidesk_scheduled_messages_waiting", ()) in values


@pytest.mark.django_db
def test_metrics_are_not_served_on_a_business_site(token: str, tenant: Tenant) -> None:
    client = Client(HTTP_HOST=site_host(tenant.business))
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert b"holidesk_" not in response.content


# --- Request metrics ---------------------------------------------------------------------


def _count(group: str) -> float:
    value = metrics.REQUEST_REGISTRY.get_sample_value(
        "holidesk_http_request_duration_seconds_count", {"group": group}
    )
    return value or 0.0


def _errors(group: str) -> float:
    value = metrics.REQUEST_REGISTRY.get_sample_value(
        "holidesk_http_server_errors_total", {"group": group}
    )
    return value or 0.0


@pytest.mark.django_db
def test_requests_are_timed_under_their_route_group(tenant: Tenant) -> None:
    owner = tenant.admin_client()
    app = Client(HTTP_HOST=APP_HOST)
    requests = [
        ("dashboard", lambda: owner.get("/dashboard/conflicts/")),
        ("admin", lambda: owner.get("/admin/")),
        ("api", lambda: owner.get("/api/v1/properties/")),
        ("webhooks", lambda: app.post("/webhooks/stripe/", b"{}", "application/json")),
        ("ical", lambda: app.get("/ical/no-such-token.ics")),
        ("site", lambda: tenant.site_client().get("/")),
        ("health", lambda: app.get("/healthz")),
        ("other", lambda: app.get("/no/such/page/")),
    ]
    for group, send in requests:
        before, errors_before = _count(group), _errors(group)
        assert send().status_code < 500, group
        assert _count(group) == before + 1, group
        assert _errors(group) == errors_before, group


@pytest.mark.django_db
@pytest.mark.urls("tests.test_metrics")
def test_a_server_error_is_counted_under_its_group() -> None:
    client = Client(HTTP_HOST=APP_HOST, raise_request_exception=False)
    before, other_before = _errors("api"), _errors("other")
    assert client.get("/api/v1/boom").status_code == 500
    assert _errors("api") == before + 1
    assert _errors("other") == other_before


def test_the_route_group_never_comes_from_the_raw_path() -> None:
    request = HttpRequest()
    request.path_info = "/admin/secret-token-in-a-path/"
    response = RequestMiddleware(lambda r: HttpResponse(status=502))(request)
    assert response.status_code == 502
    families = {family.name for family in metrics.REQUEST_REGISTRY.collect()}
    assert families == {"holidesk_http_request_duration_seconds", "holidesk_http_server_errors"}
    for family in metrics.REQUEST_REGISTRY.collect():
        for sample in family.samples:
            assert sample.labels.get("group") in metrics.ROUTE_GROUPS


# --- State gauges ------------------------------------------------------------------------


def _booking(prop: Property, days: int, **fields: object) -> Booking:
    start = date.today() + timedelta(days=days)
    return Booking.objects.create(
        business=prop.business,
        property=prop,
        stay=Range(start, start + timedelta(days=2), "[)"),
        currency="EUR",
        **fields,
    )


def _message(business: Business, n: int, state: str, send_at: timedelta) -> ScheduledMessage:
    return ScheduledMessage.objects.create(
        business=business,
        kind="reminder",
        recipient=f"guest{n}@example.com",
        key=f"metrics-test-{n}",
        send_at=timezone.now() + send_at,
        state=state,
    )


def _link(business: Business, platform: str) -> ListingLink:
    channel: Channel = channels.channel_create(business=business, platform=platform)[0]
    return channels.listing_link_create(
        channel=channel, listing_id=f"lst-{platform}", property=PropertyFactory(business=business)
    )


def _push(link: ListingLink, status: str, kind: str = "availability") -> PushOutbox:
    return PushOutbox.objects.create(
        business=link.business,
        channel=link.channel,
        listing=link,
        kind=kind,
        status=status,
        next_attempt_at=timezone.now(),
    )


def _payment(booking: Booking, status: str) -> Payment:
    return Payment.objects.create(
        business=booking.business,
        booking=booking,
        gateway="fake",
        status=status,
        amount=Decimal("100.00"),
        currency="EUR",
        amount_minor=10000,
    )


def _age(model: type, pk: int, **fields: object) -> None:
    """Set auto_now columns to the past (save() would reset them)."""
    model._default_manager.filter(pk=pk).update(**fields)  # type: ignore[attr-defined]


@pytest.fixture
def data_set(tenant: Tenant) -> None:
    business, prop = tenant.business, tenant.prop
    now = timezone.now()
    # Outbox: two due (the oldest 120 s late), one tomorrow, one sent, failures.
    _message(business, 1, "scheduled", timedelta(seconds=-120))
    _message(business, 2, "scheduled", timedelta(seconds=-30))
    _message(business, 3, "scheduled", timedelta(days=1))
    _message(business, 4, "sent", timedelta(hours=-1))
    _message(business, 5, "failed", timedelta(minutes=-20))
    _message(business, 6, "failed", timedelta(minutes=-10))
    old_failure = _message(business, 7, "failed", timedelta(hours=-5))
    _age(ScheduledMessage, old_failure.pk, updated_at=now - timedelta(hours=3))
    # Sent emails: 6 in the last five minutes, 2 before.
    for n, ago in enumerate([10, 30, 60, 120, 200, 280, 400, 900]):
        SentEmail.objects.create(
            business=business,
            kind="reminder",
            to=f"guest{n}@example.com",
            subject="Hello",
            message_id=f"<{n}@test>",
            backend="test",
            sent_at=now - timedelta(seconds=ago),
        )
    # Pushes: Airbnb 2 pending + 1 dead; Other 1 sending + 2 dead; 1 delivered.
    airbnb, other = _link(business, Platform.AIRBNB), _link(business, Platform.OTHER)
    _push(airbnb, "pending")
    _push(airbnb, "pending", kind="listing")
    _push(airbnb, "dead")
    _push(airbnb, "delivered")
    _push(other, "sending")
    _push(other, "dead")
    _push(other, "dead")
    # iCal: one active Vrbo feed failing; an inactive failing one and a healthy one.
    for platform, active, failures in [
        ("vrbo", True, 3),
        ("airbnb", False, 2),
        ("booking", True, 0),
    ]:
        IcalFeed.objects.create(
            business=business,
            property=prop,
            platform=platform,
            url=f"https://example.com/{platform}.ics",
            active=active,
            consecutive_failures=failures,
        )
    # Holds: two running, one run out; a confirmed stay.
    _booking(prop, 10, status="held", hold_expires_at=now + timedelta(minutes=20))
    _booking(prop, 20, status="held", hold_expires_at=now + timedelta(minutes=5))
    _booking(prop, 30, status="held", hold_expires_at=now - timedelta(minutes=1))
    stay = _booking(prop, 40, status="confirmed")
    # Payments: two declined in the last hour, one declined yesterday, one paid.
    _payment(stay, "failed")
    _payment(stay, "failed")
    old_decline = _payment(stay, "failed")
    _age(Payment, old_decline.pk, updated_at=now - timedelta(days=1))
    paid = _payment(stay, "succeeded")
    # Refunds: one refused today, one refused three days ago, one refunded.
    for status, age in [
        ("failed", timedelta(hours=2)),
        ("failed", timedelta(days=3)),
        ("succeeded", timedelta(0)),
    ]:
        refund = Refund.objects.create(
            business=business,
            payment=paid,
            booking=stay,
            amount=Decimal("10.00"),
            currency="EUR",
            reason="cancellation",
            status=status,
        )
        _age(Refund, refund.pk, updated_at=now - age)


@pytest.mark.django_db
def test_every_state_gauge_has_the_value_of_the_data_set(
    data_set: None, token: str, broker_prefix: str
) -> None:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.rpush(broker_prefix + "celery", "a", "b", "c")
    broker.rpush(broker_prefix + "celery\x06\x163", "d", "e")
    broker.rpush(broker_prefix + "celery\x06\x169", "f")
    broker.rpush("celery", "not-under-the-prefix")
    try:
        values = _scrape(Client(HTTP_HOST=APP_HOST), Authorization=f"Bearer {token}")
    finally:
        broker.delete("celery")
        broker.close()

    def value(name: str, **labels: str) -> float:
        return values[(name, tuple(sorted(labels.items())))]

    assert value("holidesk_outbox_due_messages") == 2
    assert 119 <= value("holidesk_outbox_dispatch_lag_seconds") <= 125
    assert value("holidesk_scheduled_messages_waiting") == 3
    assert value("holidesk_email_send_rate_per_second") == pytest.approx(6 / 300)
    assert value("holidesk_email_failures_last_hour") == 2
    assert value("holidesk_pushes_waiting", platform="airbnb") == 2
    assert value("holidesk_pushes_waiting", platform="other") == 1
    assert value("holidesk_pushes_waiting", platform="vrbo") == 0
    assert value("holidesk_push_dead_letters", platform="airbnb") == 1
    assert value("holidesk_push_dead_letters", platform="other") == 2
    assert value("holidesk_push_dead_letters", platform="booking") == 0
    assert value("holidesk_ical_feeds_failing", platform="vrbo") == 1
    assert value("holidesk_ical_feeds_failing", platform="airbnb") == 0
    assert value("holidesk_payments_failed_last_hour") == 2
    assert value("holidesk_refunds_refused_last_day") == 1
    assert value("holidesk_holds_active") == 2
    assert value("holidesk_celery_queue_length", queue="celery") == 6
    assert value("holidesk_metrics_state_ok") == 1
    # Request metrics are there too, one series per group.
    for group in metrics.ROUTE_GROUPS:
        assert ("holidesk_http_server_errors_total", (("group", group),)) in values


@pytest.mark.django_db
def test_state_is_cached_between_scrapes(tenant: Tenant, token: str, broker_prefix: str) -> None:
    client = Client(HTTP_HOST=APP_HOST)
    auth = {"Authorization": f"Bearer {token}"}
    assert _scrape(client, **auth)[("holidesk_scheduled_messages_waiting", ())] == 0
    _message(tenant.business, 1, "scheduled", timedelta(hours=1))
    assert _scrape(client, **auth)[("holidesk_scheduled_messages_waiting", ())] == 0
    cache.delete(metrics_state.CACHE_KEY)
    assert _scrape(client, **auth)[("holidesk_scheduled_messages_waiting", ())] == 1


def test_queue_names_follow_the_celery_configuration() -> None:
    from config.celery import app

    assert app.conf.task_default_queue in metrics_state.celery_queue_names()


def test_multiprocess_mode_reports_the_requests_of_every_process(tmp_path: Path) -> None:
    """gunicorn's processes write to PROMETHEUS_MULTIPROC_DIR; a scrape sums them."""
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    record = (
        "import django; django.setup(); from config import metrics; "
        "metrics.SERVER_ERRORS.labels('webhooks').inc()"
    )
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-c", record], cwd=REPO, env=env, check=True, capture_output=True
        )
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(tmp_path))  # type: ignore[no-untyped-call]
    text = generate_latest(registry).decode()
    assert 'holidesk_http_server_errors_total{group="webhooks"} 2.0' in text
    assert 'holidesk_http_server_errors_total{group="admin"} 0.0' in text


@pytest.mark.django_db
def test_a_failing_state_read_still_serves_the_request_metrics(
    token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise redis.ConnectionError("Redis is down")

    monkeypatch.setattr(metrics_state, "read_state", broken)
    values = _scrape(Client(HTTP_HOST=APP_HOST), Authorization=f"Bearer {token}")
    assert values[("holidesk_metrics_state_ok", ())] == 0
    assert ("holidesk_http_server_errors_total", (("group", "api"),)) in values
    assert not any(name == "holidesk_scheduled_messages_waiting" for name, _ in values)
