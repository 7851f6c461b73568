"""Turning an uploaded original into public renditions.

`photo_process` is what the `images` queue's task runs, and what the demo seed calls
directly. It is safe to run twice and to retry after a crash at any point:

- a photo is claimed by moving it from `uploaded` to `processing` under a row lock;
  a second run finds it `processing` (recently) or `ready` and does nothing;
- rendition files have names derived from the photo's key, width and format, so a
  retry overwrites the first attempt's files instead of adding new ones;
- rendition rows are written in one transaction at the end, unique per
  (photo, width, format), so the set is replaced whole or not at all.

Each rendition is decoded from the original once, turned upright (EXIF orientation),
converted to sRGB, and saved with no metadata at all: no EXIF (phone photos carry the
GPS position of the house), no XMP, no ICC profile, no comments.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image, ImageCms, ImageOps

from properties.db import lock_one
from properties.models import PropertyImage, PropertyImageRendition
from properties.photos.errors import PhotoProcessingInterrupted, PhotoRejected
from properties.photos.storage import (
    original_name,
    originals_storage,
    rendition_name,
    renditions_storage,
    save_exact,
)
from properties.photos.validation import (
    EXIF_ORIENTATION_TAG,
    SIDEWAYS_ORIENTATIONS,
    PhotoHeader,
    photo_inspect,
)

log = logging.getLogger(__name__)

State = PropertyImage.State
Format = PropertyImageRendition.Format
REASON_MAX = 300
LEGACY_PREFIX = "properties/"
# Pillow's encoders, and the file extension of each rendition format.
ENCODINGS: dict[str, tuple[str, str, dict[str, object]]] = {
    Format.WEBP: ("WEBP", "webp", {"quality": 80, "method": 4}),
    Format.JPEG: ("JPEG", "jpg", {"quality": 82, "optimize": True, "progressive": True}),
}
SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class RenderedFile:
    width: int
    height: int
    format: str
    path: str
    bytes: int


def rendition_widths(upright_width: int) -> list[int]:
    """Configured widths, never wider than the original; a photo narrower than the
    smallest gets one rendition at its own width."""
    return sorted({min(width, upright_width) for width in settings.PHOTO_RENDITION_WIDTHS})


# --- Claiming and recording state ------------------------------------------------------


def _claim(image_id: int, now: datetime) -> PropertyImage | str:
    with transaction.atomic():
        try:
            image = lock_one(PropertyImage.objects.all(), pk=image_id)
        except PropertyImage.DoesNotExist:
            return "gone"
        if image.state in (State.READY, State.FAILED):
            return str(image.state)
        stale = now - timedelta(seconds=settings.PHOTO_PROCESSING_STALE_SECONDS)
        if (
            image.state == State.PROCESSING
            and image.processing_started_at is not None
            and image.processing_started_at > stale
        ):
            return "busy"  # another worker has it; the sweep retries it if that one died
        if image.attempts >= settings.PHOTO_PROCESSING_MAX_ATTEMPTS:
            # Each attempt died without recording an outcome (the worker was killed,
            # e.g. out of memory): stop trying.
            _record_failure(
                image,
                f"Could not be processed after {image.attempts} attempts.",
                now,
            )
            return "failed"
        # update(), not save(): no signal, so partners are not pushed a listing
        # for a state change they never see.
        PropertyImage.objects.filter(pk=image.pk).update(
            state=State.PROCESSING,
            processing_started_at=now,
            attempts=F("attempts") + 1,
            claimed_until=None,
            updated_at=now,
        )
        image.refresh_from_db()
        return image


def _still_ours(image_id: int, started: datetime | None) -> PropertyImage | None:
    image = lock_one(PropertyImage.objects.all(), pk=image_id)
    if image.state != State.PROCESSING or image.processing_started_at != started:
        return None  # taken over by a later attempt after this one was presumed dead
    return image


def _record_failure(image: PropertyImage, reason: str, now: datetime) -> None:
    image.state = State.FAILED
    image.failure_reason = reason[:REASON_MAX]
    image.processed_at = now
    image.claimed_until = None
    image.save(
        update_fields=["state", "failure_reason", "processed_at", "claimed_until", "updated_at"]
    )


def _fail(image_id: int, started: datetime | None, reason: str) -> str:
    with transaction.atomic():
        image = _still_ours(image_id, started)
        if image is None:
            return "superseded"
        _record_failure(image, reason, timezone.now())
    log.info("Photo %s failed: %s", image_id, reason)
    return "failed"


def _release(image_id: int, started: datetime | None, error: Exception) -> None:
    """Hand the photo back for a retry, or fail it once attempts are used up."""
    with transaction.atomic():
        image = _still_ours(image_id, started)
        if image is None:
            return
        if image.attempts >= settings.PHOTO_PROCESSING_MAX_ATTEMPTS:
            _record_failure(
                image,
                f"Could not be processed after {image.attempts} attempts ({error}).",
                timezone.now(),
            )
            return
        PropertyImage.objects.filter(pk=image.pk).update(
            state=State.UPLOADED, processing_started_at=None, updated_at=timezone.now()
        )


def _finish(
    image_id: int,
    started: datetime | None,
    header: PhotoHeader,
    upright: tuple[int, int],
    files: list[RenderedFile],
) -> str:
    keep = {file.path for file in files}
    with transaction.atomic():
        image = _still_ours(image_id, started)
        if image is None:
            return "superseded"
        stale = list(image.renditions.all())
        for file in files:
            PropertyImageRendition.objects.update_or_create(
                image=image,
                width=file.width,
                format=file.format,
                defaults={
                    "business_id": image.business_id,
                    "height": file.height,
                    "path": file.path,
                    "bytes": file.bytes,
                },
            )
        gone = [r for r in stale if (r.width, r.format) not in {(f.width, f.format) for f in files}]
        PropertyImageRendition.objects.filter(pk__in=[r.pk for r in gone]).delete()
        image.width, image.height = upright
        image.original_format = header.format
        image.original_bytes = header.bytes
        image.state = State.READY
        image.failure_reason = ""
        image.processed_at = timezone.now()
        image.claimed_until = None
        image.save()  # post_save: partners get the listing with this photo's renditions
        orphans = [r.path for r in gone if r.path not in keep]
        if orphans:
            transaction.on_commit(lambda: _delete_files(orphans), robust=True)
    return "ready"


def _delete_files(paths: list[str]) -> None:
    storage = renditions_storage()
    for path in paths:
        storage.delete(path)


# --- Rendering ----------------------------------------------------------------------------


def _decode(source: IO[bytes], header: PhotoHeader) -> tuple[Image.Image, int]:
    """The photo, upright, in sRGB, RGB or RGBA; and the EXIF orientation applied."""
    largest = max(rendition_widths(header.upright_size[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(source, formats=[header.format])
        if header.format == "JPEG":
            # Let the JPEG decoder scale by 1/2, 1/4 or 1/8 while decoding: a 48 MP
            # phone photo never needs more than the largest rendition's pixels.
            scale = largest / header.upright_size[0]
            image.draft(None, (math.ceil(header.width * scale), math.ceil(header.height * scale)))
        image.load()  # an animation's first frame
    orientation = image.getexif().get(EXIF_ORIENTATION_TAG, 1)
    ImageOps.exif_transpose(image, in_place=True)
    upright = image
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    mode = "RGBA" if has_alpha else "RGB"
    icc = upright.info.get("icc_profile")
    converted: Image.Image | None = None
    if icc and upright.mode in ("RGB", "RGBA", "CMYK"):
        try:
            converted = ImageCms.profileToProfile(
                upright, ImageCms.ImageCmsProfile(io.BytesIO(icc)), SRGB, outputMode=mode
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None  # a broken profile: fall back to the plain conversion
    if converted is None:
        converted = upright if upright.mode == mode else upright.convert(mode)
    converted.info = {}  # nothing of the original's metadata may reach an encoder
    return converted, orientation if isinstance(orientation, int) else 1


def _encode(image: Image.Image, fmt: str) -> bytes:
    pillow_format, _ext, options = ENCODINGS[fmt]
    if fmt == Format.JPEG and image.mode == "RGBA":
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **options)
    return buffer.getvalue()


def _render(
    image: PropertyImage, upright: tuple[int, int], decoded: Image.Image
) -> list[RenderedFile]:
    """Every rendition of `decoded` (upright, possibly a reduced JPEG draft of an
    original of `upright` size), saved; heights keep the original's proportions."""
    storage = renditions_storage()
    files: list[RenderedFile] = []
    source = decoded
    for width in sorted(rendition_widths(upright[0]), reverse=True):
        height = max(1, round(upright[1] * width / upright[0]))
        resized = source.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        for fmt in ENCODINGS:
            data = _encode(resized, fmt)
            path = rendition_name(
                business_id=image.business_id,
                key=image.key,
                width=width,
                extension=ENCODINGS[fmt][1],
            )
            save_exact(storage, path, ContentFile(data))
            files.append(
                RenderedFile(width=width, height=height, format=fmt, path=path, bytes=len(data))
            )
        source = resized  # each smaller size from the previous: faster, same quality
    return files


