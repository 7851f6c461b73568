"""Prometheus metrics, served at /metrics on the app host (config.telemetry).

Two kinds:
- request latency and server errors per route group, recorded by each web process as
  requests pass (config.telemetry.RequestMiddleware);
- the state of the outbox, pushes, feeds, payments, holds and Celery queues, computed
  from PostgreSQL and Redis when scraped (config.metrics_state, cached ~15 s).

gunicorn runs several processes per web task. With PROMETHEUS_MULTIPROC_DIR set (the
container sets it; docker/gunicorn.conf.py empties it at start), every process writes
its request metrics to files there and a scrape of any process reports the whole task
(prometheus_client's multiprocess mode). Without it (development, tests) each process
reports only itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from config.metrics_state import GAUGES, cached_state

log = logging.getLogger(__name__)

STATE_OK = "holidesk_metrics_state_ok"
ROUTE_GROUPS = ("admin", "dashboard", "api", "site", "webhooks", "ical", "health", "other")

# Recorded in this process; exposed directly, or through the multiprocess files.
REQUEST_REGISTRY = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    "holidesk_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it, per route group.",
    ["group"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REQUEST_REGISTRY,
)
SERVER_ERRORS = Counter(
    "holidesk_http_server_errors",
    "Responses with a 5xx status, per route group.",
    ["group"],
    registry=REQUEST_REGISTRY,
)
for _group in ROUTE_GROUPS:
    # Every group is reported from the start, so a rate has a zero to begin from.
    REQUEST_SECONDS.labels(_group)
    SERVER_ERRORS.labels(_group)


class StateCollector(Collector):
    """The scrape-time gauges of config.metrics_state."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        # A database or Redis outage must not cost the request metrics: the state's
        # gauges are left out (alarms that treat missing data as breaching fire) and
        # STATE_OK says why.
        try:
            state = cached_state()
        except Exception:
            log.exception("Metrics: the state could not be read.")
            state = None
        yield GaugeMetricFamily(
            STATE_OK,
            "1 when the state gauges below were read, 0 when PostgreSQL or Redis failed.",
            value=0 if state is None else 1,
        )
        if state is None:
            return
        for gauge in GAUGES:
            family = GaugeMetricFamily(gauge.name, gauge.help, labels=list(gauge.labels))
            for labels, value in state.get(gauge.name, []):
                family.add_metric([labels[name] for name in gauge.labels], value)
            yield family

    def describe(self) -> list[GaugeMetricFamily]:
        # Nothing at registration: describing would run the queries.
        return []


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric, and its content type."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_RequestMetrics())
    registry.register(StateCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _RequestMetrics(Collector):
    """This process's request metrics, for a registry built per scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from REQUEST_REGISTRY.collect()


def metric_names() -> set[str]:
    """Every metric family name /metrics reports (for the infrastructure tests)."""
    names = {STATE_OK, *(gauge.name for gauge in GAUGES)}
    for family in REQUEST_REGISTRY.collect():
        names.add(family.name)
    return names


def sample_names() -> set[str]:
    """Every sample name /metrics reports: counters gain `_total`, histograms
    `_bucket`, `_sum` and `_count`."""
    names = {STATE_OK, *(gauge.name for gauge in GAUGES)}
    for family in REQUEST_REGISTRY.collect():
        names.update(sample.name for sample in family.samples)
    return names
