from __future__ import annotations

from celery import shared_task

from bookings.payments.services import refunds_retry as refunds_retry_service
from bookings.services.holds import holds_expire


@shared_task(name="bookings.tasks.expire_holds")
def expire_holds() -> int:
    return holds_expire()


@shared_task(name="bookings.refunds_retry", ignore_result=True)
def refunds_retry() -> int:
    """Send again refunds left pending by a transient gateway failure."""
    return refunds_retry_service()
