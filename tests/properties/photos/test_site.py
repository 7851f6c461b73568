"""Visitors see processed, described photos: responsive, lazy, sized, with alt text."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from properties.models import PropertyImage
from properties.photos.processing import photo_process
from properties.photos.services import photo_add
from tests.conftest import Tenant
from tests.factories import PropertyFactory
from tests.properties.photos.images import jpeg_bytes


def ready_photo(
    tenant: Tenant, *, prop: Any = None, alt: str = "The garden", position: int | None = None
) -> PropertyImage:
    image = photo_add(
        business=tenant.business,
        property=prop or tenant.prop,
        file=io.BytesIO(jpeg_bytes(2000, 1500)),
        name="p.jpg",
        alt_text=alt,
        caption=f"Caption of {alt}",
        position=position,
    )
    assert photo_process(image_id=image.pk) == "ready"
    return image


def _src(image: PropertyImage, width: int, ext: str) -> str:
    return f"/media/photos/{image.business_id}/{image.key.hex}/{width}w.{ext}"


@pytest.fixture(autouse=True)
def _dirs(photo_dirs: tuple[Path, Path]) -> None:
    return None


def test_cards_show_the_first_photo_responsively(tenant: Tenant) -> None:
    second = ready_photo(tenant, alt="The bedroom", position=2)
    first = ready_photo(tenant, alt="The sea view", position=1)
    body = tenant.site_client().get("/").content.decode()
    cards = re.findall(r"<picture>.*?</picture>", body, flags=re.DOTALL)
    assert len(cards) == 1
    card = cards[0]
    assert _src(first, 640, "jpg") in card
    assert _src(second, 640, "jpg") not in body
    webp = ", ".join(f"{_src(first, w, 'webp')} {w}w" for w in (320, 640, 1024, 1600))
    assert f'<source type="image/webp" srcset="{webp}"' in card
    jpeg = ", ".join(f"{_src(first, w, 'jpg')} {w}w" for w in (320, 640, 1024, 1600))
    assert f'srcset="{jpeg}"' in card
    assert 'sizes="(min-width: 1100px) 340px, (min-width: 600px) 50vw, 100vw"' in card
    assert 'loading="lazy"' in card
    assert 'width="640" height="480"' in card
    assert 'alt="The sea view"' in card
    assert 'class="card-photo"' in card


def test_photos_not_ready_or_without_alt_text_are_not_shown(tenant: Tenant) -> None:
    hidden = ready_photo(tenant, alt="x")
    PropertyImage.objects.filter(pk=hidden.pk).update(alt_text="")
    photo_add(
        business=tenant.business,
        property=tenant.prop,
        file=io.BytesIO(jpeg_bytes(800, 600)),
        name="waiting.jpg",
        alt_text="Waiting",
    )
    for path in ("/", f"/p/{tenant.prop.slug}/"):
        body = tenant.site_client().get(path).content.decode()
        assert "<picture>" not in body
        assert 'aria-label="No photo yet"' in body
        assert "/private" not in body
        assert "originals/" not in body


def test_the_property_page_has_an_accessible_gallery(tenant: Tenant) -> None:
    photos = [ready_photo(tenant, alt=f"Room {n}", position=n) for n in range(3)]
    body = tenant.site_client().get(f"/p/{tenant.prop.slug}/").content.decode()
    gallery = body[body.index('<div class="gallery"') : body.index('<div class="property-grid">')]
    assert 'class="gallery-track" tabindex="0" role="region"' in gallery
    assert f'aria-label="Photos of {tenant.prop.name}, 3 in all"' in gallery
    pictures = re.findall(r"<picture>.*?</picture>", gallery, flags=re.DOTALL)
    assert len(pictures) == 3
    for n, (picture, image) in enumerate(zip(pictures, photos, strict=True)):
        assert f'alt="Room {n}"' in picture
        assert _src(image, 1600, "webp") in picture
        assert 'sizes="(min-width: 1100px) 1070px, 100vw"' in picture
        assert ('loading="eager"' if n == 0 else 'loading="lazy"') in picture
    assert "Caption of Room 1" in gallery
    assert "data-gallery-controls hidden" in gallery
    assert 'aria-label="Next photo"' in gallery
    assert '<script src="/static/js/gallery.js" defer></script>' in body
    # Only scripts from files run; schema.org data (`application/ld+json`) is a data
    # block browsers never execute.
    executable = re.sub(
        r'<script type="application/ld\+json"[^>]*>.*?</script>', "", body, flags=re.S
    )
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", executable), "no inline script"


def test_one_photo_needs_no_gallery_buttons(tenant: Tenant) -> None:
    ready_photo(tenant)
    body = tenant.site_client().get(f"/p/{tenant.prop.slug}/").content.decode()
    assert "data-gallery-controls" not in body


def test_another_business_photos_never_appear(tenant: Tenant, outsider: Tenant) -> None:
    theirs = ready_photo(outsider, alt="Their chalet")
    ready_photo(tenant, alt="Our cottage")
    for path in ("/", f"/p/{tenant.prop.slug}/"):
        body = tenant.site_client().get(path).content.decode()
        assert "Our cottage" in body
        assert "Their chalet" not in body
        assert theirs.key.hex not in body


def test_the_home_page_query_count_does_not_grow_with_photos(
    tenant: Tenant, django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        prop = PropertyFactory(business=tenant.business)
        ready_photo(tenant, prop=prop)
        ready_photo(tenant, prop=prop)
    with django_assert_max_num_queries(12):
        body = tenant.site_client().get("/").content.decode()
    assert body.count("<picture>") == 3
