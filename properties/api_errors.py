"""One JSON error shape for every API answer: {"error": {"code", "message", "fields"}}.

`error_response` is the one builder of that shape; DRF views get it through
`exception_handler`, plain Django views (webhooks, 404s, the busy middleware) call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from rest_framework import exceptions

from properties.db import RETRYABLE_SQLSTATES, sqlstate
from properties.errors import Busy, DomainError

_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "invalid_json",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "invalid_payload",
}

# Seconds a client is asked to wait before trying a busy write again.
BUSY_RETRY_AFTER = 1


def error_response(
    status: int,
    code: str,
    message: str,
    fields: Mapping[str, Any] | None = None,
    *,
    details: Mapping[str, Any] | None = None,
) -> JsonResponse:
    """The JSON error answer: {"error": {"code", "message", "fields", **details}}."""
    body: dict[str, Any] = {"code": code, "message": message, "fields": dict(fields or {})}
    body.update(details or {})
    response = JsonResponse({"error": body}, status=status)
    if status == 503:
        response["Retry-After"] = str(BUSY_RETRY_AFTER)
    return response


def busy_error(exc: BaseException) -> Busy | None:
    """The Busy answer for a write that lost a lock race: raised as Busy by a service,
    or a deadlock / serialization failure that escaped a caller's transaction."""
    if isinstance(exc, Busy):
        return exc
    if isinstance(exc, DatabaseError) and sqlstate(exc) in RETRYABLE_SQLSTATES:
        return Busy()
    return None


def domain_error_response(exc: DomainError) -> JsonResponse:
    return error_response(exc.http_status, exc.code, exc.message, exc.fields, details=exc.details)


def exception_handler(exc: Exception, context: dict[str, Any]) -> JsonResponse | None:
    busy = busy_error(exc)
    if busy is not None:
        return domain_error_response(busy)
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: DRF re-raises it, and it is a 500 with its traceback logged
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        first = _first_message(fields)
        response = error_response(
            exc.status_code, code, f"Invalid input: {first}" if first else "Invalid input.", fields
        )
    else:
        response = error_response(exc.status_code, code, str(exc.detail))
    # What DRF's own handler would have added (APIView sets auth_header on 401s).
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        response["WWW-Authenticate"] = auth_header
    elif response.status_code == 401:
        response["WWW-Authenticate"] = "Token"
    wait = getattr(exc, "wait", None)
    if wait:
        response["Retry-After"] = str(int(wait))
    return response


def _first_message(fields: Any) -> str:
    if isinstance(fields, dict):
        for key, value in fields.items():
            inner = _first_message(value)
            if inner:
                return inner if key == "non_field_errors" else f"{key}: {inner}"
    elif isinstance(fields, list):
        for value in fields:
            inner = _first_message(value)
            if inner:
                return inner
    elif fields:
        return str(fields)
    return ""
