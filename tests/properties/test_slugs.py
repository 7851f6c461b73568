"""Site addresses: reserved names, punycode look-alikes, and a 90-day quarantine for
an address a business gives up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from properties.models import Business, ReleasedSlug
from properties.services import business_create, business_save
from tests.conftest import Tenant
from tests.factories import UserFactory


@pytest.fixture
def signed_up(db: None) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(UserFactory(email="new-owner@example.com"))
    return client


def _onboard(client: Client, slug: str) -> Any:
    return client.post(
        "/onboarding/",
        {
            "name": "Lakeside Lodges",
            "slug": slug,
            "contact_email": "hi@lakeside.example.com",
            "timezone": "Europe/Berlin",
            "currency": "EUR",
        },
    )


@pytest.mark.parametrize("slug", ["localhost", "www", "api", "app", "admin", "mail", "static"])
def test_reserved_names_are_refused(signed_up: Client, slug: str) -> None:
    response = _onboard(signed_up, slug)
    assert response.status_code == 200
    assert "reserved for Holidesk" in str(response.context["form"].errors["slug"])
    assert not Business.objects.exists()


@pytest.mark.parametrize("slug", ["xn--sasid-3ya", "xn--80ak6aa92e", "ab--cd"])
def test_punycode_look_alikes_are_refused(signed_up: Client, slug: str) -> None:
    response = _onboard(signed_up, slug)
    assert response.status_code == 200
    assert "look-alikes" in str(response.context["form"].errors["slug"])
    assert not Business.objects.exists()


def test_the_service_refuses_them_too(db: None) -> None:
    owner = UserFactory()
    for slug in ("localhost", "xn--sasid-3ya"):
        with pytest.raises(ValidationError):
            business_create(owner=owner, name="X", slug=slug, contact_email="x@example.com")


def test_a_renamed_business_address_is_quarantined(signed_up: Client, tenant: Tenant) -> None:
    old = tenant.business.slug
    business = Business.objects.get(pk=tenant.business.pk)
    business.slug = "seaside-cottages"
    business_save(user=tenant.owner, business=business)
    assert ReleasedSlug.objects.filter(slug=old).exists()

    response = _onboard(signed_up, old)
    assert response.status_code == 200
    assert "in use until recently" in str(response.context["form"].errors["slug"])
    with pytest.raises(ValidationError, match="in use until recently"):
        business_create(owner=UserFactory(), name="X", slug=old, contact_email="x@example.com")


def test_a_deleted_business_address_is_quarantined_for_90_days(
    signed_up: Client, tenant: Tenant
) -> None:
    old = tenant.business.slug
    Business.objects.filter(pk=tenant.business.pk).delete()
    response = _onboard(signed_up, old)
    assert response.status_code == 200
    assert "in use until recently" in str(response.context["form"].errors["slug"])

    ReleasedSlug.objects.filter(slug=old).update(released_at=timezone.now() - timedelta(days=91))
    response = _onboard(signed_up, old)
    assert response.status_code == 302
    assert Business.objects.filter(slug=old).exists()


def test_a_business_may_take_its_own_old_address_back(tenant: Tenant) -> None:
    business = Business.objects.get(pk=tenant.business.pk)
    business.slug = "seaside-cottages"
    business_save(user=tenant.owner, business=business)
    business.slug = "seaside"
    business_save(user=tenant.owner, business=business)
    assert Client(HTTP_HOST="seaside.localhost").get("/").status_code == 200
    assert not ReleasedSlug.objects.filter(slug="seaside").exists()
    assert ReleasedSlug.objects.filter(slug="seaside-cottages", business=business).exists()


def test_renaming_in_the_admin_checks_the_quarantine(tenant: Tenant, outsider: Tenant) -> None:
    old = outsider.business.slug
    Business.objects.filter(pk=outsider.business.pk).update(slug="alpine-lodges")
    ReleasedSlug.objects.create(slug=old, business=outsider.business)
    business = tenant.business
    response = tenant.admin_client().post(
        reverse("admin:properties_business_change", args=[business.pk]),
        {
            "name": business.name,
            "slug": old,
            "contact_email": business.contact_email,
            "custom_domain": "",
            "timezone": business.timezone,
            "currency": business.currency,
            "accent_colour": business.accent_colour,
            "about": "",
            "languages": "en",
        },
    )
    assert response.status_code == 200
    assert "in use until recently" in str(response.context["adminform"].form.errors["slug"])
    business.refresh_from_db()
    assert business.slug == "seaside"
