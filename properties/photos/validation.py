"""The one check every photo passes before it is stored or processed.

Only the header is read: `Image.open` parses the format's header (PNG's IHDR, JPEG's
markers up to the first scan) and stops, so the pixel count is known before a single
pixel is decoded. A decompression bomb (a few KB declaring hundreds of megapixels) is
refused here, at the cost of reading a few KB. The plugin list is restricted to the
formats we accept, so no other decoder (EPS, which hands the file to Ghostscript; PSD;
TIFF...) ever sees an uploaded file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from properties.photos.errors import PhotoRejected, PhotoTooLarge

# Pillow format name -> (content type, file extension).
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
CONTENT_TYPES = {content_type: name for name, (content_type, _ext) in FORMATS.items()}
ACCEPTED_DESCRIPTION = "JPEG, PNG or WebP"
# EXIF orientations that swap width and height (the photo was taken sideways).
SIDEWAYS_ORIENTATIONS = frozenset({5, 6, 7, 8})
EXIF_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class PhotoHeader:
    format: str  # a key of FORMATS
    width: int  # as stored in the file
    height: int
    bytes: int
    orientation: int  # EXIF orientation, 1 when absent

    @property
    def content_type(self) -> str:
        return FORMATS[self.format][0]

    @property
    def extension(self) -> str:
        return FORMATS[self.format][1]

    @property
    def upright_size(self) -> tuple[int, int]:
        """Width and height as the photo is meant to be seen."""
        if self.orientation in SIDEWAYS_ORIENTATIONS:
            return self.height, self.width
        return self.width, self.height


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _megapixels(n: int) -> str:
    return f"{n / 1_000_000:.0f} megapixels"


def check_declared(*, name: str, size: int, content_type: str | None = None) -> None:
    """What can be refused before any byte arrives: the declared size and type."""
    if size <= 0:
        raise PhotoRejected(f"{name}: the file is empty.", fields={"file": ["Empty file."]})
    if size > settings.PHOTO_MAX_BYTES:
        message = (
            f"{name}: the file is {_megabytes(size)}; "
            f"the limit is {_megabytes(settings.PHOTO_MAX_BYTES)}."
        )
        raise PhotoTooLarge(message, fields={"file": [message]})
    if content_type is not None and content_type not in CONTENT_TYPES:
        message = (
            f"{name}: {content_type or 'this type'} is not accepted; upload {ACCEPTED_DESCRIPTION}."
        )
        raise PhotoRejected(message, fields={"content_type": [message]})


def _size_of(file: IO[bytes]) -> int:
    size = getattr(file, "size", None)
    if isinstance(size, int):
        return size
    position = file.tell()
    file.seek(0, 2)
    end = file.tell()
    file.seek(position)
    return end


def _orientation(image: Image.Image) -> int:
    # Never `image.getexif()`: for a PNG it decodes the whole image to look for a
    # trailing eXIf chunk. EXIF found in the header (JPEG APP1, WebP EXIF) is enough;
    # processing applies the orientation of whatever it finds after decoding.
    raw = image.info.get("exif")
    if not isinstance(raw, bytes):
        return 1
    exif = Image.Exif()
    exif.load(raw)
    value = exif.get(EXIF_ORIENTATION_TAG, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def photo_inspect(file: IO[bytes], *, name: str) -> PhotoHeader:
    """Accept or refuse `file` from its size and header alone; raises PhotoRejected
    with a message naming the file and the problem. Leaves the file at its start."""
    size = _size_of(file)
    check_declared(name=name, size=size)
    file.seek(0)
    limit = settings.PHOTO_MAX_PIXELS
    too_many = (
        f"{name}: the image declares far more pixels than the limit of {_megapixels(limit)} "
        "(a decompression bomb?)."
    )
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own (higher) bomb limit; here a warning is a refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file, formats=list(FORMATS)) as image:
                width, height = image.size
                image_format = image.format or ""
                orientation = _orientation(image)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise PhotoRejected(too_many, fields={"file": [too_many]}) from None
    except UnidentifiedImageError:
        message = f"{name}: this is not a {ACCEPTED_DESCRIPTION} image."
        raise PhotoRejected(message, fields={"file": [message]}) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        message = f"{name}: the image could not be read ({exc})."
        raise PhotoRejected(message, fields={"file": [message]}) from None
    finally:
        file.seek(0)
    if image_format not in FORMATS:
        message = (
            f"{name}: {image_format or 'this format'} is not accepted; "
            f"upload {ACCEPTED_DESCRIPTION}."
        )
        raise PhotoRejected(message, fields={"file": [message]})
    if width < 1 or height < 1:
        message = f"{name}: the image has no pixels."
        raise PhotoRejected(message, fields={"file": [message]})
    if width * height > limit:
        message = (
            f"{name}: the image is {width} x {height} pixels ({_megapixels(width * height)}); "
            f"the limit is {_megapixels(limit)}."
        )
        raise PhotoRejected(message, fields={"file": [message]})
    return PhotoHeader(
        format=image_format,
        width=width,
        height=height,
        bytes=size,
        orientation=orientation,
    )
