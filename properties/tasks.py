"""Celery tasks of this app: thin, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from properties.services import custom_domains_recheck


@shared_task(name="properties.custom_domains_recheck", ignore_result=True)
def recheck_custom_domains() -> dict[str, int]:
    return dict(custom_domains_recheck())
