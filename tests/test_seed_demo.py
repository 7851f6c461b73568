from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from properties.models import ApiToken, Business, Property, User


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
