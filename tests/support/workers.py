"""Real Celery worker and beat processes against the test database and a private Redis.

Fixture `workers`: a `Workers` pool whose processes are stopped after the test. Tests
that use it are marked `worker` (see tests/support/markers.py) and need
`django_db(transaction=True)`, so the processes see the rows the test wrote.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Workers:
    """Celery processes started with `env`; `output()` is their logs, for failures."""

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


def process_database_url() -> str:
    """The URL of the test database this process uses (its name carries the run and
    xdist suffixes), for processes started from a test."""
    db = django_settings.DATABASES["default"]
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def workers(private_redis: str, tmp_path: Path) -> Iterator[Workers]:
    env = {
        **os.environ,
        "DATABASE_URL": process_database_url(),
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
