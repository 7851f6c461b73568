"""Request ids, the request log, request metrics and the /metrics endpoint.

`RequestMiddleware` comes first in MIDDLEWARE, so it sees every answer, redirects and
host 404s included. It binds the request id (the caller's `X-Request-ID` when it is
well-formed, a new one otherwise) for the logs, the tasks enqueued and the partner
pushes made while serving, answers with it in `X-Request-ID`, writes one line to the
`holidesk.request` log and records the latency and any 5xx. Routes are named by URL
name and labelled by group (admin, dashboard, api, site, webhooks, ical, health,
other), never by raw path: paths carry tokens (iCal feeds, staff links) and would
make a series per URL.

`MetricsEndpointMiddleware` answers /metrics on the app host and on loopback (the
CloudWatch agent beside each web container scrapes http://localhost:8000/metrics),
before host routing. It needs `Authorization: Bearer <METRICS_TOKEN>`; without a
token configured, or with a wrong one, it answers 404 like any unknown path.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.http.request import split_domain_port
from django.utils.functional import empty

from config import metrics
from properties import request_id

log = logging.getLogger("holidesk.request")

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
        rid = request_id.well_formed(request.headers.get(request_id.HEADER))
        rid = rid or request_id.new_request_id()
        token = request_id.bind_request_id(rid)
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - began
            response[request_id.HEADER] = rid
            group = route_group(request)
            metrics.REQUEST_SECONDS.labels(group).observe(elapsed)
            if response.status_code >= 500:
                metrics.SERVER_ERRORS.labels(group).inc()
            route = route_name(request)
            log.info(
                "%s %s %s %.1f ms",
                request.method,
                route,
                response.status_code,
                elapsed * 1000,
                extra={
                    "method": request.method,
                    "route": route,
                    "group": group,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                    "business_id": _business_id(request),
                    "user_id": _user_id(request),
                },
            )
        finally:
            request_id.unbind_request_id(token)
        return response


def route_name(request: HttpRequest) -> str:
    """The URL name with its namespaces (`admin:bookings_booking_change`), or "-"."""
    match = getattr(request, "resolver_match", None)
    if request.path_info in HEALTH_PATHS:
        return request.path_info.lstrip("/")
    if match is None:
        return "-"
    return match.view_name or "-"


def _business_id(request: HttpRequest) -> int | None:
    """The business served, from what the request already loaded (never a query)."""
    business = getattr(request, "business", None)
    if business is not None:
        return int(business.pk)
    business_id = getattr(getattr(request, "auth", None), "business_id", None)
    if isinstance(business_id, int):
        return business_id
    # The dashboard and admin cache the acting membership on the request
    # (properties.access.acting_membership).
    membership = request.__dict__.get("_holidesk_membership")
    return int(membership.business_id) if membership is not None else None


def _user_id(request: HttpRequest) -> int | None:
    """The signed-in user's id, if the request looked the user up (never a query)."""
    user = request.__dict__.get("user")
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    if not getattr(user, "is_authenticated", False):
        return None
    return int(user.pk)


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
