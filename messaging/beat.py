"""Periodic tasks of this app, merged into the Celery beat schedule in config/celery.py."""

from __future__ import annotations

from typing import Any

from django.conf import settings

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Claims due outbox rows and hands them to send tasks (docs/scheduling.md).
    "messaging.dispatch": {
        "task": "messaging.tasks.dispatch_due",
        "schedule": settings.MESSAGING_DISPATCH_INTERVAL,
        # A run that waited longer than one interval is superseded by the next one.
        "options": {"expires": max(settings.MESSAGING_DISPATCH_INTERVAL, 1.0)},
    },
    # Rows interrupted mid-send -> review; cleaning jobs not accepted in time -> owner.
    "messaging.housekeeping": {"task": "messaging.tasks.housekeeping", "schedule": 60.0},
}
