"""Owner sign-up on the app host: account, business, then the admin."""

from __future__ import annotations

import pytest
from django.test import Client

from properties.models import Business, Membership, User
from tests.conftest import Tenant


@pytest.fixture
def signed_up(db: None) -> Client:
    client = Client(HTTP_HOST="localhost")
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new-owner@example.com",
            "password1": "a-long-enough-pw-42",
            "password2": "a-long-enough-pw-42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/onboarding/"
    return client


def _business_form(slug: str) -> dict[str, str]:
    return {
        "name": "Lakeside Lodges",
        "slug": slug,
        "contact_email": "hi@lakeside.example.com",
        "timezone": "Europe/Berlin",
        "currency": "EUR",
    }


def test_owner_signs_up_creates_business_and_lands_on_the_dashboard(signed_up: Client) -> None:
    response = signed_up.post("/onboarding/", _business_form("lakeside"))
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    business = Business.objects.get(slug="lakeside")
    owner = User.objects.get(email="new-owner@example.com")
    assert Membership.objects.get(user=owner, business=business).role == "owner"
    assert signed_up.get("/admin/").status_code == 200
    assert "Add your first property" in signed_up.get("/dashboard/").content.decode()


@pytest.mark.parametrize("slug", ["www", "app", "api", "admin", "static", "media", "mail"])
def test_reserved_slugs_are_refused_with_a_clear_message(signed_up: Client, slug: str) -> None:
    response = signed_up.post("/onboarding/", _business_form(slug))
    assert response.status_code == 200
    assert "reserved for Holidesk" in str(response.context["form"].errors["slug"])
    assert not Business.objects.exists()


@pytest.mark.parametrize("slug", ["-bad", "bad-", "has space", "a.b", "x" * 64, "ümlaut"])
def test_malformed_slugs_are_refused(signed_up: Client, slug: str) -> None:
    response = signed_up.post("/onboarding/", _business_form(slug))
    assert response.status_code == 200
    assert "slug" in response.context["form"].errors
    assert not Business.objects.exists()


def test_taken_slug_is_refused(signed_up: Client, outsider: Tenant) -> None:
    response = signed_up.post("/onboarding/", _business_form(outsider.business.slug))
    assert response.status_code == 200
    assert "taken" in str(response.context["form"].errors["slug"])


def test_member_goes_straight_to_the_dashboard(tenant: Tenant) -> None:
    response = tenant.admin_client().get("/onboarding/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
