"""Settings from the environment fail loudly on bad values."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import database_from_url, email_from_url, env_bool, env_int
from tests.settings_names import ROOT as REPO
from tests.settings_names import settings_env_names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("1", True), ("off", False), ("", True)]
)
def test_env_bool(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG", default=True) is expected


def test_env_bool_rejects_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG", default=False)


def test_env_int_rejects_garbage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_NUM", "eight")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("X_NUM", 1)


def test_database_url_must_be_postgres() -> None:
    with pytest.raises(ImproperlyConfigured, match="postgres"):
        database_from_url("sqlite:///db.sqlite3")
    config = database_from_url("postgres://u:p%40ss@db.example.com:6543/hd?sslmode=require")
    assert config["HOST"] == "db.example.com"
    assert config["PORT"] == "6543"
    assert config["PASSWORD"] == "p@ss"
    assert config["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("console:", "django.core.mail.backends.console.EmailBackend"),
        ("smtp://127.0.0.1:2525", "django.core.mail.backends.smtp.EmailBackend"),
        ("ses://?region=eu-west-1", "anymail.backends.amazon_ses.EmailBackend"),
        ("file:/tmp/mail", "django.core.mail.backends.filebased.EmailBackend"),
    ],
)
def test_email_url(url: str, backend: str) -> None:
    assert email_from_url(url)["EMAIL_BACKEND"] == backend


def test_email_url_rejects_unknown_scheme() -> None:
    with pytest.raises(ImproperlyConfigured, match="not supported"):
        email_from_url("carrier-pigeon://coop")


PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "production-secret-key-for-the-deploy-check-0123456789",
    "HOLIDESK_BASE_DOMAIN": "holidesk.app",
    "HOLIDESK_APP_HOST": "app.holidesk.app",
    "PAYMENTS_BACKEND": "stripe",
    "STRIPE_SECRET_KEY": "sk_test_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
    "HOLIDESK_ENCRYPTION_KEY": "Vq8Y2sWxT0n0mXQ8z7yq9s0L4h0P6d1v2b3n4m5k6j8=",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    for name in ("HOLIDESK_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        full_env.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is required"),
        ({"SECRET_KEY": "short"}, "at least 50"),
        ({"DEBUG": "perhaps"}, "not a boolean"),
        ({"STRIPE_SECRET_KEY": ""}, "STRIPE_SECRET_KEY"),
        ({"PAYMENTS_BACKEND": "paypal"}, "must be one of"),
        ({"STORAGE": "ftp"}, "must be one of"),
        ({"DATABASE_URL": "mysql://x/y"}, "postgres"),
        ({"HOLIDESK_ENCRYPTION_KEY": ""}, "HOLIDESK_ENCRYPTION_KEY is required"),
    ],
)
def test_bad_production_configuration_stops_the_process(
    override: dict[str, str], message: str
) -> None:
    result = _manage("check", **{**PRODUCTION_ENV, **override})
    assert result.returncode != 0
    assert message in result.stderr


def test_every_environment_variable_is_in_the_readme() -> None:
    """The README's configuration table lists every variable the settings read."""
    names = settings_env_names()
    readme = (REPO / "README.md").read_text()
    missing = sorted(name for name in names if f"| `{name}` |" not in readme)
    assert names, "no environment variables found: the pattern is out of date"
    assert not missing, f"README.md's configuration table lacks {missing}"


def _database_settings(**env: str) -> str:
    code = (
        "from config import settings as s; d = s.DATABASES['default']; "
        "print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    )
    unset = {"DATABASE_CONN_MAX_AGE", "DATABASE_CONN_HEALTH_CHECKS"}
    full_env = {name: value for name, value in os.environ.items() if name not in unset}
    full_env.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_development_keeps_no_database_connections() -> None:
    """runserver opens a thread per request; kept connections would pile up."""
    assert _database_settings(DEBUG="true") == "0 True"
    assert _database_settings(**PRODUCTION_ENV) == "60 True"
    assert _database_settings(**PRODUCTION_ENV, DATABASE_CONN_MAX_AGE="300") == "300 True"
