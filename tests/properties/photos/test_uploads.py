"""The upload pair: request (a signed place to POST to), then confirm. Locally the
signed place is the app's own upload view, with the limits S3 would enforce."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from properties.models import PropertyImage
from properties.photos.errors import (
    PhotoNotFound,
    PhotoRejected,
    PhotoTooLarge,
    PhotoUploadInvalid,
)
from properties.photos.processing import photo_process
from properties.photos.uploads import UploadTicket, photo_upload_confirm, photo_upload_request
from tests.conftest import APP_HOST, Tenant
from tests.properties.photos.conftest import files_under
from tests.properties.photos.images import eps_bytes, jpeg_bytes, png_declaring

State = PropertyImage.State


def request(
    tenant: Tenant, *, size: int = 50_000, content_type: str = "image/jpeg"
) -> UploadTicket:
    return photo_upload_request(
        business=tenant.business,
        property=tenant.prop,
        filename="terrace.jpg",
        content_type=content_type,
        size=size,
    )


def post(ticket: UploadTicket, data: bytes, *, content_type: str | None = None) -> Any:
    fields = dict(ticket.fields)
    if content_type is not None:
        fields["Content-Type"] = content_type
    upload = io.BytesIO(data)
    upload.name = "terrace.jpg"
    return Client(HTTP_HOST=APP_HOST).post(urlsplit(ticket.url).path, {**fields, "file": upload})


def test_request_post_confirm_process(tenant: Tenant, photo_dirs: tuple[Path, Path]) -> None:
    public, private = photo_dirs
    ticket = request(tenant)
    assert ticket.url.startswith("http://localhost:8000/photos/upload/")
    assert ticket.fields == {"Content-Type": "image/jpeg"}
    assert ticket.max_bytes == 20 * 1024 * 1024
    assert post(ticket, jpeg_bytes(1300, 1000)).status_code == 204
    assert len(files_under(private)) == 1
    image = photo_upload_confirm(
        business=tenant.business, property=tenant.prop, token=ticket.token, alt_text="Terrace"
    )
    assert (image.state, image.width, image.height, image.alt_text) == (
        State.UPLOADED,
        1300,
        1000,
        "Terrace",
    )
    assert files_under(private) == [image.original]
    assert image.original == f"originals/{tenant.business.pk}/{image.key.hex}.jpg"
    # Confirming again (a retried request) returns the same photo.
    again = photo_upload_confirm(business=tenant.business, property=tenant.prop, token=ticket.token)
    assert again.pk == image.pk
    assert photo_process(image_id=image.pk) == "ready"
    assert len(files_under(public)) == 8


@pytest.mark.parametrize(
    ("size", "content_type", "error", "message"),
    [
        (
            30 * 1024 * 1024,
            "image/jpeg",
            PhotoTooLarge,
            "the file is 30.0 MB; the limit is 20.0 MB",
        ),
        (0, "image/jpeg", PhotoRejected, "empty"),
        (5000, "application/postscript", PhotoRejected, "is not accepted"),
        (5000, "image/gif", PhotoRejected, "upload JPEG, PNG or WebP"),
    ],
)
def test_request_refuses_what_would_be_refused_anyway(
    tenant: Tenant, size: int, content_type: str, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        request(tenant, size=size, content_type=content_type)


def test_the_upload_view_refuses_a_body_over_the_limit_before_reading_it(
    tenant: Tenant, photo_dirs: tuple[Path, Path], settings: Any
) -> None:
    _public, private = photo_dirs
    settings.PHOTO_MAX_BYTES = 100 * 1024
    ticket = request(tenant, size=90 * 1024)
    response = post(ticket, jpeg_bytes(100, 100) + b"\0" * (300 * 1024))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "photo_too_large"
    assert files_under(private) == []


def test_the_upload_view_refuses_another_content_type(
    tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    _public, private = photo_dirs
    response = post(request(tenant), eps_bytes(), content_type="application/postscript")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "photo_upload_invalid"
    assert files_under(private) == []


def test_the_upload_view_refuses_forged_expired_and_reused_tokens(
    tenant: Tenant, photo_dirs: tuple[Path, Path], settings: Any
) -> None:
    ticket = request(tenant)
    forged = UploadTicket(
        url=ticket.url.replace("/upload/", "/upload/x"),
        fields=ticket.fields,
        token="x" + ticket.token,
        max_bytes=ticket.max_bytes,
        expires_at=ticket.expires_at,
    )
    assert post(forged, jpeg_bytes(200, 200)).json()["error"]["message"] == (
        "This upload link is not valid."
    )
    later = timezone.now() + timedelta(seconds=settings.PHOTO_UPLOAD_EXPIRY_SECONDS + 5)
    with time_machine.travel(later):
        response = post(ticket, jpeg_bytes(200, 200))
    assert response.status_code == 400
    assert "expired" in response.json()["error"]["message"]
    assert post(ticket, jpeg_bytes(200, 200)).status_code == 204
    assert post(ticket, jpeg_bytes(200, 200)).status_code == 400  # never overwritten


def test_the_upload_view_answers_only_post(tenant: Tenant) -> None:
    ticket = request(tenant)
    response = Client(HTTP_HOST=APP_HOST).get(urlsplit(ticket.url).path)
    assert response.status_code == 405


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (eps_bytes(), "terrace.jpg: this is not a JPEG, PNG or WebP image."),
        (png_declaring(12_000, 12_000, size=20_000), "(a decompression bomb?)"),
    ],
)
def test_confirm_refuses_and_deletes_a_file_that_is_not_an_accepted_photo(
    tenant: Tenant, photo_dirs: tuple[Path, Path], data: bytes, message: str
) -> None:
    _public, private = photo_dirs
    ticket = request(tenant)
    assert post(ticket, data).status_code == 204
    with pytest.raises(PhotoRejected) as caught:
        photo_upload_confirm(business=tenant.business, property=tenant.prop, token=ticket.token)
    assert message in caught.value.message
    assert files_under(private) == []
    assert not PropertyImage.objects.exists()


def test_confirm_before_the_upload_arrives_is_refused(
    tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    ticket = request(tenant)
    with pytest.raises(PhotoUploadInvalid, match="has not arrived"):
        photo_upload_confirm(business=tenant.business, property=tenant.prop, token=ticket.token)


def test_another_business_can_neither_request_nor_confirm(
    tenant: Tenant, outsider: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    with pytest.raises(PhotoNotFound, match="No such property"):
        photo_upload_request(
            business=outsider.business,
            property=tenant.prop,
            filename="x.jpg",
            content_type="image/jpeg",
            size=1000,
        )
    ticket = request(tenant)
    assert post(ticket, jpeg_bytes(300, 200)).status_code == 204
    with pytest.raises(PhotoUploadInvalid, match="another property"):
        photo_upload_confirm(business=outsider.business, property=outsider.prop, token=ticket.token)
    assert not PropertyImage.objects.exists()


def test_the_upload_view_answers_400_to_a_missing_file_or_a_broken_body(
    tenant: Tenant, photo_dirs: tuple[Path, Path]
) -> None:
    _public, private = photo_dirs
    ticket = request(tenant)
    path = urlsplit(ticket.url).path
    client = Client(HTTP_HOST=APP_HOST)
    missing = client.post(path, dict(ticket.fields))
    assert missing.status_code == 400
    assert missing.json()["error"]["fields"] == {"file": ["Send the photo as `file`."]}
    broken = client.generic(
        "POST", path, b"--x\r\nnonsense", content_type="multipart/form-data; boundary=y"
    )
    assert broken.status_code == 400
    assert files_under(private) == []
