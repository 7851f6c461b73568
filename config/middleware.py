"""Request metrics and the /metrics endpoint.

`RequestMiddleware` comes first in MIDDLEWARE, so it times and counts every answer,
redirects and host 404s included. Routes are labelled by group (admin, dashboard, api,
site, webhooks, ical, health, other), never by raw path: paths carry tokens (iCal
feeds, staff links) and would make a series per URL.

`MetricsEndpointMiddleware` answers /metrics on the app host and on loopback (the
CloudWatch agent beside each web container scrapes http://localhost:8000/metrics),
before host routing. It needs `Authorization: Bearer <METRICS_TOKEN>`; without a
token configured, or with a wrong one, it answers 404 like any unknown path.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.http.request import split_domain_port

from config import metrics

METRICS_PATH = "/metrics"
HEALTH_PATHS = frozenset({"/healthz", "/readyz", METRICS_PATH})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
# URL names of endpoints partners and Stripe call.
WEBHOOK_ROUTES = frozenset({"stripe-webhook", "api-channel-events"})


def route_group(request: HttpRequest) -> str:
    if request.path_info in HEALTH_PATHS:
        return "health"
    if getattr(request, "business", None) is not None:
        return "site"
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "other"
    name = match.url_name or ""
    if "admin" in match.namespaces:
        return "admin"
    if "dashboard" in match.namespaces:
        return "dashboard"
    if name in WEBHOOK_ROUTES:
        return "webhooks"
    if name.startswith("ical"):
        return "ical"
    if name.startswith("api"):
        return "api"
    return "other"


class RequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        began = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - began
        group = route_group(request)
        metrics.REQUEST_SECONDS.labels(group).observe(elapsed)
        if response.status_code >= 500:
            metrics.SERVER_ERRORS.labels(group).inc()
        return response


def bearer_token_matches(request: HttpRequest, expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


class MetricsEndpointMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != METRICS_PATH:
            return self.get_response(request)
        domain, _port = split_domain_port(request.get_host())
        if domain not in LOOPBACK_HOSTS and domain != settings.HOLIDESK_APP_HOST:
            return self.get_response(request)
        if request.method != "GET" or not bearer_token_matches(request, settings.METRICS_TOKEN):
            return HttpResponseNotFound("Not found.", content_type="text/plain")
        body, content_type = metrics.exposition()
        response = HttpResponse(body, content_type=content_type)
        response["Cache-Control"] = "no-store"
        return response
