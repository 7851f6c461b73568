"""Reading settings from environment variables, loudly.

A typo in production configuration should stop the process at start, not surface
as odd behaviour later, so every reader here raises ImproperlyConfigured on a value
it cannot parse instead of falling back to a default.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

N = TypeVar("N", int, float)


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"Environment variable {name}={value!r} is not a boolean (use true or false)."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    return _env_number(name, default, minimum, int, "a whole number")


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    return _env_number(name, default, minimum, float, "a number")


def _env_number(
    name: str, default: N, minimum: N | None, parse: Callable[[str], N], kind: str
) -> N:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        number = parse(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"Environment variable {name}={value!r} is not {kind}."
        ) from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"Environment variable {name} must be at least {minimum}.")
    return number


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = os.environ.get(name, "").strip().lower() or default
    if value not in choices:
        raise ImproperlyConfigured(
            f"Environment variable {name}={value!r} must be one of: {', '.join(choices)}."
        )
    return value


PLAN_FIELDS = ("key", "name", "price", "amount", "currency", "interval")


def billing_plans(value: str, *, name: str) -> tuple[dict[str, str], ...]:
    """The subscription plans, from a JSON list of objects with PLAN_FIELDS (the
    Stripe Price id in `price`, the amount shown to owners in `amount` and `currency`)."""
    try:
        raw = json.loads(value)
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name} is not JSON.") from None
    if not isinstance(raw, list):
        raise ImproperlyConfigured(f"Environment variable {name} must be a JSON list.")
    plans: list[dict[str, str]] = []
    for entry in raw:
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(field), str) and entry[field] for field in PLAN_FIELDS
        ):
            raise ImproperlyConfigured(
                f"Environment variable {name}: each plan needs {', '.join(PLAN_FIELDS)}."
            )
        if not entry["price"].startswith("price_") or entry["interval"] not in ("month", "year"):
            raise ImproperlyConfigured(
                f"Environment variable {name}: plan {entry['key']!r} needs a price_... id "
                "and an interval of month or year."
            )
        try:
            Decimal(entry["amount"])
        except ArithmeticError:
            raise ImproperlyConfigured(
                f"Environment variable {name}: plan {entry['key']!r} amount is not a number."
            ) from None
        plans.append({field: entry[field] for field in PLAN_FIELDS})
    if len({plan["key"] for plan in plans}) != len(plans):
        raise ImproperlyConfigured(f"Environment variable {name}: plan keys must be unique.")
    return tuple(plans)


def database_from_url(url: str) -> dict[str, Any]:
    """DATABASE_URL -> Django DATABASES entry. PostgreSQL only: we rely on its
    exclusion constraints and SKIP LOCKED."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a postgres:// URL (got scheme {parts.scheme!r})."
        )
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    host = unquote(parts.hostname or "")
    # postgres:///db?host=/path/to/socket is the libpq form for a Unix socket.
    host = options.pop("host", host)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "holidesk",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
    }


def email_from_url(url: str) -> dict[str, Any]:
    """EMAIL_URL -> Django email settings.

    console:                 print emails (development default)
    file:/path/to/dir        write .eml files
    memory:                  keep them in django.core.mail.outbox
    smtp://user:pass@host:25 plain SMTP; smtp+tls:// for STARTTLS, smtps:// for TLS
    ses://?region=eu-west-1  Amazon SES through django-anymail
    """
    parts = urlsplit(url)
    scheme = parts.scheme
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "memory":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme == "file":
        path = unquote(parts.path)
        if not path:
            raise ImproperlyConfigured("EMAIL_URL file: needs a directory, e.g. file:/tmp/mail.")
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": path,
        }
    if scheme in {"smtp", "smtp+tls", "smtps"}:
        if not parts.hostname:
            raise ImproperlyConfigured("EMAIL_URL smtp:// needs a host, e.g. smtp://127.0.0.1:25.")
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname,
            "EMAIL_PORT": parts.port or (465 if scheme == "smtps" else 25),
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_TLS": scheme == "smtp+tls",
            "EMAIL_USE_SSL": scheme == "smtps",
            "EMAIL_TIMEOUT": 20,
        }
    if scheme == "ses":
        return {
            "EMAIL_BACKEND": "anymail.backends.amazon_ses.EmailBackend",
            "ANYMAIL": {
                "AMAZON_SES_CLIENT_PARAMS": {"region_name": query.get("region", "eu-west-1")},
            },
        }
    raise ImproperlyConfigured(
        f"EMAIL_URL scheme {scheme!r} is not supported "
        "(use console:, file:, memory:, smtp://, smtp+tls://, smtps:// or ses://)."
    )
