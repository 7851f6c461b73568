"""`listing.updated` pushes carry a photo once it is processed: its largest JPEG
rendition's absolute URL, in the contract's `images` shape."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from integrations.models import PushOutbox
from integrations.services import push
from properties.photos.processing import photo_process
from properties.photos.services import photo_add
from tests.conftest import Tenant
from tests.integrations.conftest import make_partner
from tests.properties.photos.conftest import photo_dirs  # noqa: F401 - a fixture
from tests.properties.photos.images import jpeg_bytes
from tests.support.partner_server import PartnerServer

pytestmark = pytest.mark.django_db
Status = PushOutbox.Status


def deliver_listing(server: PartnerServer) -> dict[str, Any]:
    row = PushOutbox.objects.get(status=Status.PENDING, kind=PushOutbox.Kind.LISTING)
    soon = timezone.now() + timedelta(seconds=5)
    assert push.push_deliver(push_id=row.pk, now=soon) == "delivered"
    body: dict[str, Any] = server.bodies()[-1]
    assert body["type"] == "listing.updated"
    return body["data"]


def test_a_photo_joins_the_listing_once_its_renditions_are_ready(
    tenant: Tenant,
    partner_server: PartnerServer,
    photo_dirs: Any,  # noqa: F811
) -> None:
    make_partner(tenant, endpoint=partner_server.url)
    image = photo_add(
        business=tenant.business,
        property=tenant.prop,
        file=io.BytesIO(jpeg_bytes(2000, 1500)),
        name="view.jpg",
        alt_text="The view",
        caption="From the terrace",
    )
    assert deliver_listing(partner_server)["images"] == []  # uploaded, not processed yet

    assert photo_process(image_id=image.pk) == "ready"
    data = deliver_listing(partner_server)
    assert data["images"] == [
        {
            "url": f"http://localhost:8000/media/photos/{tenant.business.pk}/{image.key.hex}/1600w.jpg",
            "width": 1600,
            "height": 1200,
            "caption": "From the terrace",
        }
    ]
    assert set(data) == {
        "listing_id",
        "name",
        "description",
        "max_guests",
        "bedrooms",
        "bathrooms",
        "check_in_time",
        "check_out_time",
        "images",
    }
