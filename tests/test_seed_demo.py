from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from properties.models import (
    ApiToken,
    Business,
    Property,
    PropertyImage,
    PropertyImageRendition,
    User,
)
from tests.properties.photos.conftest import photo_dirs  # noqa: F401 - a fixture


def _seed(*args: str) -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_seed_demo_prints_the_contract_shape() -> None:
    data = _seed()
    assert data["app_url"] == "http://localhost:8000"
    assert [b["slug"] for b in data["businesses"]] == ["seaside", "alpine"]
    for entry in data["businesses"]:
        assert entry["site_url"] == f"http://{entry['slug']}.localhost:8000"
        assert set(entry["owner"]) == {"email", "password", "api_token"}
        assert entry["properties"]
        for prop in entry["properties"]:
            assert {"id", "name", "ical_export_url", "listings"} <= set(prop)
        assert isinstance(entry["channels"], list)


@pytest.mark.django_db
def test_seed_demo_is_idempotent() -> None:
    first = _seed()
    counts = (
        Business.objects.count(),
        User.objects.count(),
        Property.objects.count(),
        ApiToken.objects.count(),
    )
    second = _seed()
    assert first == second
    assert counts == (
        Business.objects.count(),
        User.objects.count(),
        Property.objects.count(),
        ApiToken.objects.count(),
    )


@pytest.mark.django_db
def test_seeded_logins_work() -> None:
    data = _seed()
    owner = data["businesses"][0]["owner"]
    client = Client(HTTP_HOST="localhost")
    response = client.post(
        "/accounts/login/", {"login": owner["email"], "password": owner["password"]}
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    for page in ("/dashboard/", "/dashboard/calendar/", "/dashboard/bookings/"):
        assert client.get(page).status_code == 200, page


@pytest.mark.django_db
def test_every_demo_property_gets_processed_photos_once(photo_dirs: Any) -> None:  # noqa: F811
    data = _seed()
    properties = Property.objects.filter(business__slug__in=["seaside", "alpine"])
    assert properties.count() == 5
    for prop in properties:
        photos = list(PropertyImage.objects.filter(property=prop).order_by("position"))
        assert [p.caption for p in photos] == ["Outside", "Living room", "Bedroom"]
        for photo in photos:
            assert photo.state == PropertyImage.State.READY
            assert prop.name in photo.alt_text
            assert photo.renditions.count() == 8  # 320, 640, 1024 and 1280 (no upscaling)
    images, renditions = PropertyImage.objects.count(), PropertyImageRendition.objects.count()
    _seed()
    assert (PropertyImage.objects.count(), PropertyImageRendition.objects.count()) == (
        images,
        renditions,
    )
    site = data["businesses"][0]["site_url"].split("//", 1)[1].split(":", 1)[0]
    body = Client(HTTP_HOST=site).get("/").content.decode()
    assert body.count("<picture>") == 3
    assert 'alt="Illustration of Harbour View from outside, under a sunny sky"' in body


@pytest.mark.django_db
def test_seeding_sends_no_news_of_seeded_bookings_nor_of_the_past() -> None:
    from django.utils import timezone

    from messaging.models import Kind, ScheduledMessage

    _seed()
    scheduled = ScheduledMessage.objects.filter(state=ScheduledMessage.State.SCHEDULED)
    assert not scheduled.filter(kind__in=[Kind.CONFIRMATION, Kind.OWNER_NEW_BOOKING]).exists()
    assert not scheduled.filter(turnover__starts_at__lt=timezone.now()).exists()
    due_now = scheduled.filter(send_at__lte=timezone.now())
    assert due_now.count() <= 4, list(due_now.values_list("kind", flat=True))
