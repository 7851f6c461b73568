"""Request ids across Celery, and one log line per task.

`before_task_publish` puts the current request id (of the HTTP request or task doing
the enqueueing) in the task's headers; `task_prerun` binds it in the worker, or a new
one when the task came from beat, so the task's logs, the tasks it enqueues and the
partner pushes it makes carry it. `task_postrun` writes one `holidesk.task` line: task
name, id, duration, outcome (Celery's state, lower case) and the result when it is a
short code word (`sent`, `not-due`), which tells a send from a failure.
"""

from __future__ import annotations

import logging
import re
import time
from contextvars import Token
from typing import Any

from celery import signals

from properties import request_id

HEADER = "holidesk_request_id"
log = logging.getLogger("holidesk.task")
CODE_WORD = re.compile(r"[a-z][a-z0-9_-]{0,39}")

# task id -> (start, request-id binding); one entry per task running in this process.
_running: dict[str, tuple[float, Token[str]]] = {}


@signals.before_task_publish.connect
def add_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    current = request_id.current_request_id()
    if current and headers is not None:
        headers.setdefault(HEADER, current)


def request_id_of(task: Any) -> str:
    """The id a task was enqueued with: a top-level header in a worker, inside
    `headers` when applied in process."""
    context = task.request
    value = getattr(context, HEADER, None) or (getattr(context, "headers", None) or {}).get(HEADER)
    return request_id.well_formed(value)


@signals.task_prerun.connect
def start_task(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    rid = (request_id_of(task) if task is not None else "") or request_id.new_request_id()
    _running[task_id] = (time.perf_counter(), request_id.bind_request_id(rid))


@signals.task_postrun.connect
def finish_task(
    task_id: str = "",
    task: Any = None,
    retval: Any = None,
    state: str | None = None,
    **kwargs: Any,
) -> None:
    started = _running.pop(task_id, None)
    duration_ms = round((time.perf_counter() - started[0]) * 1000, 1) if started else None
    fields: dict[str, Any] = {
        "task": getattr(task, "name", "-"),
        "task_id": task_id,
        "duration_ms": duration_ms,
        "outcome": (state or "unknown").lower(),
    }
    if isinstance(retval, str) and CODE_WORD.fullmatch(retval):
        fields["result"] = retval
    try:
        log.info("%s %s %s ms", fields["task"], fields["outcome"], duration_ms, extra=fields)
    finally:
        if started:
            try:
                request_id.unbind_request_id(started[1])
            except ValueError:  # bound in another context (a thread pool): drop it
                request_id.bind_request_id("")