# --- The service -------------------------------------------------------------------------


def photo_process(*, image_id: int, now: datetime | None = None) -> str:
    """Process one uploaded photo into its renditions. Returns the outcome: `ready`,
    `failed` (the reason is on the photo), or why nothing was done (`busy`, `ready`,
    `failed` already, `gone`, `superseded`). Raises PhotoProcessingInterrupted when
    the work should be retried (storage or database trouble)."""
    claimed = _claim(image_id, now or timezone.now())
    if isinstance(claimed, str):
        return claimed
    image, started = claimed, claimed.processing_started_at
    label = f"Photo {image.pk}"
    try:
        if not image.original:
            return _fail(image.pk, started, "The photo has no file; upload it again.")
        storage = originals_storage()
        if not storage.exists(image.original) and not _adopt_legacy_original(image):
            return _fail(image.pk, started, "The original file is missing; upload it again.")
        with storage.open(image.original, "rb") as original:
            header = photo_inspect(original, name=label)
            decoded, orientation = _decode(original, header)
        stored = (header.width, header.height)
        upright = stored[::-1] if orientation in SIDEWAYS_ORIENTATIONS else stored
        files = _render(image, upright, decoded)
    except PhotoRejected as exc:
        return _fail(image.pk, started, exc.message)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return _fail(image.pk, started, f"{label}: the image has too many pixels.")
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        if _is_storage_error(exc):
            _release(image.pk, started, exc)
            raise PhotoProcessingInterrupted(str(exc)) from exc
        return _fail(image.pk, started, f"The image data is damaged or incomplete ({exc}).")
    except Exception as exc:
        _release(image.pk, started, exc)
        raise PhotoProcessingInterrupted(str(exc)) from exc
    return _finish(image.pk, started, header, upright, files)


def _adopt_legacy_original(image: PropertyImage) -> bool:
    """Photos uploaded before originals were private sit in the public media storage
    under `properties/` (migration 0004 kept their names): move such a file into the
    private storage on its first processing."""
    public = renditions_storage()
    old = image.original
    if not old.startswith(LEGACY_PREFIX) or not public.exists(old):
        return False
    extension = old.rsplit(".", 1)[-1].lower() if "." in old else "bin"
    new = original_name(business_id=image.business_id, key=image.key, extension=extension)
    with public.open(old, "rb") as legacy:
        save_exact(originals_storage(), new, File(legacy, name=new))
    PropertyImage.objects.filter(pk=image.pk).update(original=new)
    image.original = new
    public.delete(old)
    return True


def _is_storage_error(exc: BaseException) -> bool:
    # Pillow raises OSError for damaged data; storages raise subclasses for I/O trouble
    # (a missing directory, a full disk, a network error) that a retry may cure.
    return isinstance(exc, ConnectionError | TimeoutError | PermissionError | FileNotFoundError)
