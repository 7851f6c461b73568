"""Periodic tasks of this app, merged into the Celery beat schedule in config/celery.py."""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Photos whose processing task was lost (Redis flushed, worker killed).
    "properties.requeue-stale-photos": {
        "task": "properties.tasks.requeue_stale_photos",
        "schedule": 60.0,
    },
}
