"""Capacity per process: requests per second one gunicorn process serves, and messages
per second one Celery worker process sends. `make bench` runs it
(`PYTEST_ARGS=tests/bench/test_capacity_bench.py make bench` for this one alone);
docs/deployment.md turns the figures into task counts.

- web: one gunicorn sync process (as in production: `threads = 1`), kept busy by
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
import re
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
from typing import Any

import pytest
import requests
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
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def one_gunicorn_process() -> Iterator[int]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": process_database_url(),
        "DEBUG": "true",
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }
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
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def owner_session(port: int, email: str) -> requests.Session:
    session = requests.Session()
    login = f"http://localhost:{port}/accounts/login/"
    page = session.get(login, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    answer = session.post(
        login,
        data={"login": email, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": login},
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.status_code
    return session


def load(urls: list[str], cookies: dict[str, str]) -> dict[str, Any]:
    """CLIENTS threads request `urls` round-robin for SECONDS; requests per second and
    latency of the answers (every answer must be a 200)."""
    latencies: list[float] = []
    bad: list[int] = []
    lock = threading.Lock()
    stop = time.perf_counter() + SECONDS

    def client(offset: int) -> None:
        session = requests.Session()
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

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    assert not bad, f"non-200 answers: {sorted(set(bad))}"
    return {"rps": len(latencies) / wall, **summarize(latencies)}


def business_with_stays(slug: str) -> tuple[Business, list[Property], Any]:
    tenant = make_tenant(slug)
    props = [tenant.prop] + [PropertyFactory(business=tenant.business) for _ in range(19)]
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
    with one_gunicorn_process() as port:
        app = f"http://localhost:{port}"
        site = f"http://{business.slug}.localhost:{port}"
        cookies = dict(owner_session(port, tenant.owner.email).cookies)
        cases: list[tuple[str, list[str], dict[str, str]]] = [
            ("baseline: /healthz", [f"{app}/healthz"], {}),
            ("site home", [f"{site}/"], {}),
            ("property page with quote", [f"{site}/p/{p.slug}/?{quote}" for p in props], {}),
            ("owner Today", [f"{app}/dashboard/"], cookies),
            ("owner calendar", [f"{app}/dashboard/calendar/"], cookies),
        ]
        rows = [{"case": name, **load(urls, jar)} for name, urls, jar in cases]
        # The mix the capacity figures use: mostly visitors, some owners.
        mixed_site = [f"{site}/"] * 3 + [f"{site}/p/{p.slug}/?{quote}" for p in props[:5]]
        visitors = load(mixed_site, {})
        owners = load([f"{app}/dashboard/", f"{app}/dashboard/calendar/"], cookies)
        mix_rps = 1 / (0.8 / visitors["rps"] + 0.2 / owners["rps"])
        rows.append({"case": "mix: 80 % visitors, 20 % owners", "rps": mix_rps})
    for row in rows:
        row.setdefault("n", 0)
    report(
        "capacity-web",
        rows,
        {"clients": CLIENTS, "seconds_per_case": SECONDS, "process": "gunicorn sync, 1 thread"},
    )
    assert rows[0]["rps"] > 0


def _sent_rate(rows: Any, expected: int, timeout: float, output: Callable[[], str]) -> float:
    assert wait_for(lambda: rows.filter(state="sent").count() >= expected, timeout), output()
    stamps = sorted(rows.values_list("sent_at", flat=True))
    span = (stamps[-1] - stamps[0]).total_seconds()
    return (len(stamps) - 1) / span if span > 0 else float("nan")


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
    workers.env.update(
        EMAIL_URL="memory:",
        EMAIL_RATE_PER_SECOND="1000",
        MESSAGING_DISPATCH_INTERVAL="1",
        DATABASE_CONN_MAX_AGE="60",
    )
    workers.worker(tmp_path, name="w1", concurrency=1, loglevel="WARNING")
    workers.beat(tmp_path)
    simple = _sent_rate(
        ScheduledMessage.objects.filter(key__startswith="cap:"), notices, 300, workers.output
    )

    # Booking confirmations (guest email with the stay and an .ics attachment).
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
    heavy = _sent_rate(confirmations, expected, 300, workers.output) if expected else float("nan")
    rows = [
        {"case": "owner notices", "n": notices, "messages_per_s": simple},
        {"case": "booking confirmations (.ics)", "n": expected, "messages_per_s": heavy},
    ]
    report(
        "capacity-worker",
        rows,
        {"worker_processes": 1, "dispatch_interval_s": 1, "email_backend": "memory"},
    )
    assert simple > 0
