"""Writes for property photos: adding, reordering, processing again, deleting.

Every photo that comes in through a server-side door (the admin's form, the demo seed)
goes through `photo_add`; uploads straight to storage go through
`properties.photos.uploads`. Both validate with `photo_inspect` before storing or
processing anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files.base import File
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from properties.db import after_commit, claim_due
from properties.models import Business, Property, PropertyImage, User
from properties.permissions import MANAGE_PROPERTIES, require
from properties.photos.errors import PhotoNotFound
from properties.photos.storage import (
    original_name,
    originals_storage,
    renditions_storage,
    save_exact,
)
from properties.photos.validation import PhotoHeader, photo_inspect

State = PropertyImage.State
SWEEP_BATCH = 500


def check_property(*, business: Business, property: Property) -> None:
    """A property of another business is treated exactly like a missing one."""
    if property.business_id != business.pk:
        raise PhotoNotFound("No such property.")


def photo_enqueue(*, image_id: int) -> None:
    """Process the photo once the current transaction commits (the periodic sweep
    catches a photo whose task was lost)."""
    if not settings.PHOTO_KICK_PROCESSING:
        return
    from properties.tasks import process_photo

    after_commit(lambda: process_photo.delay(image_id), what=f"processing of photo {image_id}")


def next_position(*, property: Property) -> int:
    top = PropertyImage.objects.filter(property=property).aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def photo_create(
    *,
    business: Business,
    property: Property,
    original: str,
    header: PhotoHeader,
    alt_text: str = "",
    caption: str = "",
    position: int | None = None,
    key: uuid.UUID | None = None,
    enqueue: bool = True,
) -> PropertyImage:
    """The row for an original already in storage and already inspected."""
    check_property(business=business, property=property)
    width, height = header.upright_size
    with transaction.atomic():
        image = PropertyImage.objects.create(
            business=business,
            property=property,
            key=key or uuid.uuid4(),
            original=original,
            original_bytes=header.bytes,
            original_format=header.format,
            width=width,
            height=height,
            alt_text=alt_text.strip(),
            caption=caption.strip(),
            position=next_position(property=property) if position is None else position,
        )
        if enqueue:
            photo_enqueue(image_id=image.pk)
    return image


def photo_add(
    *,
    business: Business,
    property: Property,
    file: IO[bytes],
    name: str,
    alt_text: str = "",
    caption: str = "",
    position: int | None = None,
    enqueue: bool = True,
    by: User | AnonymousUser | None = None,
) -> PropertyImage:
    """Validate `file`, store it as a private original and queue its processing
    (`enqueue=False`: the caller processes it itself). Raises PhotoRejected (nothing
    stored) with a message naming `name`. `by`: the member uploading, if a page acts
    for one (the dashboard's upload form)."""
    check_property(business=business, property=property)
    if by is not None:
        require(by, MANAGE_PROPERTIES, business=business, obj=property)
    header = photo_inspect(file, name=name)
    key = uuid.uuid4()
    stored = original_name(business_id=business.pk, key=key, extension=header.extension)
    storage = originals_storage()
    save_exact(storage, stored, File(file, name=name))
    try:
        return photo_create(
            business=business,
            property=property,
            original=stored,
            header=header,
            alt_text=alt_text,
            caption=caption,
            position=position,
            key=key,
            enqueue=enqueue,
        )
    except BaseException:
        storage.delete(stored)
        raise


def photo_reprocess(
    *, image: PropertyImage, by: User | AnonymousUser | None = None
) -> PropertyImage:
    """Make renditions again (a failed photo, or new rendition settings). `by`: the
    member asking, if a page acts for one."""
    if by is not None:
        require(by, MANAGE_PROPERTIES, business=image.business, obj=image)
    with transaction.atomic():
        PropertyImage.objects.filter(pk=image.pk).update(
            state=State.UPLOADED,
            failure_reason="",
            attempts=0,
            processing_started_at=None,
            claimed_until=None,
            updated_at=timezone.now(),
        )
        photo_enqueue(image_id=image.pk)
    image.refresh_from_db()
    return image


def photo_delete(*, image: PropertyImage, by: User | AnonymousUser | None = None) -> None:
    """Delete the photo and, once that commits, its files. `by`: the member deleting,
    if a page acts for one."""
    if by is not None:
        require(by, MANAGE_PROPERTIES, business=image.business, obj=image)
    original = image.original
    renditions = list(image.renditions.values_list("path", flat=True))

    def remove_files() -> None:
        if original:
            originals_storage().delete(original)
        storage = renditions_storage()
        for path in renditions:
            storage.delete(path)

    with transaction.atomic():
        image.delete()
        transaction.on_commit(remove_files, robust=True)


def photo_requeue_stale(
    *, now: datetime | None = None, enqueue: Callable[[int], None] | None = None
) -> int:
    """Enqueue photos whose processing task was lost: still `uploaded`, or still
    `processing` after its worker must have died. Runs from Celery beat."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.PHOTO_PROCESSING_STALE_SECONDS)
    rows = claim_due(
        table=PropertyImage._meta.db_table,
        where=(
            "(state = 'uploaded' AND updated_at < %(stale)s)"
            " OR (state = 'processing' AND processing_started_at < %(stale)s)"
        ),
        order_by="updated_at, id",
        now=now,
        limit=SWEEP_BATCH,
        lease_until=now + timedelta(seconds=settings.PHOTO_PROCESSING_STALE_SECONDS),
        params={"stale": stale},
    )
    if enqueue is None:
        from properties.tasks import process_photo

        def enqueue(image_id: int) -> None:
            process_photo.delay(image_id)

    for (image_id,) in rows:
        enqueue(image_id)
    return len(rows)
