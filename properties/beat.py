"""Periodic tasks of this app, merged into the Celery beat schedule in config/celery.py."""

from __future__ import annotations

from typing import Any

from django.conf import settings

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Custom domains whose TXT record appeared are verified, those whose record is gone
    # stop being served; a batch of the longest-unchecked each run.
    "properties.recheck-custom-domains": {
        "task": "properties.custom_domains_recheck",
        "schedule": float(settings.HOLIDESK_DOMAIN_RECHECK_SECONDS),
        "options": {"expires": float(settings.HOLIDESK_DOMAIN_RECHECK_SECONDS)},
    },
    # Audit log entries are kept for a year.
    "properties.prune-audit-log": {
        "task": "properties.tasks.prune_audit_log",
        "schedule": 24 * 3600.0,
    },
    # Photos whose processing task was lost (Redis flushed, worker killed).
    "properties.requeue-stale-photos": {
        "task": "properties.tasks.requeue_stale_photos",
        "schedule": 60.0,
    },
}
