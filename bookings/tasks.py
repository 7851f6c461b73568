from __future__ import annotations

from celery import shared_task

from bookings.services.holds import holds_expire


@shared_task(name="bookings.tasks.expire_holds")
def expire_holds() -> int:
    return holds_expire()
