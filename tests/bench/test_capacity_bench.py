"""Capacity per process: requests per second one gunicorn process serves, and messages
per second one Celery worker process sends. `make bench` runs it
(`PYTEST_ARGS=tests/bench/test_capacity_bench.py make bench` for this one alone);
docs/deployment.md turns the figures into task counts.

- web: one gunicorn sync process with production settings (`DEBUG=false`; as in
  production, `threads = 1`), kept busy by
  CLIENTS concurrent clients for SECONDS per case: a business's home page, a property
  page with a quote (availability and pricing), the owner's Today and calendar, and a
  mix of them; the baseline in the same run is `/healthz` (no database, no template).
- worker: one Celery worker process (concurrency 1) with beat dispatching every
  second and the email limiter lifted out of the way (EMAIL_RATE_PER_SECOND=1000,
  `memory:` email backend): owner notices, and booking confirmations with their .ics
  attachment, from due in the outbox to sent.

The load generator shares the machine's cores with the server, so the figures are a
floor for a dedicated vCPU.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import psutil  # type: ignore[import-untyped]
import pytest
import requests
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from bookings.services.stays import booking_create
from messaging.models import Kind, ScheduledMessage
from properties.models import Business, Property
from tests.bench.conftest import report, summarize
from tests.conftest import make_tenant
from tests.factories import PropertyFactory
from tests.support.ports import wait_for
from tests.support.workers import Workers, process_database_url

pytestmark = [pytest.mark.bench, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
CLIENTS, SECONDS = 4, 12
SERVER_SECRET_KEY = secrets.token_urlsafe(48)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def one_gunicorn_process() -> Iterator[tuple[int, int]]:
    port = _free_port()
    # Production settings (DEBUG off: no query log, no debug toolbar of any kind), over
    # plain HTTP on loopback; `owner_cookies` signs its session with the same key.
    env = {
        **os.environ,
        "DATABASE_URL": process_database_url(),
        "DEBUG": "false",
        "SECRET_KEY": SERVER_SECRET_KEY,
        "HOLIDESK_ENCRYPTION_KEY": settings.HOLIDESK_ENCRYPTION_KEY,
        "PAYMENTS_BACKEND": "fake",
        "SECURE_SSL_REDIRECT": "false",
        "HOLIDESK_URL_SCHEME": "http",
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }
    # As the image does at build time: the manifest of hashed static files.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "1",
            "--backlog",
            "256",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        assert wait_for(lambda: _answers(port), 30), "gunicorn did not start"
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children so far."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def owner_cookies(user: Any) -> dict[str, str]:
    """A signed-in owner's session cookie (the session row is in the database the
    server reads; it binds to the app host on its first request)."""
    client = Client(HTTP_HOST="localhost")
    with override_settings(SECRET_KEY=SERVER_SECRET_KEY):
        client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return {name: client.cookies[name].value}


def load(
    port: int, pid: int, host: str, paths: list[str], cookies: dict[str, str]
) -> dict[str, Any]:
    """CLIENTS threads request `paths` on `host` round-robin for SECONDS; requests per
    second, latency of the answers (every answer must be a 200), and the server's CPU
    time per request (what a dedicated vCPU would spend, whatever else the machine
    runs meanwhile)."""
    urls = [f"http://127.0.0.1:{port}{path}" for path in paths]
    latencies: list[float] = []
    bad: list[int] = []
    lock = threading.Lock()
    stop = time.perf_counter() + SECONDS

    def client(offset: int) -> None:
        session = requests.Session()
        session.headers["Host"] = f"{host}:{port}"
        session.cookies.update(cookies)
        i = offset
        while time.perf_counter() < stop:
            url = urls[i % len(urls)]
            i += 1
            began = time.perf_counter()
            answer = session.get(url, timeout=30)
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if answer.status_code != 200:
                    bad.append(answer.status_code)

    cpu_before = cpu_seconds(pid)
    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / max(1, len(latencies))
    assert not bad, f"non-200 answers: {sorted(set(bad))}"
    return {
        "rps": len(latencies) / wall,
        **summarize(latencies),
        "cpu_ms_per_req": cpu_ms,
        "rps_per_vcpu": 1000 / cpu_ms if cpu_ms else float("nan"),
    }


def business_with_stays(slug: str) -> tuple[Business, list[Property], Any]:
    tenant = make_tenant(slug)
    props: list[Property] = [tenant.prop]
    props += [cast(Property, PropertyFactory(business=tenant.business)) for _ in range(19)]
    today = tenant.prop.local_today()
    for n, prop in enumerate(props):
        for k in range(6):
            check_in = today + timedelta(days=3 + k * 9 + n % 4)
            booking_create(
                property=prop,
                check_in=check_in,
                check_out=check_in + timedelta(days=4),
                guests=2,
                source="owner",
                guest_name=f"Guest {n}-{k}",
            )
    return tenant.business, props, tenant


def test_requests_per_second_per_web_process() -> None:
    business, props, tenant = business_with_stays("bench-web")
    today = props[0].local_today()
    quote = f"check_in={today + timedelta(days=60)}&check_out={today + timedelta(days=64)}&guests=2"
    ScheduledMessage.objects.all().delete()  # keep the outbox out of the picture
    with one_gunicorn_process() as (port, pid):
        site = f"{business.slug}.localhost"
        cookies = owner_cookies(tenant.owner)
        pages = [f"/p/{p.slug}/?{quote}" for p in props]
        cases: list[tuple[str, str, list[str], dict[str, str]]] = [
            ("baseline: /healthz", "localhost", ["/healthz"], {}),
            ("site home", site, ["/"], {}),
            ("property page with quote", site, pages, {}),
            ("owner Today", "localhost", ["/dashboard/"], cookies),
            ("owner calendar", "localhost", ["/dashboard/calendar/"], cookies),
        ]
        rows = [
            {"case": name, **load(port, pid, host, paths, jar)} for name, host, paths, jar in cases
        ]
        # The mix the capacity figures use: mostly visitors, some owners.
        visitors = load(port, pid, site, ["/"] * 3 + pages[:5], {})
        owners = load(port, pid, "localhost", ["/dashboard/", "/dashboard/calendar/"], cookies)
        mix_cpu = 0.8 * visitors["cpu_ms_per_req"] + 0.2 * owners["cpu_ms_per_req"]
        rows.append(
            {
                "case": "mix: 80 % visitors, 20 % owners",
                "rps": 1 / (0.8 / visitors["rps"] + 0.2 / owners["rps"]),
                "cpu_ms_per_req": mix_cpu,
                "rps_per_vcpu": 1000 / mix_cpu,
            }
        )
    for row in rows:
        row.setdefault("n", 0)
        row["share_of_baseline"] = row["rps"] / rows[0]["rps"]
    report(
        "capacity-web",
        rows,
        {
            "clients": CLIENTS,
            "seconds_per_case": SECONDS,
            "process": "gunicorn sync, 1 thread",
            "load_average_1m": os.getloadavg()[0],
            "cpus": os.cpu_count(),
        },
    )
    assert rows[0]["rps"] > 0


def _sent_rate(
    rows: Any, expected: int, timeout: float, output: Callable[[], str], pid: int
) -> tuple[float, float]:
    """Messages per second from the first send to the last, and the worker's CPU ms
    per message."""
    cpu_before = cpu_seconds(pid)
    assert wait_for(lambda: rows.filter(state="sent").count() >= expected, timeout), output()
    cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / expected
    stamps = sorted(rows.values_list("sent_at", flat=True))
    span = (stamps[-1] - stamps[0]).total_seconds()
    return ((len(stamps) - 1) / span if span > 0 else float("nan")), cpu_ms


def test_messages_per_second_per_worker_process(
    workers: Workers, tmp_path: Path, settings: Any
) -> None:
    business, props, _ = business_with_stays("bench-mail")
    ScheduledMessage.objects.all().delete()
    now = timezone.now() - timedelta(seconds=1)
    notices = 400
    ScheduledMessage.objects.bulk_create(
        [
            ScheduledMessage(
                business=business,
                kind=Kind.OWNER_CONFLICT,
                recipient=f"o{i}@example.com",
                key=f"cap:{uuid.uuid4().hex}",
                send_at=now,
                context={"summary": "bench"},
            )
            for i in range(notices)
        ]
    )
    # Booking confirmations (guest email with the stay and an .ics attachment), made
    # now and held back until the notices are out, then all due at once.
    bookings = []
    today = props[0].local_today()
    for n, prop in enumerate(props):
        for k in range(10):
            check_in = today + timedelta(days=120 + k * 6 + n % 3)
            bookings.append(
                booking_create(
                    property=prop,
                    check_in=check_in,
                    check_out=check_in + timedelta(days=3),
                    guests=2,
                    source="owner",
                    guest_name=f"Guest {n}-{k}",
                    guest_email=f"guest{n}-{k}@example.com",
                )
            )
    confirmations = ScheduledMessage.objects.filter(booking__in=bookings, kind=Kind.CONFIRMATION)
    expected = confirmations.count()
    assert expected, "no confirmations were scheduled"
    ScheduledMessage.objects.filter(booking__in=bookings).update(
        send_at=timezone.now() + timedelta(days=1)
    )

    workers.env.update(
        EMAIL_URL="memory:",
        EMAIL_RATE_PER_SECOND="1000",
        MESSAGING_DISPATCH_INTERVAL="1",
        DATABASE_CONN_MAX_AGE="60",
    )
    worker = workers.worker(tmp_path, name="w1", concurrency=1, loglevel="WARNING")
    workers.beat(tmp_path)
    simple, simple_cpu = _sent_rate(
        ScheduledMessage.objects.filter(key__startswith="cap:"),
        notices,
        300,
        workers.output,
        worker.pid,
    )
    confirmations.update(send_at=timezone.now() - timedelta(seconds=1))
    heavy, heavy_cpu = _sent_rate(confirmations, expected, 300, workers.output, worker.pid)
    rows = [
        {
            "case": "owner notices",
            "n": notices,
            "messages_per_s": simple,
            "cpu_ms_per_msg": simple_cpu,
            "msgs_per_vcpu": 1000 / simple_cpu,
        },
        {
            "case": "booking confirmations (.ics)",
            "n": expected,
            "messages_per_s": heavy,
            "cpu_ms_per_msg": heavy_cpu,
            "msgs_per_vcpu": 1000 / heavy_cpu,
        },
    ]
    report(
        "capacity-worker",
        rows,
        {
            "worker_processes": 1,
            "dispatch_interval_s": 1,
            "email_backend": "memory",
            "load_average_1m": os.getloadavg()[0],
            "cpus": os.cpu_count(),
        },
    )
    assert simple > 0
