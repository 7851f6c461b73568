"""Every photo is checked from its size and header before anything decodes it."""

from __future__ import annotations

import io
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFile, WebPImagePlugin

from properties.photos.errors import PhotoRejected, PhotoTooLarge
from properties.photos.validation import photo_inspect
from tests.properties.photos.images import (
    eps_bytes,
    jpeg_bytes,
    png_bytes,
    png_declaring,
    webp_bytes,
    write_png_bomb,
)

# Far below what decoding any of these would take (400 MP x 3 bytes = 1.2 GB).
PEAK_MEMORY_LIMIT = 5 * 1024 * 1024
TIME_LIMIT_SECONDS = 2.0


@pytest.fixture(scope="module")
def bomb_144mp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_png_bomb(tmp_path_factory.mktemp("bomb") / "bomb.png", 12_000, 12_000)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every call that would decode pixels."""
    calls: list[str] = []
    for owner in (ImageFile.ImageFile, WebPImagePlugin.WebPImageFile):
        original = owner.load

        def spy(self: Any, _original: Callable[..., Any] = original) -> Any:
            calls.append(type(self).__name__)
            return _original(self)

        monkeypatch.setattr(owner, "load", spy)
    return calls


def _refused_quickly(file: Any, name: str) -> PhotoRejected:
    tracemalloc.start()
    tracemalloc.reset_peak()
    began = time.perf_counter()
    try:
        with pytest.raises(PhotoRejected) as caught:
            photo_inspect(file, name=name)
    finally:
        elapsed = time.perf_counter() - began
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < TIME_LIMIT_SECONDS
    assert peak < PEAK_MEMORY_LIMIT, f"peak {peak} bytes"
    return caught.value


@pytest.fixture
def settings_limits(settings: Any) -> Any:
    settings.PHOTO_MAX_BYTES = 20 * 1024 * 1024
    settings.PHOTO_MAX_PIXELS = 50_000_000
    return settings


def test_small_png_declaring_400_megapixels_is_refused_without_decoding(
    settings_limits: Any, decodes: list[str]
) -> None:
    data = png_declaring(20_000, 20_000, size=48 * 1024)
    assert 40 * 1024 < len(data) <= 48 * 1024
    error = _refused_quickly(io.BytesIO(data), "small.png")
    assert error.message.startswith("small.png: ")
    assert "50 megapixels" in error.message
    assert decodes == []


def test_144_megapixel_bomb_is_refused_without_decoding(
    settings_limits: Any, decodes: list[str], bomb_144mp: Path
) -> None:
    assert bomb_144mp.stat().st_size < 1024 * 1024
    with bomb_144mp.open("rb") as handle:
        error = _refused_quickly(handle, "bomb.png")
    assert "bomb.png" in error.message
    assert "50 megapixels" in error.message
    assert decodes == []


def test_bomb_under_pillows_own_limit_is_refused_by_ours(
    settings_limits: Any, decodes: list[str], tmp_path: Path
) -> None:
    path = write_png_bomb(tmp_path / "sixty.png", 10_000, 6_000)  # 60 MP
    with path.open("rb") as handle:
        error = _refused_quickly(handle, "sixty.png")
    assert "10000 x 6000 pixels (60 megapixels); the limit is 50 megapixels" in error.message
    assert decodes == []


def test_30_megabyte_file_is_refused_before_it_is_read(
    settings_limits: Any, decodes: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "huge.jpg"
    with path.open("wb") as handle:
        handle.write(jpeg_bytes(640, 480))
        handle.truncate(30 * 1024 * 1024)
    with path.open("rb") as handle:
        error = _refused_quickly(handle, "huge.jpg")
        assert handle.tell() == 0
    assert isinstance(error, PhotoTooLarge)
    assert error.http_status == 413
    assert error.message == "huge.jpg: the file is 30.0 MB; the limit is 20.0 MB."
    assert decodes == []


def test_eps_is_refused_and_never_parsed(settings_limits: Any, decodes: list[str]) -> None:
    # Pillow would hand an EPS to Ghostscript; its plugin must not even be tried.
    assert Image.open(io.BytesIO(eps_bytes())).format == "EPS"
    error = _refused_quickly(io.BytesIO(eps_bytes()), "plan.eps")
    assert error.message == "plan.eps: this is not a JPEG, PNG or WebP image."
    assert decodes == []


@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "BMP"])
def test_other_image_formats_are_refused(settings_limits: Any, fmt: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, fmt)
    buffer.seek(0)
    with pytest.raises(PhotoRejected, match="not a JPEG, PNG or WebP image"):
        photo_inspect(buffer, name=f"x.{fmt.lower()}")


def test_empty_and_garbage_files_are_refused(settings_limits: Any) -> None:
    with pytest.raises(PhotoRejected, match="empty"):
        photo_inspect(io.BytesIO(b""), name="empty.jpg")
    with pytest.raises(PhotoRejected, match="not a JPEG, PNG or WebP"):
        photo_inspect(io.BytesIO(b"<html>hello</html>"), name="page.jpg")


@pytest.mark.parametrize(
    ("data", "fmt", "size"),
    [
        (jpeg_bytes(1200, 900), "JPEG", (1200, 900)),
        (png_bytes(800, 600, alpha=True), "PNG", (800, 600)),
        (webp_bytes(800, 600), "WEBP", (800, 600)),
    ],
)
def test_accepted_formats_report_their_header(
    settings_limits: Any, decodes: list[str], data: bytes, fmt: str, size: tuple[int, int]
) -> None:
    header = photo_inspect(io.BytesIO(data), name="ok")
    assert (header.format, (header.width, header.height), header.bytes) == (fmt, size, len(data))
    assert decodes == []


def test_sideways_phone_photo_reports_its_upright_size(settings_limits: Any) -> None:
    header = photo_inspect(io.BytesIO(jpeg_bytes(1200, 900, orientation=6)), name="phone.jpg")
    assert header.orientation == 6
    assert header.upright_size == (900, 1200)
