"""gunicorn settings for the container (`gunicorn --config docker/gunicorn.conf.py`).

Binds to 0.0.0.0:$PORT. Worker count comes from gunicorn's own WEB_CONCURRENCY
(default 3); the load balancer in front ends TLS and sets X-Forwarded-*.
"""

from __future__ import annotations

import os

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
accesslog = "-"
errorlog = "-"
worker_tmp_dir = "/tmp"  # noqa: S108 - heartbeat files; /tmp is the task's writable volume
