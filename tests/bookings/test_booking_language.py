"""A booking remembers the language the guest booked in; bookings from partners and the
owner take the business's default."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from bookings.models import Booking
from bookings.services.stays import booking_create, booking_hold
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant, site_host
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def fake_gateway(settings: Any) -> None:
    settings.PAYMENTS_BACKEND = "fake"


def test_a_visitor_booking_on_the_german_site_is_german_to_the_end(tenant: Tenant) -> None:
    tenant.business.languages = ["en", "de"]
    tenant.business.save()
    client = Client(HTTP_HOST=site_host(tenant.business))
    client.force_login(UserFactory())
    check_in = days_from_today(tenant.prop, 20)
    response = client.post(
        f"/de/book/{tenant.prop.slug}/",
        {
            "check_in": check_in.isoformat(),
            "check_out": (check_in + timedelta(days=3)).isoformat(),
            "guests": 2,
            "guest_name": "Ada Lovelace",
            "guest_phone": "+44 1234",
            "note": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    fake_page = response["Location"]
    assert "/de/checkout/fake/" in fake_page
    assert "Testzahlung" in client.get(fake_page).content.decode()
    paid = client.post(fake_page, {"action": "pay"})
    booking = Booking.objects.get()
    assert booking.language == "de"
    assert paid["Location"] == f"/de/trips/{booking.reference}/confirmation/"
    assert "Ihre Buchung ist bestätigt" in client.get(paid["Location"]).content.decode()


def test_a_checkout_error_on_the_german_site_is_in_german(tenant: Tenant) -> None:
    tenant.business.languages = ["en", "de"]
    tenant.business.save()
    tenant.prop.min_nights = 5
    tenant.prop.save()
    check_in = days_from_today(tenant.prop, 20)
    body = (
        tenant.site_client()
        .get(
            f"/de/p/{tenant.prop.slug}/?check_in={check_in}"
            f"&check_out={check_in + timedelta(days=2)}&guests=2"
        )
        .content.decode()
    )
    assert "Mindestens 5 Nächte." in body


def test_a_language_the_business_does_not_offer_is_not_stored(tenant: Tenant) -> None:
    check_in = days_from_today(tenant.prop, 20)
    booking = booking_hold(
        property=tenant.prop,
        check_in=check_in,
        check_out=check_in + timedelta(days=3),
        guests=2,
        guest_name="Ada",
        guest_email="ada@example.com",
        language="de",
    )
    assert booking.language == "en"


def test_partner_and_owner_bookings_take_the_business_default(tenant: Tenant) -> None:
    tenant.business.languages = ["de", "en"]
    tenant.business.save()
    check_in = days_from_today(tenant.prop, 20)
    booking = booking_create(
        property=tenant.prop,
        check_in=check_in,
        check_out=check_in + timedelta(days=3),
        source=Booking.Source.AIRBNB,
        guest_name="Grace",
        guest_email="grace@example.com",
    )
    assert booking.language == "de"
