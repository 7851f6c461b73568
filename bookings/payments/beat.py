"""Periodic tasks of payments, merged into the Celery beat schedule in config/celery.py."""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Refunds the gateway could not take yet (timeout, network) are sent again.
    "bookings.refunds-retry": {
        "task": "bookings.refunds_retry",
        "schedule": 600.0,
        "options": {"expires": 600.0},
    },
    # Each subscription bills the business's current number of properties.
    "payments.billing-quantities-sync": {
        "task": "payments.billing_quantities_sync",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    # Owners whose subscription's grace period just ended are told bookings stopped.
    "payments.billing-grace-sweep": {
        "task": "payments.billing_grace_sweep",
        "schedule": 900.0,
        "options": {"expires": 900.0},
    },
}
