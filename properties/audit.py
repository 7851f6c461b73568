"""The audit log: who changed what, and when, in a business.

Changes are recorded by django-auditlog (one `LogEntry` per create, update or delete,
with the changed fields and the person who made them). Each app says which of its
models are tracked, from its `AppConfig.ready()`, with `track(...)`; every entry carries
the business it belongs to (`additional_data["business_id"]`), so an owner's audit page
reads only their own business's entries. Secrets and token hashes are never written to
the log: only that they changed. Entries are kept for a year (`audit_log_prune`, daily).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from auditlog.context import auditlog_value
from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from properties.clientip import client_ip
from properties.models import Business

KEEP_FOR = timedelta(days=365)
PAGE_SIZE = 50


def _business_of(instance: models.Model) -> dict[str, Any]:
    business_id = (
        instance.pk if isinstance(instance, Business) else getattr(instance, "business_id", None)
    )
    return {"business_id": business_id}


def track(
    model: type[models.Model],
    *,
    exclude: list[str] | None = None,
    mask: list[str] | None = None,
    m2m: list[str] | None = None,
) -> None:
    """Record every change of `model` (a row of one business) in the audit log.
    `mask`: fields recorded as "changed" but never with their value (secrets)."""
    # auditlog asks the instance for the entry's extra data; the business is the one
    # thing every tracked row has.
    model.get_additional_data = _business_of  # type: ignore[attr-defined]
    auditlog.register(
        model,
        exclude_fields=exclude or [],
        mask_fields=mask or [],
        m2m_fields=set(m2m or []),
    )


def audit_actor(user: object) -> None:
    """Name the person behind this request for the log entries it writes, when they were
    not known to the middleware (an API token is read later, by the API view)."""
    try:
        context = auditlog_value.get()
    except LookupError:
        return
    if context.get("actor") is None:
        context["actor"] = user


class AuditMiddleware(AuditlogMiddleware):
    """auditlog's actor middleware, with the client IP as the rest of Holidesk reads it
    (only the trusted proxy's X-Forwarded-For, properties.clientip)."""

    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> str | None:
        return client_ip(request)


# --- Reads -------------------------------------------------------------------------------


def audit_entries(
    *,
    business: Business,
    model: str = "",
    actor_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> QuerySet[LogEntry]:
    """The business's entries, newest first, filtered by model (`app_label.model`),
    actor and [start, end] (days in the business's time zone)."""
    qs = LogEntry.objects.filter(additional_data__business_id=business.pk).select_related(
        "actor", "content_type"
    )
    if model and "." in model:
        app_label, name = model.split(".", 1)
        qs = qs.filter(content_type__app_label=app_label, content_type__model=name)
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    tz = business.tz
    if start is not None:
        qs = qs.filter(timestamp__gte=datetime.combine(start, datetime.min.time(), tzinfo=tz))
    if end is not None:
        after = end + timedelta(days=1)
        qs = qs.filter(timestamp__lt=datetime.combine(after, datetime.min.time(), tzinfo=tz))
    return qs.order_by("-timestamp", "-id")


def tracked_models() -> list[tuple[str, str]]:
    """(`app_label.model`, verbose name) of every tracked model, for the filter."""
    return sorted(
        (f"{m._meta.app_label}.{m._meta.model_name}", str(m._meta.verbose_name).capitalize())
        for m in auditlog.get_models()
    )


# --- Writes ------------------------------------------------------------------------------


def audit_log_prune(*, now: datetime | None = None) -> int:
    """Delete entries older than a year; returns how many went."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = LogEntry.objects.filter(timestamp__lt=cutoff).delete()
    return int(deleted)
