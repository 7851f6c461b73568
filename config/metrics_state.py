"""The state of the queues, read for /metrics: a few aggregate queries and Redis LLENs.

Each query is chosen to stay cheap on a year of data (millions of outbox and sent-email
rows): counts of scheduled rows read the partial index `outbox_due_idx`; failed
messages are counted per business through `outbox_business_idx` (business, state,
send_at); the email send rate reads only the newest sent rows by primary key (sending
is capped by EMAIL_RATE_PER_SECOND, so the window never holds more). The result is
cached in Redis for STATE_CACHE_SECONDS, so scrapes from every web task and process
cost one computation per interval.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, Q, Subquery
from django.utils import timezone

from bookings.models import Booking
from bookings.payments.models import Payment, Refund
from integrations.models import IcalFeed, Platform, PushOutbox
from messaging.models import ScheduledMessage, SentEmail
from properties.models import Business

STATE_CACHE_SECONDS = 15
CACHE_KEY = "metrics:state:v1"
EMAIL_RATE_WINDOW = timedelta(minutes=5)
FAILURE_WINDOW = timedelta(hours=1)
REFUND_WINDOW = timedelta(hours=24)
# kombu's Redis transport keeps one list per priority step: `queue`, `queue\x06\x163`...
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)

Labels = dict[str, str]
Samples = list[tuple[Labels, float]]


@dataclass(frozen=True)
class StateGauge:
    name: str
    help: str
    labels: tuple[str, ...] = ()


GAUGES: tuple[StateGauge, ...] = (
    StateGauge(
        "holidesk_outbox_due_messages",
        "Scheduled messages due now and not sent yet (outbox depth).",
    ),
    StateGauge(
        "holidesk_outbox_dispatch_lag_seconds",
        "Age of the oldest due scheduled message (0 when none is due).",
    ),
    StateGauge(
        "holidesk_scheduled_messages_waiting",
        "Scheduled messages waiting, due or not (alarm at 750,000).",
    ),
    StateGauge(
        "holidesk_email_send_rate_per_second",
        "Emails handed to the provider per second, over the last 5 minutes.",
    ),
    StateGauge(
        "holidesk_email_failures_last_hour",
        "Scheduled messages that ended failed in the last hour.",
    ),
    StateGauge(
        "holidesk_pushes_waiting",
        "Partner pushes pending or in flight, per channel platform.",
        ("platform",),
    ),
    StateGauge(
        "holidesk_push_dead_letters",
        "Partner pushes in the dead-letter state (re-drive from the admin), per platform.",
        ("platform",),
    ),
    StateGauge(
        "holidesk_ical_feeds_failing",
        "Active iCal feeds whose last fetch failed, per platform.",
        ("platform",),
    ),
    StateGauge(
        "holidesk_payments_failed_last_hour",
        "Payments declined in the last hour.",
    ),
    StateGauge(
        "holidesk_refunds_refused_last_day",
        "Refunds the gateway refused in the last 24 hours.",
    ),
    StateGauge(
        "holidesk_holds_active",
        "Checkout holds currently reserving dates.",
    ),
    StateGauge(
        "holidesk_celery_queue_length",
        "Tasks waiting in each Celery queue (Redis list lengths, all priorities).",
        ("queue",),
    ),
)
GAUGE_NAMES = frozenset(gauge.name for gauge in GAUGES)


def cached_state() -> dict[str, Samples]:
    """The state, from Redis if computed in the last STATE_CACHE_SECONDS."""
    state: dict[str, Samples] | None = cache.get(CACHE_KEY)
    if state is None:
        state = read_state()
        cache.set(CACHE_KEY, state, STATE_CACHE_SECONDS)
    return state


def read_state(*, now: datetime | None = None) -> dict[str, Samples]:
    now = now or timezone.now()
    state: dict[str, Samples] = {}
    state.update(_outbox(now))
    state["holidesk_email_send_rate_per_second"] = [({}, _email_send_rate(now))]
    state["holidesk_email_failures_last_hour"] = [({}, float(_email_failures(now)))]
    state.update(_pushes())
    state["holidesk_ical_feeds_failing"] = _by_platform(
        IcalFeed.objects.filter(active=True, consecutive_failures__gt=0)
        .values("platform")
        .annotate(n=Count("id"))
        .values_list("platform", "n")
    )
    payments = Payment.objects.filter(
        status=Payment.Status.FAILED, updated_at__gte=now - FAILURE_WINDOW
    ).count()
    state["holidesk_payments_failed_last_hour"] = [({}, float(payments))]
    refunds = Refund.objects.filter(
        status=Refund.Status.FAILED, updated_at__gte=now - REFUND_WINDOW
    ).count()
    state["holidesk_refunds_refused_last_day"] = [({}, float(refunds))]
    holds = Booking.objects.filter(status=Booking.Status.HELD, hold_expires_at__gt=now).count()
    state["holidesk_holds_active"] = [({}, float(holds))]
    state["holidesk_celery_queue_length"] = [
        ({"queue": queue}, float(length)) for queue, length in celery_queue_lengths().items()
    ]
    return state


def _outbox(now: datetime) -> dict[str, Samples]:
    due = Q(send_at__lte=now)
    totals = ScheduledMessage.objects.filter(state=ScheduledMessage.State.SCHEDULED).aggregate(
        waiting=Count("id"), due=Count("id", filter=due), oldest=Min("send_at", filter=due)
    )
    oldest: datetime | None = totals["oldest"]
    lag = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    return {
        "holidesk_outbox_due_messages": [({}, float(totals["due"]))],
        "holidesk_outbox_dispatch_lag_seconds": [({}, lag)],
        "holidesk_scheduled_messages_waiting": [({}, float(totals["waiting"]))],
    }


def _email_send_rate(now: datetime) -> float:
    window = EMAIL_RATE_WINDOW.total_seconds()
    # The newest rows by primary key; the limiter never lets more than this through.
    cap = int(settings.EMAIL_RATE_PER_SECOND * window * 2) + 100
    newest = SentEmail.objects.order_by("-id").values("id")[:cap]
    sent = SentEmail.objects.filter(
        id__in=Subquery(newest), sent_at__gt=now - EMAIL_RATE_WINDOW
    ).count()
    return sent / window


def _email_failures(now: datetime) -> int:
    # business_id IN (...) lets PostgreSQL probe (business, state) in the composite
    # index once per business instead of scanning the whole outbox.
    return ScheduledMessage.objects.filter(
        business_id__in=Business.objects.values("id"),
        state=ScheduledMessage.State.FAILED,
        updated_at__gte=now - FAILURE_WINDOW,
    ).count()


def _pushes() -> dict[str, Samples]:
    waiting = (
        PushOutbox.objects.filter(status__in=[PushOutbox.Status.PENDING, PushOutbox.Status.SENDING])
        .values("channel__platform")
        .annotate(n=Count("id"))
        .values_list("channel__platform", "n")
    )
    dead = (
        PushOutbox.objects.filter(status=PushOutbox.Status.DEAD)
        .values("channel__platform")
        .annotate(n=Count("id"))
        .values_list("channel__platform", "n")
    )
    return {
        "holidesk_pushes_waiting": _by_platform(waiting),
        "holidesk_push_dead_letters": _by_platform(dead),
    }


def _by_platform(rows: Iterable[tuple[str, int]]) -> Samples:
    """Every platform gets a sample (0 when none), so alarms always have data."""
    counts = dict.fromkeys(Platform.values, 0)
    for platform, count in rows:
        counts[platform] = counts.get(platform, 0) + count
    return [({"platform": platform}, float(count)) for platform, count in counts.items()]


def celery_queue_names() -> list[str]:
    """The default queue, every declared queue and every queue a route names."""
    from config.celery import app

    names = {app.conf.task_default_queue}
    for queue in app.conf.task_queues or ():
        names.add(queue.name)
    routes = app.conf.task_routes
    if isinstance(routes, dict):
        for route in routes.values():
            queue = route.get("queue") if isinstance(route, dict) else None
            if isinstance(queue, str):
                names.add(queue)
    return sorted(names)


def celery_queue_lengths() -> dict[str, int]:
    """LLEN of each queue's lists, under the broker's global key prefix."""
    options: dict[str, Any] = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    prefix = options.get("global_keyprefix", "")
    steps = options.get("priority_steps", KOMBU_PRIORITY_STEPS)
    queues = celery_queue_names()
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_timeout=2, socket_connect_timeout=2
    )
    try:
        pipe = client.pipeline(transaction=False)
        for queue in queues:
            for step in steps:
                key = queue if not step else f"{queue}{KOMBU_PRIORITY_SEPARATOR}{step}"
                pipe.llen(prefix + key)
        lengths = pipe.execute()
    finally:
        client.close()
    per_queue = len(steps)
    return {
        queue: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, queue in enumerate(queues)
    }
