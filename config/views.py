"""Health endpoints, served on any host (see properties.middleware.HOST_FREE_PATHS)."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from properties.api_errors import error_response


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready", and says why
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        client.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 for the app host: JSON under /api/ (one error shape everywhere), a page elsewhere."""
    if request.path.startswith("/api/"):
        return error_response(404, "not_found", "No such endpoint.")
    return render(request, "404.html", status=404)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask every host for /favicon.ico: the site's icon, from static files."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
