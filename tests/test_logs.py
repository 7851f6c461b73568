"""JSON logs: one line per request and per task, and a request id that follows the work
from the request into the Celery task it enqueues and the partner push that task makes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery.worker.request import Request
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.utils import timezone
from kombu import Connection, Producer, Queue

from bookings.services.blocks import block_create
from config.celery import app
from config.jsonlog import JsonFormatter
from config.task_signals import HEADER
from integrations.models import PushOutbox
from integrations.tasks import deliver_push
from properties import request_id
from tests.conftest import APP_HOST, Tenant
from tests.integrations.conftest import make_partner
from tests.support.partner_server import PartnerServer


def _enqueue_push(request: HttpRequest) -> HttpResponse:
    deliver_push.delay(int(request.GET["push"]))
    return HttpResponse("queued")


# Used through @pytest.mark.urls: a page that enqueues a task, as views do after commit.
urlpatterns = [path("enqueue-push", _enqueue_push, name="enqueue-push")]


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What holidesk.request and holidesk.task write, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(name) for name in ("holidesk.request", "holidesk.task")]
    for logger in loggers:
        logger.addHandler(handler)
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture
def memory_broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Connection]:
    """Tasks published in this test go to one declared queue of an in-memory broker,
    not to Redis, whatever routing state earlier tests left in the Celery app."""
    connection = Connection("memory://")
    queue = Queue(app.conf.task_default_queue)
    queue(connection.default_channel).declare()
    send = app.amqp.send_task_message

    def send_to_memory(producer: Any, name: str, message: Any, **options: Any) -> Any:
        options.update(queue=queue, exchange=None, routing_key=None, declare=[queue])
        return send(Producer(connection), name, message, **options)

    monkeypatch.setattr(app.amqp, "send_task_message", send_to_memory)
    yield connection
    connection.release()


@pytest.mark.django_db
def test_a_request_writes_one_json_line_with_its_fields(
    tenant: Tenant, log_lines: io.StringIO
) -> None:
    client = tenant.admin_client()
    response = client.get("/dashboard/conflicts/", headers={"X-Request-ID": "edge-1234.abcd"})
    assert response.status_code == 200
    assert response["X-Request-ID"] == "edge-1234.abcd"
    [line] = _lines(log_lines)
    assert line["logger"] == "holidesk.request"
    assert line["method"] == "GET"
    assert line["route"] == "dashboard:conflicts"
    assert line["group"] == "dashboard"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["request_id"] == "edge-1234.abcd"
    assert line["business_id"] == tenant.business.pk
    assert line["user_id"] == tenant.owner.pk
    # Ids only: no email, name or path.
    text = log_lines.getvalue()
    assert tenant.owner.email not in text
    assert "/dashboard/conflicts/" not in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "given", [None, "short", "has spaces in it", "x" * 200, "<script>1234</script>"]
)
def test_a_missing_or_malformed_request_id_is_replaced(
    log_lines: io.StringIO, given: str | None
) -> None:
    headers = {"X-Request-ID": given} if given else {}
    response = Client(HTTP_HOST=APP_HOST).get("/ical/no-such-token.ics", headers=headers)
    generated = response["X-Request-ID"]
    assert generated != given
    assert request_id.well_formed(generated) == generated
    [line] = _lines(log_lines)
    assert line["request_id"] == generated
    assert line["route"] == "ical-export"
    assert line["status"] == 404
    assert line["business_id"] is None
    assert line["user_id"] is None
    # Tokens in the path never reach the log.
    assert "no-such-token" not in log_lines.getvalue()


@pytest.mark.django_db
def test_a_business_site_request_logs_its_business(tenant: Tenant, log_lines: io.StringIO) -> None:
    tenant.site_client().get("/")
    [line] = _lines(log_lines)
    assert line["group"] == "site"
    assert line["route"] == "site-home"
    assert line["business_id"] == tenant.business.pk


@pytest.mark.django_db
@pytest.mark.urls("tests.test_logs")
def test_the_request_id_follows_into_the_task_and_the_partner_push(
    tenant: Tenant,
    partner_server: PartnerServer,
    memory_broker: Connection,
    log_lines: io.StringIO,
) -> None:
    make_partner(tenant, endpoint=partner_server.url)
    start = tenant.prop.local_today() + timedelta(days=40)
    block_create(property=tenant.prop, start=start, end=start + timedelta(days=2))
    row = PushOutbox.objects.get(status=PushOutbox.Status.PENDING)
    PushOutbox.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())

    queue = memory_broker.SimpleQueue(app.conf.task_default_queue)
    response = Client(HTTP_HOST=APP_HOST).get(
        f"/enqueue-push?push={row.pk}", headers={"X-Request-ID": "req-from-the-edge-42"}
    )
    assert response.status_code == 200

    # The message in the broker carries the id in its headers...
    message = queue.get(timeout=2)
    assert message.headers[HEADER] == "req-from-the-edge-42"
    # ...and a worker running it (as `celery worker` does) works under that id.
    assert request_id.current_request_id() == ""
    Request(message, app=app, task=deliver_push).execute()
    assert request_id.current_request_id() == ""

    row.refresh_from_db()
    assert row.status == PushOutbox.Status.DELIVERED
    [sent] = partner_server.requests
    assert sent["headers"]["X-Request-ID"] == "req-from-the-edge-42"
    request_line, task_line = _lines(log_lines)
    assert request_line["request_id"] == "req-from-the-edge-42"
    assert task_line["logger"] == "holidesk.task"
    assert task_line["task"] == "integrations.tasks.deliver_push"
    assert task_line["task_id"] == message.headers["id"]
    assert task_line["outcome"] == "success"
    assert task_line["result"] == "delivered"
    assert task_line["request_id"] == "req-from-the-edge-42"
    assert isinstance(task_line["duration_ms"], float)


@pytest.mark.django_db
def test_a_task_from_beat_gets_a_request_id_of_its_own(log_lines: io.StringIO) -> None:
    deliver_push.apply(args=(0,))
    [line] = _lines(log_lines)
    assert line["task"] == "integrations.tasks.deliver_push"
    assert line["result"] == "not-due"
    assert request_id.well_formed(line["request_id"])
    assert request_id.current_request_id() == ""


@pytest.mark.django_db
def test_a_task_applied_in_process_keeps_the_id_it_was_given(log_lines: io.StringIO) -> None:
    deliver_push.apply(args=(0,), headers={HEADER: "given-id-1234"})
    [line] = _lines(log_lines)
    assert line["request_id"] == "given-id-1234"


def test_a_push_outside_any_request_sends_no_request_id() -> None:
    assert request_id.outbound_headers() == {}
    token = request_id.bind_request_id("abcdef123456")
    try:
        assert request_id.outbound_headers() == {"X-Request-ID": "abcdef123456"}
    finally:
        request_id.unbind_request_id(token)


def test_production_logs_are_json_lines() -> None:
    from tests.test_settings_env import PRODUCTION_ENV, _manage

    result = _manage(
        "shell",
        "-c",
        "import logging; logging.getLogger('holidesk.x').warning('hello')",
        **PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stderr
    [line] = [json.loads(text) for text in result.stderr.splitlines() if "hello" in text]
    assert line["level"] == "WARNING"
    assert line["logger"] == "holidesk.x"
    assert line["message"] == "hello"


def test_sentry_is_set_up_when_a_dsn_is_given() -> None:
    from tests.test_settings_env import PRODUCTION_ENV, _manage

    result = _manage(
        "shell",
        "-c",
        "import sentry_sdk; c = sentry_sdk.get_client(); "
        "print(c.is_active(), c.options['send_default_pii'], c.options['environment'])",
        SENTRY_DSN="https://public@sentry.example.com/1",
        SENTRY_ENVIRONMENT="staging",
        **PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["True", "False", "staging"]
