"""The owner API of photos: request an upload, POST the bytes to storage, confirm,
publish. Tenant-scoped (another business's property is 404), one JSON error shape."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from rest_framework.test import APIClient

from properties.models import Membership, PropertyImage
from properties.photos.processing import photo_process
from properties.photos.services import photo_add
from properties.services import api_token_create
from tests.conftest import APP_HOST, Tenant
from tests.factories import MembershipFactory
from tests.properties.photos.conftest import files_under
from tests.properties.photos.images import eps_bytes, jpeg_bytes

State = PropertyImage.State


def token_client(tenant: Tenant) -> APIClient:
    _, raw = api_token_create(business=tenant.business, user=tenant.owner)
    client = APIClient(HTTP_HOST=APP_HOST)
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


@pytest.fixture
def api(tenant: Tenant) -> APIClient:
    return token_client(tenant)


def url(tenant: Tenant, tail: str = "") -> str:
    return f"/api/v1/properties/{tenant.prop.pk}/photos/{tail}"


def upload(api: APIClient, tenant: Tenant, data: bytes, *, name: str = "garden.jpg") -> Any:
    """Request, then POST to the ticket's URL as a browser would; returns the request's body."""
    asked = api.post(
        url(tenant, "uploads"),
        {"filename": name, "content_type": "image/jpeg", "size": len(data)},
        format="json",
    )
    assert asked.status_code == 201, asked.json()
    ticket = asked.json()
    file = io.BytesIO(data)
    file.name = name
    sent = Client(HTTP_HOST=APP_HOST).post(
        urlsplit(ticket["url"]).path, {**ticket["fields"], "file": file}
    )
    assert sent.status_code == 204
    return ticket


def test_request_upload_confirm_and_publish(
    api: APIClient, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    ticket = upload(api, tenant, jpeg_bytes(800, 600))
    assert set(ticket) == {"url", "fields", "token", "max_bytes", "expires_at"}
    confirmed = api.post(url(tenant), {"token": ticket["token"], "caption": "Lawn"}, format="json")
    assert confirmed.status_code == 201, confirmed.json()
    photo = confirmed.json()
    assert (photo["state"], photo["width"], photo["public"]) == ("uploaded", 800, False)
    # Confirming again (a retried request) gives the same photo.
    again = api.post(url(tenant), {"token": ticket["token"]}, format="json")
    assert again.json()["id"] == photo["id"]

    listed = api.get(url(tenant)).json()
    assert listed["progress"] == {
        "ready": 0,
        "total": 1,
        "failed": 0,
        "pending": 1,
        "label": "0 of 1 ready",
    }
    assert photo_process(image_id=photo["id"]) == "ready"
    listed = api.get(url(tenant)).json()
    assert listed["progress"]["label"] == "1 of 1 ready"
    assert listed["photos"][0]["thumbnail_url"].endswith("/320w.jpg")
    assert listed["photos"][0]["public"] is False  # no alt text yet

    published = api.post(
        url(tenant, "publish"),
        {"photos": [{"id": photo["id"], "alt_text": "The lawn in June", "caption": "Lawn"}]},
        format="json",
    )
    assert published.status_code == 200, published.json()
    assert published.json()["photos"][0]["public"] is True
    assert PropertyImage.objects.get().is_public()


def test_publishing_without_alt_text_names_the_photo_and_saves_nothing(
    api: APIClient, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    first = photo_add(
        business=tenant.business,
        property=tenant.prop,
        file=io.BytesIO(jpeg_bytes(400, 300)),
        name="a.jpg",
        alt_text="Kitchen",
        enqueue=False,
    )
    second = photo_add(
        business=tenant.business,
        property=tenant.prop,
        file=io.BytesIO(jpeg_bytes(400, 300)),
        name="b.jpg",
        enqueue=False,
    )
    answer = api.post(
        url(tenant, "publish"),
        {
            "photos": [
                {"id": second.pk, "alt_text": " "},
                {"id": first.pk, "alt_text": "A new kitchen text"},
            ]
        },
        format="json",
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "alt_text_required"
    assert list(error["fields"]) == [f"photo-{second.pk}"]
    first.refresh_from_db()
    assert (first.alt_text, first.position) == ("Kitchen", 0)


def test_publishing_reorders(api: APIClient, tenant: Tenant, photo_dirs: tuple[Path, Path]) -> None:
    photos = [
        photo_add(
            business=tenant.business,
            property=tenant.prop,
            file=io.BytesIO(jpeg_bytes(300, 200)),
            name=f"{i}.jpg",
            alt_text=f"Photo {i}",
            enqueue=False,
        )
        for i in range(3)
    ]
    order = [photos[2].pk, photos[0].pk]
    answer = api.post(
        url(tenant, "publish"),
        {"photos": [{"id": i, "alt_text": f"Text {i}"} for i in order]},
        format="json",
    )
    assert answer.status_code == 200
    assert [p["id"] for p in answer.json()["photos"]] == [*order, photos[1].pk]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filename": "x.gif", "content_type": "image/gif", "size": 10}, "content_type"),
        ({"filename": "x.jpg", "content_type": "image/jpeg", "size": 0}, "size"),
        ({"content_type": "image/jpeg", "size": 10}, "filename"),
    ],
)
def test_a_bad_upload_request_names_the_field(
    api: APIClient, tenant: Tenant, photo_dirs: tuple[Path, Path], body: dict[str, Any], field: str
) -> None:
    answer = api.post(url(tenant, "uploads"), body, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_payload"
    assert field in answer.json()["error"]["fields"]


def test_an_oversized_declared_upload_is_413(
    api: APIClient, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    answer = api.post(
        url(tenant, "uploads"),
        {"filename": "big.jpg", "content_type": "image/jpeg", "size": 30 * 1024 * 1024},
        format="json",
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "photo_too_large"


def test_a_file_that_is_not_a_photo_is_refused_on_confirm_and_deleted(
    api: APIClient, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    _, private = photo_dirs
    ticket = upload(api, tenant, eps_bytes(), name="plan.jpg")
    answer = api.post(url(tenant), {"token": ticket["token"]}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "photo_rejected"
    assert files_under(private) == []
    assert not PropertyImage.objects.exists()


def test_a_forged_token_is_refused(
    api: APIClient, tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    answer = api.post(url(tenant), {"token": "forged"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "photo_upload_invalid"


def test_malformed_json_is_a_json_error(api: APIClient, tenant: Tenant) -> None:
    answer = api.generic(
        "POST", url(tenant, "uploads"), "{not json", content_type="application/json"
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_json"


def test_another_business_gets_404_everywhere(
    api: APIClient, tenant: Tenant, outsider: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    ticket = upload(api, tenant, jpeg_bytes(300, 200))
    theirs = token_client(outsider)
    for answer in (
        theirs.get(url(tenant)),
        theirs.post(
            url(tenant, "uploads"),
            {"filename": "x.jpg", "content_type": "image/jpeg", "size": 10},
            format="json",
        ),
        theirs.post(url(tenant), {"token": ticket["token"]}, format="json"),
        theirs.post(
            url(tenant, "publish"), {"photos": [{"id": 1, "alt_text": "x"}]}, format="json"
        ),
    ):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    # Their own property with this business's token: the token names the property.
    own = theirs.post(
        f"/api/v1/properties/{outsider.prop.pk}/photos/", {"token": ticket["token"]}, format="json"
    )
    assert own.status_code == 400
    assert own.json()["error"]["code"] == "photo_upload_invalid"
    assert not PropertyImage.objects.exists()


def test_a_photo_of_another_property_cannot_be_published_here(
    api: APIClient, tenant: Tenant, outsider: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    theirs = photo_add(
        business=outsider.business,
        property=outsider.prop,
        file=io.BytesIO(jpeg_bytes(300, 200)),
        name="x.jpg",
        enqueue=False,
    )
    answer = api.post(
        url(tenant, "publish"), {"photos": [{"id": theirs.pk, "alt_text": "Mine"}]}, format="json"
    )
    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.alt_text == ""


def test_without_credentials_is_401(tenant: Tenant) -> None:
    answer = APIClient(HTTP_HOST=APP_HOST).get(url(tenant))
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"


def test_a_manager_may_upload(tenant: Tenant, photo_dirs: tuple[Path, Path]) -> None:
    manager = MembershipFactory(business=tenant.business, role=Membership.Role.MANAGER).user
    client = APIClient(HTTP_HOST=APP_HOST)
    client.force_authenticate(manager)
    answer = client.post(
        url(tenant, "uploads"),
        {"filename": "x.jpg", "content_type": "image/jpeg", "size": 10},
        format="json",
    )
    assert answer.status_code == 201


def test_the_schema_documents_the_photo_endpoints(app_client: Client) -> None:
    schema = app_client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/properties/{property_id}/photos/",
        "/api/v1/properties/{property_id}/photos/uploads",
        "/api/v1/properties/{property_id}/photos/publish",
    ):
        assert path in paths
    assert "post" in paths["/api/v1/properties/{property_id}/photos/"]


def test_the_photo_list_comes_a_page_at_a_time(api: APIClient, tenant: Tenant) -> None:
    PropertyImage.objects.bulk_create(
        PropertyImage(
            property=tenant.prop,
            business=tenant.business,
            position=n,
            state=State.FAILED,
            failure_reason="Not a photo",
        )
        for n in range(7)
    )
    first = api.get(url(tenant), {"page_size": 3}).json()
    assert first["count"] == 7
    assert [p["position"] for p in first["photos"]] == [0, 1, 2]
    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert first["progress"]["total"] == 7  # every photo, not the page's
    last = api.get(url(tenant), {"page_size": 3, "page": 3}).json()
    assert [p["position"] for p in last["photos"]] == [6]
    assert last["next"] is None
    assert len(api.get(url(tenant)).json()["photos"]) == 7  # 50 a page unless asked
    assert api.get(url(tenant), {"page": 9}).status_code == 404
