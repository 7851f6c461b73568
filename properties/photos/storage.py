"""Where photo files live.

Originals are in `STORAGES["photo_originals"]`: outside MEDIA_ROOT locally, under the
bucket's `private/` prefix on S3, which CloudFront may not read. Renditions are in the
default (public) storage. Names are derived from the photo's random key, so a retry
writes the same names again instead of adding files.
"""

from __future__ import annotations

import uuid

from django.core.files.base import File
from django.core.files.storage import Storage, storages

from properties.photos.errors import PhotoProcessingInterrupted

ORIGINALS_ALIAS = "photo_originals"


def originals_storage() -> Storage:
    return storages[ORIGINALS_ALIAS]


def renditions_storage() -> Storage:
    return storages["default"]


def original_name(*, business_id: int, key: uuid.UUID, extension: str) -> str:
    return f"originals/{business_id}/{key.hex}.{extension}"


def rendition_name(*, business_id: int, key: uuid.UUID, width: int, extension: str) -> str:
    return f"photos/{business_id}/{key.hex}/{width}w.{extension}"


def save_exact(storage: Storage, name: str, content: File[bytes]) -> None:
    """Write `content` at exactly `name`, replacing what is there. Storages pick
    another name rather than overwrite (`file_overwrite=False` on S3), which would
    leave a retry's files beside the first attempt's."""
    if storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, content)
    if saved != name:
        storage.delete(saved)
        raise PhotoProcessingInterrupted(f"Storage wrote {saved!r} instead of {name!r}.")
