"""Celery tasks: thin, take ids, safe to run twice (state lives in PostgreSQL)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from integrations.services import ical, push


@shared_task(name="integrations.tasks.deliver_push", ignore_result=True)
def deliver_push(push_id: int) -> str:
    return push.push_deliver(push_id=push_id)


@shared_task(name="integrations.tasks.dispatch_pushes", ignore_result=True)
def dispatch_pushes() -> int:
    return push.push_dispatch()


@shared_task(name="integrations.tasks.reconcile_pushes", ignore_result=True)
def reconcile_pushes() -> int:
    return push.push_reconcile()


@shared_task(name="integrations.tasks.poll_ical_feeds", ignore_result=True)
def poll_ical_feeds() -> int:
    feed_ids = ical.ical_feeds_claim_due()
    for feed_id in feed_ids:
        sync_ical_feed.delay(feed_id)
    return len(feed_ids)


@shared_task(name="integrations.tasks.sync_ical_feed", ignore_result=True)
def sync_ical_feed(feed_id: int) -> dict[str, Any]:
    report = ical.ical_feed_sync(feed_id=feed_id)
    return {"outcome": report.outcome, "created": report.created, "released": report.released}
