"""Celery tasks: thin, take ids, safe to run twice (state lives in PostgreSQL).

`process_photo` runs on the `images` queue (config/celery.py), consumed only by the
photo worker (`manage.py photo_worker`), so a burst of uploads never delays email or
partner pushes.
"""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from properties.photos.errors import PhotoProcessingInterrupted
from properties.photos.processing import photo_process
from properties.photos.services import photo_requeue_stale
from properties.services import custom_domains_recheck


@shared_task(name="properties.tasks.process_photo", bind=True, ignore_result=True)
def process_photo(self: Task[[int], str], image_id: int) -> str:
    try:
        return photo_process(image_id=image_id)
    except PhotoProcessingInterrupted as exc:
        # The photo is `uploaded` again (or failed for good after the last attempt).
        retries = self.request.retries
        if retries + 1 >= settings.PHOTO_PROCESSING_MAX_ATTEMPTS:
            raise
        raise self.retry(exc=exc, countdown=10 * 3**retries) from exc


@shared_task(name="properties.tasks.requeue_stale_photos", ignore_result=True)
def requeue_stale_photos() -> int:
    return photo_requeue_stale()


@shared_task(name="properties.custom_domains_recheck", ignore_result=True)
def recheck_custom_domains() -> dict[str, int]:
    return dict(custom_domains_recheck())


@shared_task(name="properties.tasks.prune_audit_log", ignore_result=True)
def prune_audit_log() -> int:
    from properties.audit import audit_log_prune

    return audit_log_prune()
