"""`make run` and `make test` on a machine where no PostgreSQL or Redis answers: the
bootstrap script starts private throwaway servers and points the settings at them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_private_servers_start_when_nothing_answers() -> None:
    # Under the checkout (not a 0700 temp dir): the private cluster runs as `postgres`.
    dev_dir = ROOT / ".dev" / f"selftest-{os.getpid()}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{_free_port()}/holidesk",
        "REDIS_URL": f"redis://127.0.0.1:{_free_port()}/0",
        "HOLIDESK_DEV_DIR": str(dev_dir),
        "HOLIDESK_DEV_PG_PORT": str(_free_port()),
        "HOLIDESK_DEV_REDIS_PORT": str(_free_port()),
    }
    script = [sys.executable, str(ROOT / "scripts" / "services.py")]
    try:
        out = subprocess.run(
            [*script, "up"], env=env, capture_output=True, text=True, check=True, timeout=120
        )
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in out.stdout.splitlines()
        )
        database_url = exports["DATABASE_URL"].strip("'")
        redis_url = exports["REDIS_URL"].strip("'")
        assert env["HOLIDESK_DEV_PG_PORT"] in database_url
        assert env["HOLIDESK_DEV_REDIS_PORT"] in redis_url
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert redis.Redis.from_url(redis_url).ping()
        # A second run reuses them.
        again = subprocess.run(
            [*script, "up"], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        assert again.stdout == out.stdout
    finally:
        subprocess.run([*script, "stop"], env=env, capture_output=True, timeout=60, check=False)
        shutil.rmtree(dev_dir, ignore_errors=True)
