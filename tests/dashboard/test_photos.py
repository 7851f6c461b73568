"""The dashboard's Properties list and a property's photo page, without JavaScript:
multipart upload through `photo_add`, move buttons, Publish (alt text required), and
another business's property answering 404."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from properties.models import Membership, PropertyImage
from properties.photos.processing import photo_process
from properties.photos.services import photo_add
from tests.conftest import APP_HOST, Tenant
from tests.factories import MembershipFactory
from tests.properties.photos.conftest import files_under, temporary_photo_storages
from tests.properties.photos.images import eps_bytes, jpeg_bytes

State = PropertyImage.State


@pytest.fixture
def photo_dirs(tmp_path: Path, settings: Any) -> tuple[Path, Path]:
    return temporary_photo_storages(tmp_path, settings)


def page(tenant: Tenant) -> str:
    return f"/dashboard/properties/{tenant.prop.pk}/photos/"


def add(tenant: Tenant, name: str, alt_text: str = "") -> PropertyImage:
    return photo_add(
        business=tenant.business,
        property=tenant.prop,
        file=io.BytesIO(jpeg_bytes(400, 300)),
        name=name,
        alt_text=alt_text,
        enqueue=False,
    )


def test_the_properties_page_lists_properties_with_photo_progress(
    owner: Client, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    ready = add(tenant, "a.jpg", "Terrace")
    photo_process(image_id=ready.pk)
    add(tenant, "b.jpg")
    answer = owner.get("/dashboard/properties/")
    assert answer.status_code == 200
    html = answer.content.decode()
    assert tenant.prop.name in html
    assert "1 of 2 ready" in html
    assert page(tenant) in html
    assert 'href="/dashboard/properties/"' in html  # the navigation entry


def test_the_photo_page_shows_each_state_and_the_progress(
    owner: Client, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    ready = add(tenant, "a.jpg", "Terrace")
    photo_process(image_id=ready.pk)
    add(tenant, "b.jpg")
    failed = add(tenant, "c.jpg", "Bedroom")
    PropertyImage.objects.filter(pk=failed.pk).update(
        state=State.FAILED, failure_reason="The file is damaged."
    )
    html = owner.get(page(tenant)).content.decode()
    assert "1 of 3 ready" in html
    assert "1 failed" in html
    for state in ("Ready", "Uploaded", "Failed"):
        assert f">{state}<" in html
    assert "Why it failed: The file is damaged." in html
    assert "On your site" in html
    assert 'src="/static/js/dashboard-photos.js"' in html
    assert "<script>" not in html  # no inline script (CSP)


def test_uploading_without_javascript_goes_through_the_same_validation(
    owner: Client, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    _, private = photo_dirs
    files = [
        SimpleUploadedFile("garden.jpg", jpeg_bytes(600, 400), content_type="image/jpeg"),
        SimpleUploadedFile("plan.jpg", eps_bytes(), content_type="image/jpeg"),
    ]
    answer = owner.post(page(tenant), {"action": "upload", "photos": files})
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "plan.jpg: " in html  # the refusal names the file
    assert "1 photo uploaded" in html
    photo = PropertyImage.objects.get()
    assert (photo.state, photo.width, photo.business) == (State.UPLOADED, 600, tenant.business)
    assert files_under(private) == [photo.original]


def test_uploading_nothing_is_a_form_error(owner: Client, tenant: Tenant) -> None:
    answer = owner.post(page(tenant), {"action": "upload"})
    assert answer.status_code == 400
    assert "Choose one or more photos" in answer.content.decode()


def test_move_buttons_reorder_and_keep_what_was_typed(
    owner: Client, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    a, b = add(tenant, "a.jpg", "A"), add(tenant, "b.jpg", "B")
    answer = owner.post(
        page(tenant),
        {"order": [a.pk, b.pk], f"alt-{a.pk}": "Typed, not saved", "move": f"{b.pk}:up"},
    )
    assert answer.status_code == 200
    assert list(PropertyImage.objects.order_by("position").values_list("pk", flat=True)) == [
        b.pk,
        a.pk,
    ]
    assert 'value="Typed, not saved"' in answer.content.decode()
    a.refresh_from_db()
    assert a.alt_text == "A"


def test_publish_saves_texts_and_order(
    owner: Client, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    a, b = add(tenant, "a.jpg"), add(tenant, "b.jpg")
    photo_process(image_id=a.pk)
    answer = owner.post(
        page(tenant),
        {
            "action": "publish",
            "order": [b.pk, a.pk],
            f"alt-{a.pk}": "The terrace at dusk",
            f"caption-{a.pk}": "Terrace",
            f"alt-{b.pk}": "The kitchen",
        },
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == page(tenant)
    assert "1 photo on your site now" in answer.content.decode()
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.alt_text, a.caption, a.position, a.is_public()) == (
        "The terrace at dusk",
        "Terrace",
        1,
        True,
    )
    assert (b.alt_text, b.position) == ("The kitchen", 0)


def test_publish_without_alt_text_is_refused_on_the_page_and_saves_nothing(
    owner: Client, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    a, b = add(tenant, "a.jpg", "Old"), add(tenant, "b.jpg")
    answer = owner.post(
        page(tenant),
        {
            "action": "publish",
            "order": [b.pk, a.pk],
            f"alt-{a.pk}": "New text",
            f"alt-{b.pk}": "",
        },
    )
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "Describe every photo before publishing" in html
    assert f'id="alt-{b.pk}-error"' in html
    assert 'value="New text"' in html  # what was typed stays on the page
    # ...and so does the order it was given in.
    assert html.index(f'data-photo-id="{b.pk}"') < html.index(f'data-photo-id="{a.pk}"')
    a.refresh_from_db()
    assert (a.alt_text, a.position) == ("Old", 0)


def test_delete_removes_the_photo(
    owner: Client, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    photo = add(tenant, "a.jpg")
    answer = owner.post(page(tenant), {"order": [photo.pk], "delete": str(photo.pk)})
    assert answer.status_code == 200
    assert "Photo deleted." in answer.content.decode()
    assert not PropertyImage.objects.exists()


def test_a_failed_photo_can_be_processed_again(
    owner: Client, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    photo = add(tenant, "a.jpg", "A")
    PropertyImage.objects.filter(pk=photo.pk).update(
        state=State.FAILED, failure_reason="Storage was unavailable.", attempts=3
    )
    assert "Try again" in owner.get(page(tenant)).content.decode()
    answer = owner.post(page(tenant), {"order": [photo.pk], "retry": str(photo.pk)})
    assert answer.status_code == 200
    photo.refresh_from_db()
    assert (photo.state, photo.failure_reason, photo.attempts) == (State.UPLOADED, "", 0)


@pytest.mark.parametrize(
    "data",
    [
        {"move": "abc:up"},
        {"retry": "999999"},
        {"delete": "999999"},
        {"action": "publish", "order": ["999999"], "alt-999999": "x"},
    ],
)
def test_unknown_photos_are_404(
    owner: Client, tenant: Tenant, photo_dirs: tuple[Path, Path], data: dict[str, Any]
) -> None:
    assert owner.post(page(tenant), data).status_code == 404


def test_another_business_gets_404(
    outsider_client: Client, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    photo = add(tenant, "a.jpg", "A")
    assert outsider_client.get(page(tenant)).status_code == 404
    answer = outsider_client.post(
        page(tenant), {"action": "publish", "order": [photo.pk], f"alt-{photo.pk}": "Mine"}
    )
    assert answer.status_code == 404
    assert tenant.prop.name not in outsider_client.get("/dashboard/properties/").content.decode()
    photo.refresh_from_db()
    assert photo.alt_text == "A"


def test_a_photo_of_another_property_cannot_be_moved_from_this_page(
    owner: Client, tenant: Tenant, outsider: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    theirs = add(outsider, "x.jpg")
    assert owner.post(page(tenant), {"move": f"{theirs.pk}:up"}).status_code == 404


def test_a_manager_may_edit_photos_and_staff_may_not(
    tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    for role, status in ((Membership.Role.MANAGER, 200), (Membership.Role.STAFF, 403)):
        user = MembershipFactory(business=tenant.business, role=role).user
        client = Client(HTTP_HOST=APP_HOST)
        client.force_login(user)
        assert client.get(page(tenant)).status_code == status


def test_signed_out_goes_to_sign_in(anonymous: Client, tenant: Tenant) -> None:
    answer = anonymous.get(page(tenant))
    assert answer.status_code == 302
    assert "/accounts/login/" in answer["Location"]
