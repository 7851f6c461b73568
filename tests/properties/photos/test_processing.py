"""Processing an original into renditions: upright, metadata-free, idempotent."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from PIL import Image, ImageCms

from properties.models import PropertyImage, PropertyImageRendition
from properties.photos import processing
from properties.photos.errors import PhotoProcessingInterrupted
from properties.photos.processing import photo_process
from properties.photos.selectors import photo_progress
from properties.photos.services import photo_add, photo_reprocess, photo_requeue_stale
from tests.conftest import Tenant
from tests.properties.photos.conftest import files_under
from tests.properties.photos.images import jpeg_bytes, png_bytes

State = PropertyImage.State
ALL_WIDTHS = [320, 640, 1024, 1600]


def add(tenant: Tenant, data: bytes, name: str = "photo.jpg", **kw: Any) -> PropertyImage:
    return photo_add(
        business=tenant.business,
        property=tenant.prop,
        file=io.BytesIO(data),
        name=name,
        alt_text=kw.pop("alt_text", "The sitting room"),
        **kw,
    )


def renditions(image: PropertyImage) -> list[tuple[int, int, str, str]]:
    return sorted(
        (r.width, r.height, r.format, r.path)
        for r in PropertyImageRendition.objects.filter(image=image)
    )


def open_rendition(public: Path, path: str) -> Image.Image:
    return Image.open(public / path)


@pytest.fixture
def dirs(photo_dirs: tuple[Path, Path]) -> tuple[Path, Path]:
    return photo_dirs


def test_a_photo_gets_every_width_in_webp_and_jpeg(tenant: Tenant, dirs: Any) -> None:
    public, private = dirs
    image = add(tenant, jpeg_bytes(2400, 1800))
    assert image.state == State.UPLOADED
    assert files_under(private) == [image.original]
    assert photo_process(image_id=image.pk) == "ready"
    image.refresh_from_db()
    assert (image.state, image.width, image.height, image.failure_reason) == (
        State.READY,
        2400,
        1800,
        "",
    )
    rows = renditions(image)
    assert [(w, f) for w, _h, f, _p in rows] == [
        (w, f) for w in ALL_WIDTHS for f in ("jpeg", "webp")
    ]
    for width, height, fmt, path in rows:
        assert height == width * 3 // 4
        with open_rendition(public, path) as made:
            assert made.size == (width, height)
            assert made.format == {"jpeg": "JPEG", "webp": "WEBP"}[fmt]
    assert len(files_under(public)) == 8
    assert all(r.bytes > 0 for r in image.renditions.all())


def test_gps_and_all_other_metadata_are_absent_from_every_rendition(
    tenant: Tenant, dirs: Any
) -> None:
    public, _private = dirs
    original = jpeg_bytes(1700, 1000, gps=True)
    assert b"PhoneMaker" in original
    image = add(tenant, original)
    photo_process(image_id=image.pk)
    paths = [r.path for r in image.renditions.all()]
    assert len(paths) == 8
    for path in paths:
        raw = (public / path).read_bytes()
        assert b"Exif" not in raw
        assert b"PhoneMaker" not in raw
        with open_rendition(public, path) as made:
            exif = made.getexif()
            assert dict(exif) == {}
            assert exif.get_ifd(0x8825) == {}
            assert not {"exif", "xmp", "icc_profile", "comment"} & set(made.info)


def test_a_sideways_phone_photo_comes_out_upright(tenant: Tenant, dirs: Any) -> None:
    public, _private = dirs
    # Stored landscape, EXIF orientation 6: the camera was turned; the stored left
    # edge (red) is the top of the scene.
    image = add(tenant, jpeg_bytes(1200, 900, orientation=6, left_colour=(220, 20, 20)))
    photo_process(image_id=image.pk)
    image.refresh_from_db()
    assert (image.width, image.height) == (900, 1200)
    rows = renditions(image)
    assert [w for w, *_ in rows] == [320, 320, 640, 640, 900, 900]
    for width, height, _fmt, path in rows:
        assert height == round(width * 1200 / 900)
        with open_rendition(public, path) as made:
            assert made.size == (width, height)
            rgb = made.convert("RGB")
            top, bottom = rgb.getpixel((width // 2, 2)), rgb.getpixel((width // 2, height - 3))
            assert top[0] > 180, top  # red on top
            assert top[2] < 80, top
            assert bottom[2] > 130, bottom  # the blue scene below
            assert made.getexif().get(0x0112) is None


def test_a_small_photo_is_never_upscaled(tenant: Tenant, dirs: Any) -> None:
    image = add(tenant, png_bytes(500, 400, alpha=True), name="small.png")
    photo_process(image_id=image.pk)
    assert sorted({w for w, *_ in renditions(image)}) == [320, 500]


def test_running_again_changes_nothing_and_reprocessing_gives_the_same_set(
    tenant: Tenant, dirs: Any
) -> None:
    public, private = dirs
    image = add(tenant, jpeg_bytes(2000, 1500))
    photo_process(image_id=image.pk)
    first_rows, first_files = renditions(image), files_under(public)
    ids = set(image.renditions.values_list("pk", flat=True))
    # A duplicate task (redelivery, the sweep): nothing to do.
    assert photo_process(image_id=image.pk) == "ready"
    photo_reprocess(image=image)
    assert photo_process(image_id=image.pk) == "ready"
    assert renditions(image) == first_rows
    assert files_under(public) == first_files
    assert set(image.renditions.values_list("pk", flat=True)) == ids
    assert len(files_under(private)) == 1


def test_an_interrupted_run_is_retried_without_duplicate_files(
    tenant: Tenant, dirs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    public, _private = dirs
    image = add(tenant, jpeg_bytes(2000, 1500))
    real_save = processing.save_exact
    calls = {"n": 0}

    def flaky(storage: Any, name: str, content: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise ConnectionError("storage went away")
        real_save(storage, name, content)

    monkeypatch.setattr(processing, "save_exact", flaky)
    with pytest.raises(PhotoProcessingInterrupted):
        photo_process(image_id=image.pk)
    image.refresh_from_db()
    assert image.state == State.UPLOADED
    assert image.attempts == 1
    assert not image.renditions.exists()
    assert len(files_under(public)) == 4  # written before the failure

    monkeypatch.setattr(processing, "save_exact", real_save)
    assert photo_process(image_id=image.pk) == "ready"
    image.refresh_from_db()
    assert image.attempts == 2
    assert len(renditions(image)) == 8
    assert files_under(public) == sorted(p for *_x, p in renditions(image))


def test_damaged_image_data_fails_with_a_reason(tenant: Tenant, dirs: Any) -> None:
    data = jpeg_bytes(1600, 1200)
    image = add(tenant, data[: len(data) // 2])  # the header is intact, the scan is cut
    assert photo_process(image_id=image.pk) == "failed"
    image.refresh_from_db()
    assert image.state == State.FAILED
    assert image.failure_reason.startswith("The image data is damaged or incomplete")
    assert not image.renditions.exists()


def test_missing_original_fails_with_a_reason(tenant: Tenant, dirs: Any) -> None:
    image = add(tenant, jpeg_bytes(800, 600))
    storages["photo_originals"].delete(image.original)
    assert photo_process(image_id=image.pk) == "failed"
    image.refresh_from_db()
    assert image.failure_reason == "The original file is missing; upload it again."


def test_a_photo_whose_workers_keep_dying_is_failed(
    tenant: Tenant, dirs: Any, settings: Any
) -> None:
    image = add(tenant, jpeg_bytes(800, 600))
    PropertyImage.objects.filter(pk=image.pk).update(
        attempts=settings.PHOTO_PROCESSING_MAX_ATTEMPTS
    )
    assert photo_process(image_id=image.pk) == "failed"
    image.refresh_from_db()
    assert image.failure_reason == "Could not be processed after 3 attempts."


def test_a_photo_being_processed_is_left_to_its_worker(tenant: Tenant, dirs: Any) -> None:
    image = add(tenant, jpeg_bytes(800, 600))
    PropertyImage.objects.filter(pk=image.pk).update(
        state=State.PROCESSING, processing_started_at=timezone.now()
    )
    assert photo_process(image_id=image.pk) == "busy"
    later = timezone.now() + timedelta(minutes=10)
    assert photo_process(image_id=image.pk, now=later) == "ready"


def test_the_sweep_requeues_photos_whose_task_was_lost(tenant: Tenant, dirs: Any) -> None:
    waiting = add(tenant, jpeg_bytes(800, 600))
    fresh = add(tenant, jpeg_bytes(800, 600))
    stuck = add(tenant, jpeg_bytes(800, 600))
    now = timezone.now()
    long_ago = now - timedelta(minutes=30)
    PropertyImage.objects.filter(pk=waiting.pk).update(updated_at=long_ago)
    PropertyImage.objects.filter(pk=stuck.pk).update(
        state=State.PROCESSING, processing_started_at=long_ago, updated_at=long_ago
    )
    queued: list[int] = []
    assert photo_requeue_stale(now=now, enqueue=queued.append) == 2
    assert sorted(queued) == sorted([waiting.pk, stuck.pk])
    assert fresh.pk not in queued
    # Claimed for a lease: the next sweep does not enqueue them again at once.
    assert photo_requeue_stale(now=now + timedelta(seconds=60), enqueue=queued.append) == 0


def test_a_legacy_public_original_moves_to_private_storage(tenant: Tenant, dirs: Any) -> None:
    public, private = dirs
    legacy = storages["default"].save("properties/old.jpg", ContentFile(jpeg_bytes(900, 600)))
    image = PropertyImage.objects.create(
        business=tenant.business, property=tenant.prop, original=legacy, alt_text="Old"
    )
    assert photo_process(image_id=image.pk) == "ready"
    image.refresh_from_db()
    assert image.original == f"originals/{tenant.business.pk}/{image.key.hex}.jpg"
    assert files_under(private) == [image.original]
    assert not (public / legacy).exists()


def test_progress_counts_ready_photos(tenant: Tenant, dirs: Any) -> None:
    first = add(tenant, jpeg_bytes(800, 600))
    add(tenant, jpeg_bytes(800, 600))
    data = jpeg_bytes(800, 600)
    broken = add(tenant, data[: len(data) // 2])
    photo_process(image_id=first.pk)
    photo_process(image_id=broken.pk)
    progress = photo_progress(business=tenant.business, property=tenant.prop)
    assert str(progress) == "1 of 3 ready"
    assert (progress.failed, progress.pending) == (1, 1)


def _encoded(mode: str, fmt: str) -> bytes:
    image = Image.new(mode, (700, 500))
    if mode == "P":
        image.info["transparency"] = 0
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("I;16", "PNG"), ("CMYK", "JPEG"), ("P", "PNG"), ("LA", "PNG"), ("L", "JPEG"), ("1", "PNG")],
)
def test_every_colour_mode_becomes_rgb_renditions(
    tenant: Tenant, dirs: Any, mode: str, fmt: str
) -> None:
    public, _private = dirs
    image = add(tenant, _encoded(mode, fmt), name=f"photo.{fmt.lower()}")
    assert photo_process(image_id=image.pk) == "ready"
    for rendition in image.renditions.all():
        with open_rendition(public, rendition.path) as made:
            assert made.mode in ("RGB", "RGBA")
            if rendition.format == "jpeg":
                assert made.mode == "RGB"


def test_a_colour_profile_is_applied_then_dropped(tenant: Tenant, dirs: Any) -> None:
    public, _private = dirs
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 30, 30)).save(buffer, "JPEG", icc_profile=srgb)
    image = add(tenant, buffer.getvalue())
    assert photo_process(image_id=image.pk) == "ready"
    for rendition in image.renditions.all():
        raw = (public / rendition.path).read_bytes()
        assert b"ICC_PROFILE" not in raw
        assert srgb[:40] not in raw
        with open_rendition(public, rendition.path) as made:
            assert "icc_profile" not in made.info
