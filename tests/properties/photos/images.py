"""Image files made in the test, never shipped: phone photos with EXIF, bombs, EPS."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

from PIL import ExifTags, Image

GPS = {1: "N", 2: (50.0, 7.0, 12.5), 3: "W", 4: (5.0, 32.0, 41.0)}


def jpeg_bytes(
    width: int = 1200,
    height: int = 900,
    *,
    orientation: int | None = None,
    gps: bool = True,
    left_colour: tuple[int, int, int] | None = None,
    quality: int = 85,
) -> bytes:
    """A JPEG as a phone writes it: EXIF with the camera, GPS position and
    (optionally) an orientation. `left_colour` paints the stored image's left tenth,
    which becomes its top once an orientation-6 photo is turned upright."""
    image = Image.new("RGB", (width, height), (40, 110, 170))
    if left_colour:
        image.paste(left_colour, (0, 0, max(1, width // 10), height))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Phone 12"
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=quality)
    return buffer.getvalue()


def png_bytes(width: int = 800, height: int = 600, *, alpha: bool = False) -> bytes:
    mode = "RGBA" if alpha else "RGB"
    colour = (200, 80, 60, 128) if alpha else (200, 80, 60)
    buffer = io.BytesIO()
    Image.new(mode, (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def webp_bytes(width: int = 800, height: int = 600) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (20, 150, 90)).save(buffer, "WEBP")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header(width: int, height: int, colour_type: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)


def png_declaring(width: int, height: int, *, size: int) -> bytes:
    """A small PNG whose header declares width x height: its data stops early."""
    head = _png_header(width, height, 2)
    tail = _chunk(b"IEND", b"")
    filler = size - len(head) - len(tail) - 12
    # Incompressible pixel rows, cut short: a real-looking start of image data.
    idat = zlib.compress(random.Random(0).randbytes(filler), 1)[:filler]
    return head + _chunk(b"IDAT", idat) + tail


def write_png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid greyscale PNG of width x height black pixels (compresses ~1000:1),
    written row by row so the test itself never holds the pixels."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + pixels
    parts = []
    for _ in range(height):
        out = compressor.compress(row)
        if out:
            parts.append(out)
    parts.append(compressor.flush())
    with path.open("wb") as handle:
        handle.write(_png_header(width, height, 0))
        handle.write(_chunk(b"IDAT", b"".join(parts)))
        handle.write(_chunk(b"IEND", b""))
    return path


def eps_bytes() -> bytes:
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n%%EndComments\n"
        b"newpath 10 10 moveto 90 90 lineto stroke\nshowpage\n%%EOF\n"
    )
