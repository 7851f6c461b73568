"""Answers for failures no single view should have to know about."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from properties.api_errors import BUSY_RETRY_AFTER, busy_error, domain_error_response

# Paths whose callers are programs: they get the JSON error shape, not a page.
JSON_PATH_PREFIXES = ("/api/", "/webhooks/")


class BusyMiddleware:
    """A write that lost its lock races (`properties.errors.Busy`, or a deadlock that
    escaped a caller's transaction) answers 503 "busy, try again" with nothing written,
    never a 500 and never "those dates are taken": JSON for programs, a page for
    people (the visitor site, the admin, dashboard pages). DRF views answer the same
    through `properties.api_errors.exception_handler`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        busy = busy_error(exception)
        if busy is None:
            return None
        if request.path_info.startswith(JSON_PATH_PREFIXES):
            return domain_error_response(busy)
        response = render(request, "503.html", {"message": busy.message}, status=503)
        response["Retry-After"] = str(BUSY_RETRY_AFTER)
        return response
