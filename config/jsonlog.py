"""One JSON object per log line (LOG_FORMAT=json, the production default).

Every line has time, level, logger and message, the request id of the request or task
being served, and the record's `extra` fields. The request log (`holidesk.request`)
and the task log (`holidesk.task`) put their fields there; they carry ids, never
names, emails or paths (paths hold tokens).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from properties.request_id import current_request_id

# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
# Extras that would put a path or a whole object in the log (django.request adds them).
_LEFT_OUT = frozenset({"request", "server_time"})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _LEFT_OUT:
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING: one console handler in `log_format` ("json" or "text")."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "config.jsonlog.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if log_format == "json" else "plain",
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # "Not Found: <path>" for every 404 repeats paths (which may hold tokens) that
            # the request log already counts by route.
            "django.request": {"level": "ERROR"},
            # Celery's own "received" and "succeeded" lines: holidesk.task has one per task.
            "celery.app.trace": {"level": "WARNING"},
            "celery.worker.strategy": {"level": "WARNING"},
        },
    }
