"""The root of Holidesk's domain errors.

Services raise these; views, API views and webhooks map them to HTTP once
(`properties.api_errors.exception_handler` for the API). Each carries a stable machine code,
a human message, and optional structured details.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext


class DomainError(Exception):
    code = "domain_error"
    http_status = 400

    def __init__(self, message: str, *, fields: dict[str, Any] | None = None, **details: Any):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "fields": self.fields}
        body.update(self.details)
        return body


class Busy(DomainError):
    """A write lost a lock race (deadlock or serialization failure) more often than its
    retries allow. Nothing was written; the same request may well succeed in a moment.
    Never a verdict on the request itself (dates taken, bad input)."""

    code = "busy"
    http_status = 503

    def __init__(self, message: str = "", **details: Any):
        super().__init__(
            message or gettext("We are busy; please try again in a moment."), **details
        )
