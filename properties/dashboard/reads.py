"""Read helpers for the apps' dashboard selectors."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Count, Model, QuerySet, Window

M = TypeVar("M", bound=Model)


def first_with_total(rows: QuerySet[M], limit: int) -> tuple[list[M], int]:
    """The first `limit` of `rows` and how many there are in all, in one query: the
    total is a window count (`COUNT(*) OVER ()`), computed before the limit applies.
    A Today panel shows a few items and says how many more there are."""
    found: list[Any] = list(rows.annotate(_total=Window(Count("pk")))[:limit])
    total = found[0]._total if found else 0
    return found, total
