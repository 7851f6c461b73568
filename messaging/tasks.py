"""Celery tasks: thin, take ids, safe to run twice (state lives in PostgreSQL)."""

from __future__ import annotations

from celery import shared_task

from messaging import services


@shared_task(name="messaging.tasks.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    return services.outbox_dispatch()


@shared_task(name="messaging.tasks.send_message", ignore_result=True)
def send_message(message_id: int) -> str:
    return services.outbox_send(message_id=message_id)


@shared_task(name="messaging.tasks.housekeeping", ignore_result=True)
def housekeeping() -> dict[str, int]:
    return {
        "stale": services.outbox_recover_stale(),
        "unaccepted": services.turnovers_alert_unaccepted(),
    }
