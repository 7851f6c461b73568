"""Photo processing has its own queue and worker, so a burst never delays email or
partner pushes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from config.celery import PHOTO_QUEUE, app
from config.management.commands.photo_worker import photo_worker_argv
from properties.models import PropertyImage
from properties.photos.services import photo_add
from properties.tasks import process_photo
from tests.conftest import Tenant
from tests.properties.photos.images import jpeg_bytes


def _queue_of(task_name: str) -> str:
    return str(app.amqp.router.route({}, task_name)["queue"].name)


def test_photo_processing_goes_to_its_own_queue() -> None:
    app.loader.import_default_modules()
    assert PHOTO_QUEUE == "images"
    assert _queue_of("properties.tasks.process_photo") == "images"
    for other in (
        "messaging.tasks.send_message",
        "messaging.tasks.dispatch_due",
        "integrations.tasks.deliver_push",
        "bookings.tasks.expire_holds",
        "properties.tasks.requeue_stale_photos",
    ):
        assert other in app.tasks
        assert _queue_of(other) == app.conf.task_default_queue != "images"


def test_the_ordinary_worker_does_not_consume_the_photo_queue() -> None:
    # A worker started without -Q consumes the queues declared up front: only the
    # default one; `images` exists only as a routing target.
    _queue_of("properties.tasks.process_photo")
    assert set(app.amqp.queues.consume_from) == {app.conf.task_default_queue}


def test_the_photo_worker_consumes_only_images_with_the_configured_cap(settings: Any) -> None:
    settings.PHOTO_PROCESSING_CONCURRENCY = 7
    argv = photo_worker_argv()
    assert argv[0] == "worker"
    assert "--queues=images" in argv
    assert "--concurrency=7" in argv


def test_the_task_processes_a_photo(tenant: Tenant, photo_dirs: tuple[Path, Path]) -> None:
    image = photo_add(
        business=tenant.business,
        property=tenant.prop,
        file=io.BytesIO(jpeg_bytes(700, 500)),
        name="p.jpg",
        alt_text="Garden",
    )
    assert process_photo.apply(args=(image.pk,)).get() == "ready"
    image.refresh_from_db()
    assert image.state == PropertyImage.State.READY


def test_an_upload_enqueues_processing_after_commit(
    tenant: Tenant,
    photo_dirs: tuple[Path, Path],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    settings.PHOTO_KICK_PROCESSING = True
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(process_photo, "delay", lambda *args: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        image = photo_add(
            business=tenant.business,
            property=tenant.prop,
            file=io.BytesIO(jpeg_bytes(700, 500)),
            name="p.jpg",
        )
    assert sent == [(image.pk,)]
