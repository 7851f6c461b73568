"""The upload flow against S3 (moto's server on loopback): a presigned POST straight
to the bucket, confirmation, processing, and public rendition URLs."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from properties.models import PropertyImage
from properties.photos.errors import PhotoRejected
from properties.photos.processing import photo_process
from properties.photos.storage import originals_storage, renditions_storage
from properties.photos.uploads import photo_upload_confirm, photo_upload_request
from tests.conftest import Tenant
from tests.properties.photos.images import eps_bytes, jpeg_bytes

pytest.importorskip("moto")
MOTO_SERVER = Path(sys.executable).parent / "moto_server"
BUCKET = "holidesk-media-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    if not MOTO_SERVER.exists():
        pytest.skip("moto_server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(endpoint, timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


@pytest.fixture
def s3(s3_endpoint: str, settings: Any) -> str:
    common = {
        "bucket_name": BUCKET,
        "endpoint_url": s3_endpoint,
        "region_name": "us-east-1",
        "access_key": "testing",
        "secret_key": "testing",
        "addressing_style": "path",
        "file_overwrite": False,
        "default_acl": None,
    }
    settings.STORAGES = {
        **settings.STORAGES,
        # In production CloudFront reads the bucket; here a public-read ACL stands in.
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**common, "querystring_auth": False, "default_acl": "public-read"},
        },
        "photo_originals": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **common,
                "location": "private",
                "querystring_auth": True,
                "signature_version": "s3v4",
            },
        },
    }
    client = renditions_storage().connection.meta.client  # type: ignore[attr-defined]
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)
    return s3_endpoint


def _keys(endpoint: str) -> list[str]:
    client = renditions_storage().connection.meta.client  # type: ignore[attr-defined]
    listing = client.list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def _post(ticket: Any, data: bytes, content_type: str = "image/jpeg") -> requests.Response:
    return requests.post(
        ticket.url,
        data=ticket.fields,
        files={"file": ("photo.jpg", data, content_type)},
        timeout=10,
    )


def test_presigned_post_then_processing_gives_public_rendition_urls(
    tenant: Tenant, s3: str
) -> None:
    before = set(_keys(s3))
    ticket = photo_upload_request(
        business=tenant.business,
        property=tenant.prop,
        filename="view.jpg",
        content_type="image/jpeg",
        size=200_000,
    )
    assert ticket.url == f"{s3}/{BUCKET}"
    assert ticket.fields["Content-Type"] == "image/jpeg"
    assert ticket.fields["key"].startswith(f"private/originals/{tenant.business.pk}/")
    assert "policy" in ticket.fields
    response = _post(ticket, jpeg_bytes(1800, 1200, gps=True))
    assert response.status_code in (201, 204), response.text
    image = photo_upload_confirm(
        business=tenant.business, property=tenant.prop, token=ticket.token, alt_text="View"
    )
    assert f"private/{image.original}" == ticket.fields["key"]
    assert photo_process(image_id=image.pk) == "ready"
    image.refresh_from_db()
    assert image.state == PropertyImage.State.READY
    new_keys = set(_keys(s3)) - before
    assert len([k for k in new_keys if k.startswith("photos/")]) == 8
    assert [k for k in new_keys if k.startswith("private/")] == [ticket.fields["key"]]
    for rendition in image.renditions.all():
        url = renditions_storage().url(rendition.path)
        assert url == f"{s3}/{BUCKET}/{rendition.path}"
        served = requests.get(url, timeout=10)
        assert served.status_code == 200
        assert len(served.content) == rendition.bytes
        assert b"Exif" not in served.content
    # The original is private: addressed only by a signed, expiring URL.
    signed = originals_storage().url(image.original)
    assert "X-Amz-Signature=" in signed
    assert requests.get(signed.split("?")[0], timeout=10).status_code == 403


def test_the_policy_binds_key_type_size_and_expiry(tenant: Tenant, s3: str, settings: Any) -> None:
    # What S3 enforces (moto's server does not check POST policies, so the policy
    # itself is checked here).
    ticket = photo_upload_request(
        business=tenant.business,
        property=tenant.prop,
        filename="view.jpg",
        content_type="image/jpeg",
        size=2000,
    )
    policy = json.loads(base64.b64decode(ticket.fields["policy"]))
    conditions = policy["conditions"]
    assert {"Content-Type": "image/jpeg"} in conditions
    assert ["content-length-range", 1, settings.PHOTO_MAX_BYTES] in conditions
    assert {"bucket": BUCKET} in conditions
    assert {"key": ticket.fields["key"]} in conditions
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert abs((expires - ticket.expires_at).total_seconds()) < 5


def test_a_non_photo_posted_as_jpeg_is_refused_at_confirmation_and_deleted(
    tenant: Tenant, s3: str
) -> None:
    ticket = photo_upload_request(
        business=tenant.business,
        property=tenant.prop,
        filename="plan.jpg",
        content_type="image/jpeg",
        size=2000,
    )
    assert _post(ticket, eps_bytes()).status_code in (201, 204)
    assert ticket.fields["key"] in _keys(s3)
    with pytest.raises(PhotoRejected, match="not a JPEG, PNG or WebP image"):
        photo_upload_confirm(business=tenant.business, property=tenant.prop, token=ticket.token)
    assert ticket.fields["key"] not in _keys(s3)
    assert not PropertyImage.objects.exists()


def test_the_owner_api_hands_out_the_presigned_post_and_confirms_it(
    tenant: Tenant, s3: str
) -> None:
    from tests.properties.photos.test_api import token_client

    api = token_client(tenant)
    base = f"/api/v1/properties/{tenant.prop.pk}/photos/"
    data = jpeg_bytes(900, 600)
    asked = api.post(
        base + "uploads",
        {"filename": "view.jpg", "content_type": "image/jpeg", "size": len(data)},
        format="json",
    )
    assert asked.status_code == 201, asked.json()
    ticket = asked.json()
    assert ticket["url"] == f"{s3}/{BUCKET}"
    assert "policy" in ticket["fields"]
    sent = requests.post(
        ticket["url"],
        data=ticket["fields"],
        files={"file": ("view.jpg", data, "image/jpeg")},
        timeout=10,
    )
    assert sent.status_code in (201, 204), sent.text
    confirmed = api.post(base, {"token": ticket["token"], "alt_text": "View"}, format="json")
    assert confirmed.status_code == 201, confirmed.json()
    image = PropertyImage.objects.get()
    assert f"private/{image.original}" == ticket["fields"]["key"]
    assert (image.width, image.alt_text) == (900, "View")
