"""Partner sync benchmarks. `make bench` runs them; each compares against a baseline
measured in the same run.

- inbound: signed `reservation.created` events through the real endpoint of a live
  gunicorn server (each makes a booking), and the same events again (duplicates), vs a
  bare Django view (/healthz) under the same load: throughput, p50/p95, ratio;
- change-to-push: a calendar change committed here, delivered by a live Celery worker
  to a local partner server: p50/p95 latency from commit to the partner's receipt.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connections

from bookings.models import Booking
from bookings.services.blocks import block_create, block_remove
from integrations import signatures
from integrations.models import Platform
from integrations.services import channels
from tests.bench.conftest import report, summarize
from tests.bench.test_bookings_bench import gunicorn_server
from tests.factories import BusinessFactory, PropertyFactory

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PROPERTIES, EVENTS, THREADS = 50, 2000, 16
START = date(2031, 3, 1)


def _load(url_for: Any, n: int, method: str = "post") -> tuple[list[float], float, dict[int, int]]:
    """n requests over THREADS threads; returns latencies, wall time and status counts."""
    local = threading.local()

    def one(i: int) -> tuple[int, float]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        url, body, headers = url_for(i)
        began = time.perf_counter()
        if method == "post":
            response = session.post(url, data=body, headers=headers, timeout=30)
        else:
            response = session.get(url, timeout=30)
        return response.status_code, time.perf_counter() - began

    began = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(one, range(n)))
    wall = time.perf_counter() - began
    statuses: dict[int, int] = {}
    for code, _ in results:
        statuses[code] = statuses.get(code, 0) + 1
    return [seconds for _, seconds in results], wall, statuses


def _inbound_rows() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    business = BusinessFactory(slug="benchsync")
    channel, inbound, _ = channels.channel_create(business=business, platform=Platform.AIRBNB)
    for i in range(PROPERTIES):
        prop = PropertyFactory(business=business)
        channels.listing_link_create(channel=channel, listing_id=f"air-{i}", property=prop)
    bodies = []
    for k in range(EVENTS):
        check_in = START + timedelta(days=(k // PROPERTIES) * 3)
        event = {
            "id": f"evt_{k}",
            "type": "reservation.created",
            "occurred_at": "2030-11-22T10:00:00Z",
            "data": {
                "reservation_id": f"HM{k}",
                "revision": 1,
                "listing_id": f"air-{k % PROPERTIES}",
                "check_in": check_in.isoformat(),
                "check_out": (check_in + timedelta(days=2)).isoformat(),
                "guests": 2,
                "guest": {"name": "Bench Guest", "email": "bench@example.com"},
                "total": {"amount": "300.00", "currency": "EUR"},
            },
        }
        bodies.append(json.dumps(event).encode())

    def url_for(base: str) -> Any:
        url = f"{base}/api/v1/channels/{channel.public_id}/events"

        def make(i: int) -> tuple[str, bytes, dict[str, str]]:
            body = bodies[i % EVENTS]
            return (
                url,
                body,
                {
                    "Content-Type": "application/json",
                    signatures.HEADER: signatures.sign(inbound, body),
                },
            )

        return make

    rows: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    with gunicorn_server() as base:
        make = url_for(base)
        # Warm up every worker on the bare view first.
        _load(lambda i: (f"{base}/healthz", b"", {}), 200, method="get")
        bare, bare_wall, bare_statuses = _load(
            lambda i: (f"{base}/healthz", b"", {}), EVENTS, method="get"
        )
        processed, wall, statuses = _load(make, EVENTS)
        duplicates, dup_wall, dup_statuses = _load(make, EVENTS)
    for conn in connections.all():
        conn.close()
    booked = Booking.objects.filter(business=business).count()
    for label, samples, seconds in (
        ("bare Django view /healthz (baseline)", bare, bare_wall),
        ("inbound event -> booking", processed, wall),
        ("inbound duplicate", duplicates, dup_wall),
    ):
        s = summarize(samples)
        rows.append(
            {
                "measure": label,
                "per_s": round(len(samples) / seconds, 1),
                "p50_ms": round(s["median_ms"], 1),
                "p95_ms": round(s["p95_ms"], 1),
                "ratio_to_bare": round((len(samples) / seconds) / (len(bare) / bare_wall), 3),
            }
        )
    extra = {
        "statuses": {"bare": bare_statuses, "processed": statuses, "duplicate": dup_statuses},
        "bookings_created": booked,
        "threads": THREADS,
        "events": EVENTS,
    }
    assert statuses == {200: EVENTS}, statuses
    assert dup_statuses == {200: EVENTS}, dup_statuses
    assert booked == EVENTS
    return rows, extra


class _Sink:
    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.event = threading.Event()


@contextlib.contextmanager
def _partner_server() -> Iterator[tuple[str, _Sink]]:
    sink = _Sink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            sink.arrivals.append(time.time())
            sink.event.set()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", sink
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def _celery_worker(prefix: str, log: Path) -> Iterator[None]:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "HOLIDESK_REDIS_PREFIX": prefix,
        "DEBUG": "true",
        "DATABASE_CONN_MAX_AGE": "60",
        "INTEGRATIONS_KICK_PUSHES": "true",
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel=WARNING",
            "--concurrency=2",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=bench-{prefix}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        time.sleep(4)  # ready in ~2 s on these machines
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _push_rows(tmp: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from config.celery import app

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    # This process enqueues after commit on the same private broker prefix as the worker.
    app.conf.broker_transport_options = {"global_keyprefix": f"{prefix}:celery:"}
    settings.INTEGRATIONS_KICK_PUSHES = True
    business = BusinessFactory(slug="benchpush")
    samples: list[float] = []
    with _partner_server() as (url, sink), _celery_worker(prefix, tmp / "worker.log"):
        channel, _, _ = channels.channel_create(
            business=business, platform=Platform.VRBO, endpoint_url=url
        )
        prop = PropertyFactory(business=business)
        channels.listing_link_create(channel=channel, listing_id="vrbo-1", property=prop)
        today = prop.local_today()
        block = None
        for i in range(30):
            sink.event.clear()
            before = len(sink.arrivals)
            committed = time.time()
            if block is None:
                start = today + timedelta(days=10 + i)
                block = block_create(property=prop, start=start, end=start + timedelta(days=2))
            else:
                block_remove(block=block)
                block = None
            committed = time.time()
            deadline = time.monotonic() + 30
            while len(sink.arrivals) <= before and time.monotonic() < deadline:
                sink.event.wait(0.05)
            if len(sink.arrivals) > before:
                samples.append(sink.arrivals[before] - committed)
            time.sleep(0.2)
    settings.INTEGRATIONS_KICK_PUSHES = False
    s = summarize(samples)
    rows = [
        {
            "measure": "change -> partner receipt (live worker)",
            "per_s": "-",
            "p50_ms": round(s["median_ms"], 1),
            "p95_ms": round(s["p95_ms"], 1),
            "ratio_to_bare": "-",
        }
    ]
    extra = {
        "push_samples": len(samples),
        "push_debounce_s": settings.INTEGRATIONS_PUSH_DEBOUNCE_SECONDS,
        "push_target_p95_ms": 5000,
    }
    assert len(samples) == 30, (tmp / "worker.log").read_text()[-3000:]
    assert s["p95_ms"] < 5000
    return rows, extra


def _in_process_rows() -> list[dict[str, Any]]:
    """Where the time of one event goes, in this process: the endpoint and the booking
    engine alone, then with every app's receivers (guest messages, turnovers, pushes)."""
    from django.test import Client

    from tests.bench.test_bookings_bench import receivers_disconnected

    business = BusinessFactory(slug="benchcost")
    channel, inbound, _ = channels.channel_create(business=business, platform=Platform.BOOKING)
    prop = PropertyFactory(business=business)
    channels.listing_link_create(channel=channel, listing_id="bk-1", property=prop)
    client = Client(HTTP_HOST="localhost")
    url = f"/api/v1/channels/{channel.public_id}/events"
    counter = iter(range(10_000))

    def one() -> None:
        k = next(counter)
        check_in = START + timedelta(days=k * 3)
        body = json.dumps(
            {
                "id": f"cost_{k}",
                "type": "reservation.created",
                "occurred_at": "2030-11-22T10:00:00Z",
                "data": {
                    "reservation_id": f"C{k}",
                    "revision": 1,
                    "listing_id": "bk-1",
                    "check_in": check_in.isoformat(),
                    "check_out": (check_in + timedelta(days=2)).isoformat(),
                },
            }
        ).encode()
        response = client.post(
            url,
            data=body,
            content_type="application/json",
            HTTP_HOLIDESK_SIGNATURE=signatures.sign(inbound, body),
        )
        assert response.status_code == 200

    def timed(n: int) -> list[float]:
        samples = []
        for _ in range(n):
            began = time.perf_counter()
            one()
            samples.append(time.perf_counter() - began)
        return samples

    with receivers_disconnected():
        alone = summarize(timed(100))
    everything = summarize(timed(100))
    return [
        {
            "measure": f"in-process event, {label}",
            "per_s": round(1000 / s["median_ms"], 1),
            "p50_ms": round(s["median_ms"], 1),
            "p95_ms": round(s["p95_ms"], 1),
            "ratio_to_bare": "-",
        }
        for label, s in (("endpoint + engine only", alone), ("with all receivers", everything))
    ]


def test_integrations_benchmarks(tmp_path: Path) -> None:
    rows, extra = _inbound_rows()
    cost_rows = _in_process_rows()
    push_rows, push_extra = _push_rows(tmp_path)
    report("integrations", rows + cost_rows + push_rows, {**extra, **push_extra})
