"""Periodic tasks of this app, merged into the Celery beat schedule in config/celery.py."""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Writes expire their own property's run-out holds; this keeps the rest tidy.
    "bookings.expire-holds": {"task": "bookings.tasks.expire_holds", "schedule": 60.0},
}
