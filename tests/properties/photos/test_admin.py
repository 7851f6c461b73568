"""Photos in the admin: the inline is a second door to the same validation."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.urls import reverse

from properties.models import Property, PropertyImage
from properties.photos.processing import photo_process
from properties.photos.services import photo_add
from tests.conftest import Tenant
from tests.properties.photos.conftest import files_under
from tests.properties.photos.images import eps_bytes, jpeg_bytes, png_declaring


def _property_form(prop: Property, **images: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": prop.name,
        "slug": prop.slug,
        "published": "on",
        "description": "",
        "address": "",
        "max_guests": prop.max_guests,
        "bedrooms": prop.bedrooms,
        "bathrooms": prop.bathrooms,
        "amenities": "",
        "check_in_time": "16:00",
        "check_out_time": "10:00",
        "timezone": "",
        "base_price": "100.00",
        "cleaning_fee": "50.00",
        "tax_percent": "0",
        "min_nights": 1,
        "max_nights": 90,
        "weekly_discount_percent": "0",
        "monthly_discount_percent": "0",
        "advance_notice_days": 0,
        "booking_horizon_days": 548,
        "cancellation_policy": "moderate",
        "images-TOTAL_FORMS": 0,
        "images-INITIAL_FORMS": 0,
    }
    data.update(images)
    return data


def _upload(name: str, data: bytes) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


def _change_url(prop: Property) -> str:
    return reverse("admin:properties_property_change", args=[prop.pk])


def test_a_photo_added_in_the_admin_is_stored_privately_and_waits_for_processing(
    tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    public, private = photo_dirs
    data = _property_form(
        tenant.prop,
        **{
            "images-TOTAL_FORMS": 1,
            "images-0-upload": _upload("sea.jpg", jpeg_bytes(1000, 800)),
            "images-0-alt_text": "The sea from the terrace",
            "images-0-caption": "Terrace",
            "images-0-position": 0,
        },
    )
    response = tenant.admin_client().post(_change_url(tenant.prop), data)
    assert response.status_code == 302
    image = PropertyImage.objects.get()
    assert (image.business, image.property, image.state) == (
        tenant.business,
        tenant.prop,
        PropertyImage.State.UPLOADED,
    )
    assert image.alt_text == "The sea from the terrace"
    assert files_under(private) == [image.original]
    assert files_under(public) == []


def test_an_eps_or_a_bomb_is_a_form_error_and_nothing_is_stored(
    tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    _public, private = photo_dirs
    for name, payload, message in [
        ("plan.eps", eps_bytes(), "plan.eps: this is not a JPEG, PNG or WebP image."),
        ("bomb.png", png_declaring(20_000, 20_000, size=48 * 1024), "decompression bomb"),
    ]:
        data = _property_form(
            tenant.prop,
            **{
                "images-TOTAL_FORMS": 1,
                "images-0-upload": _upload(name, payload),
                "images-0-alt_text": "x",
                "images-0-position": 0,
            },
        )
        response = tenant.admin_client().post(_change_url(tenant.prop), data)
        assert response.status_code == 200
        errors = response.context["inline_admin_formsets"][0].formset.errors
        assert message in str(errors[0]["upload"])
    assert not PropertyImage.objects.exists()
    assert files_under(private) == []


def test_the_inline_shows_thumbnail_state_and_progress(
    tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    ready = photo_add(
        business=tenant.business,
        property=tenant.prop,
        file=io.BytesIO(jpeg_bytes(900, 600)),
        name="a.jpg",
    )
    photo_process(image_id=ready.pk)
    data = jpeg_bytes(900, 600)
    broken = photo_add(
        business=tenant.business,
        property=tenant.prop,
        file=io.BytesIO(data[: len(data) // 2]),
        name="b.jpg",
        alt_text="Kitchen",
    )
    photo_process(image_id=broken.pk)
    body = tenant.admin_client().get(_change_url(tenant.prop)).content.decode()
    assert f"/media/photos/{tenant.business.pk}/{ready.key.hex}/320w.jpg" in body
    assert "Ready; hidden until it has alt text" in body
    assert "Failed: The image data is damaged or incomplete" in body
    assert "1 of 2 ready, 1 failed" in body
    assert ready.original not in body  # the private name never reaches a page


def test_deleting_in_the_inline_removes_the_files(
    tenant: Tenant, photo_dirs: tuple[Path, Path], django_capture_on_commit_callbacks: Any
) -> None:
    public, private = photo_dirs
    image = photo_add(
        business=tenant.business,
        property=tenant.prop,
        file=io.BytesIO(jpeg_bytes(900, 600)),
        name="a.jpg",
        alt_text="Hall",
    )
    photo_process(image_id=image.pk)
    data = _property_form(
        tenant.prop,
        **{
            "images-TOTAL_FORMS": 1,
            "images-INITIAL_FORMS": 1,
            "images-0-id": image.pk,
            "images-0-property": tenant.prop.pk,
            "images-0-alt_text": "Hall",
            "images-0-position": 0,
            "images-0-DELETE": "on",
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant.admin_client().post(_change_url(tenant.prop), data)
    assert response.status_code == 302
    assert not PropertyImage.objects.exists()
    assert files_under(public) == []
    assert files_under(private) == []


def test_process_again_from_the_photo_list(
    tenant: Tenant, outsider: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    data = jpeg_bytes(900, 600)
    image = photo_add(
        business=tenant.business,
        property=tenant.prop,
        file=io.BytesIO(data[: len(data) // 2]),
        name="b.jpg",
        alt_text="Kitchen",
    )
    photo_process(image_id=image.pk)
    theirs = photo_add(
        business=outsider.business,
        property=outsider.prop,
        file=io.BytesIO(data[: len(data) // 2]),
        name="c.jpg",
    )
    photo_process(image_id=theirs.pk)
    response = tenant.admin_client().post(
        reverse("admin:properties_propertyimage_changelist"),
        {"action": "process_again", "_selected_action": [image.pk, theirs.pk]},
    )
    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.state == PropertyImage.State.FAILED
    image.refresh_from_db()
    assert (image.state, image.failure_reason, image.attempts) == (
        PropertyImage.State.UPLOADED,
        "",
        0,
    )
