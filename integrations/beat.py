"""Periodic tasks of this app, merged into the Celery beat schedule in config/celery.py."""

from __future__ import annotations

from typing import Any

from django.conf import settings

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Due retries, and pending pushes whose task was lost (docs/partner-sync.md).
    "integrations.dispatch_pushes": {
        "task": "integrations.tasks.dispatch_pushes",
        "schedule": settings.INTEGRATIONS_PUSH_DISPATCH_INTERVAL,
        "options": {"expires": max(settings.INTEGRATIONS_PUSH_DISPATCH_INTERVAL, 1.0)},
    },
    # Full state of every connected listing, hourly, in case anything was missed.
    "integrations.reconcile_pushes": {
        "task": "integrations.tasks.reconcile_pushes",
        "schedule": 3600.0,
        "options": {"expires": 600.0},
    },
    # Claims feeds due for their poll (each every INTEGRATIONS_ICAL_POLL_MINUTES).
    "integrations.poll_ical_feeds": {
        "task": "integrations.tasks.poll_ical_feeds",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
}
