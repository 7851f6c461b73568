"""The id of the request (or task) being served, for logs and outbound calls.

Set by config.telemetry for each HTTP request (the caller's `X-Request-ID` when it is
well-formed, a new one otherwise) and by config.task_signals for each Celery task (the
id of the request or task that enqueued it, carried in the task's headers). It lives
here, in the base app, so any app may add it to the calls it makes
(`outbound_headers()`) without importing config.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

HEADER = "X-Request-ID"
# Letters, digits and . _ : - only: the id is written into logs and headers verbatim.
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")

_current: ContextVar[str] = ContextVar("holidesk_request_id", default="")


def new_request_id() -> str:
    return uuid.uuid4().hex


def well_formed(value: object) -> str:
    """`value` if it is a usable id, else ""."""
    if isinstance(value, str) and WELL_FORMED.fullmatch(value):
        return value
    return ""


def current_request_id() -> str:
    return _current.get()


def bind_request_id(value: str) -> Token[str]:
    return _current.set(value)


def unbind_request_id(token: Token[str]) -> None:
    _current.reset(token)


def outbound_headers() -> dict[str, str]:
    """`{"X-Request-ID": id}` while serving a request or task, so a partner's logs can
    be matched with ours; empty otherwise."""
    value = _current.get()
    return {HEADER: value} if value else {}
