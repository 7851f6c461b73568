"""gunicorn settings for the container (`gunicorn --config docker/gunicorn.conf.py`).

Binds to 0.0.0.0:$PORT. Worker count comes from gunicorn's own WEB_CONCURRENCY
(default 3); the load balancer in front ends TLS and sets X-Forwarded-*.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = 1
timeout = 30
graceful_timeout = 25
keepalive = 75  # longer than the ALB idle timeout (60 s): the ALB closes first
max_requests = 2000
max_requests_jitter = 200
# Peers whose X-Forwarded-* headers gunicorn believes: the load balancer's addresses
# (in production the CIDR of the subnets the ALB lives in, e.g. "10.0.0.0/16"), never
# "*": a peer outside that range could then claim any scheme. Default: this host only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# No access log: Django writes one JSON line per request (config/telemetry.py), by
# route name rather than raw path (paths hold tokens).
accesslog = None
errorlog = "-"
worker_tmp_dir = "/tmp"  # noqa: S108 - heartbeat files; /tmp is the task's writable volume

# Request metrics of every process are shared through files (config/metrics.py): the
# directory starts empty with each server, and a process's files are marked dead when
# it exits, so counters of recycled processes (max_requests) are kept, not lost.
METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server: object) -> None:
    if METRICS_DIR:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
        os.makedirs(METRICS_DIR, exist_ok=True)


def child_exit(server: object, worker: Any) -> None:
    if METRICS_DIR:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
