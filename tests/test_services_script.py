"""`make run` and `make test` on a machine where no PostgreSQL or Redis answers: the
bootstrap script starts private throwaway servers and points the settings at them.

The checkout here sits under a directory only its owner may enter (a root user's home,
a `mktemp -d`), as on a fresh machine: run as root, the private PostgreSQL runs as
`postgres`, which cannot enter it, so the servers' data must live elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
AS_ROOT = os.geteuid() == 0


def private_checkout(tmp_path: Path) -> list[str]:
    """The bootstrap script, copied into a checkout under a 0700 directory."""
    closed = tmp_path / "closed"
    scripts = closed / "holidesk" / "scripts"
    scripts.mkdir(parents=True)
    closed.chmod(0o700)
    shutil.copy(ROOT / "scripts" / "services.py", scripts / "services.py")
    return [sys.executable, str(scripts / "services.py")]


def nothing_answers() -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/holidesk",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "HOLIDESK_DEV_PG_PORT": str(free_port()),
        "HOLIDESK_DEV_REDIS_PORT": str(free_port()),
    }
    env.pop("HOLIDESK_DEV_DIR", None)
    return env


def run(script: list[str], command: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [*script, command], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_private_servers_start_when_nothing_answers(tmp_path: Path) -> None:
    script = private_checkout(tmp_path)
    env = nothing_answers()
    dev = Path(run(script, "dir", env).strip())
    try:
        assert not dev.is_relative_to(tmp_path)
        out = run(script, "up", env)
        exports = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
        database_url = exports["DATABASE_URL"].strip("'")
        redis_url = exports["REDIS_URL"].strip("'")
        assert env["HOLIDESK_DEV_PG_PORT"] in database_url
        assert env["HOLIDESK_DEV_REDIS_PORT"] in redis_url
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert redis.Redis.from_url(redis_url).ping()
        # Outside the checkout, one directory per checkout; the cluster's is its user's alone.
        assert dev.name.startswith("holidesk-")
        assert (dev / "pg").stat().st_mode & 0o777 == 0o700
        assert (dev / "pg").owner() == ("postgres" if AS_ROOT else (dev / "redis").owner())
        # A second run reuses them.
        assert run(script, "up", env) == out
    finally:
        subprocess.run([*script, "clean"], env=env, capture_output=True, timeout=60, check=False)
    assert not dev.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(database_url, connect_timeout=2)


@pytest.mark.skipif(not AS_ROOT, reason="only root hands the cluster to another user")
def test_a_data_dir_the_cluster_user_cannot_reach_is_refused_clearly(tmp_path: Path) -> None:
    script = private_checkout(tmp_path)
    env = {**nothing_answers(), "HOLIDESK_DEV_DIR": str(tmp_path / "closed" / "dev")}
    done = subprocess.run(
        [*script, "up"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert "`postgres`, which cannot reach" in done.stderr
    assert not (tmp_path / "closed" / "dev" / "pg" / "data").exists()
