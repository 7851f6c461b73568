"""Celery tasks: thin, take ids, safe to run twice (state lives in PostgreSQL)."""

from __future__ import annotations

from celery import shared_task

from messaging.services.outbox import outbox_dispatch, outbox_recover_stale
from messaging.services.sending import outbox_send
from messaging.services.turnovers import turnovers_alert_unaccepted


@shared_task(name="messaging.tasks.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    return outbox_dispatch(enqueue=_enqueue_send)


def _enqueue_send(message_id: int, priority: int) -> None:
    send_message.apply_async((message_id,), priority=priority)


@shared_task(name="messaging.tasks.send_message", ignore_result=True)
def send_message(message_id: int) -> str:
    return outbox_send(message_id=message_id)


@shared_task(name="messaging.tasks.housekeeping", ignore_result=True)
def housekeeping() -> dict[str, int]:
    return {
        "stale": outbox_recover_stale(),
        "unaccepted": turnovers_alert_unaccepted(),
    }
