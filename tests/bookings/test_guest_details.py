"""Guest details written on a booking are one clean line each, whatever door they come
through (bookings.rules.guest_details_clean); the admin writes them through the stays
service and shows what it refuses as form errors, with nothing written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from bookings.errors import InvalidGuestDetails
from bookings.models import Booking
from bookings.services.stays import booking_create, booking_guest_update, booking_hold
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant, site_host
from tests.factories import UserFactory


@pytest.fixture
def stay(tenant: Tenant) -> Booking:
    check_in = days_from_today(tenant.prop, 20)
    return booking_create(
        property=tenant.prop,
        check_in=check_in,
        check_out=check_in + timedelta(days=3),
        guests=2,
        source=Booking.Source.OWNER,
        guest_name="Ada Lovelace",
        guest_email="ada@example.com",
    )


def _change(tenant: Tenant, booking: Booking, **overrides: Any) -> Any:
    data = {
        "check_in": str(booking.check_in),
        "check_out": str(booking.check_out),
        "guests": booking.guests,
        "guest_name": booking.guest_name,
        "guest_email": booking.guest_email,
        "guest_phone": booking.guest_phone,
        "note": booking.note,
    }
    data.update(overrides)
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    return tenant.admin_client().post(url, data)


# --- Line breaks become spaces, other control characters are refused -----------------------


def test_a_line_break_in_a_name_becomes_a_space_through_the_service_and_the_api(
    tenant: Tenant, api: APIClient
) -> None:
    start = days_from_today(tenant.prop, 10)
    held = booking_hold(
        property=tenant.prop,
        check_in=start,
        check_out=start + timedelta(days=2),
        guests=2,
        guest_name="Ada\r\nBcc: victim@example.com",
        guest_phone="+44\t1234",
    )
    assert held.guest_name == "Ada Bcc: victim@example.com"
    assert held.guest_phone == "+44 1234"
    response = api.post(
        "/api/v1/bookings/",
        {
            "property": tenant.prop.pk,
            "check_in": str(start + timedelta(days=5)),
            "check_out": str(start + timedelta(days=7)),
            "guests": 2,
            "guest": {"name": "Grace\nHopper", "email": "grace@example.com"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["guest"]["name"] == "Grace Hopper"


def test_a_control_character_in_a_name_is_refused_by_the_api_and_the_admin(
    tenant: Tenant, api: APIClient, stay: Booking
) -> None:
    start = days_from_today(tenant.prop, 40)
    response = api.post(
        "/api/v1/bookings/",
        {
            "property": tenant.prop.pk,
            "check_in": str(start),
            "check_out": str(start + timedelta(days=2)),
            "guests": 2,
            "guest": {"name": "Ada\x07Lovelace"},
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_guest"
    assert error["fields"] == {"guest_name": ["contains a control character"]}
    changed = _change(tenant, stay, guest_name="Ada\x1bLovelace")
    assert changed.status_code == 200
    assert "control characters" in str(changed.context["adminform"].form.errors["guest_name"])
    stay.refresh_from_db()
    assert stay.guest_name == "Ada Lovelace"
    assert Booking.objects.count() == 1


def test_an_invalid_email_is_refused_by_the_service(stay: Booking) -> None:
    with pytest.raises(InvalidGuestDetails, match="email"):
        booking_guest_update(booking=stay, name="Ada", email="ada@", phone="")
    with pytest.raises(InvalidGuestDetails, match="email"):
        booking_create(
            property=stay.property,
            check_in=stay.check_out,
            check_out=stay.check_out + timedelta(days=2),
            source=Booking.Source.AIRBNB,
            guest_email="ada\n@example.com",
        )
    stay.refresh_from_db()
    assert stay.guest_email == "ada@example.com"


def test_the_visitor_checkout_stores_one_line_names(tenant: Tenant, settings: Any) -> None:
    settings.PAYMENTS_BACKEND = "fake"
    client = Client(HTTP_HOST=site_host(tenant.business))
    client.force_login(UserFactory())
    start = days_from_today(tenant.prop, 15)
    response = client.post(
        f"/book/{tenant.prop.slug}/",
        {
            "check_in": start.isoformat(),
            "check_out": (start + timedelta(days=3)).isoformat(),
            "guests": 2,
            "guest_name": "Ada\nLovelace",
            "guest_phone": "+44 1234",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Booking.objects.get().guest_name == "Ada Lovelace"


# --- The admin: its form validates, the services write ---------------------------------------


def test_the_admin_changes_guest_details_through_the_service(tenant: Tenant, stay: Booking) -> None:
    response = _change(tenant, stay, guest_name="Ada\nKing", guests=3, note="Late arrival")
    assert response.status_code == 302
    stay.refresh_from_db()
    assert (stay.guest_name, stay.guests, stay.note) == ("Ada King", 3, "Late arrival")


def test_a_refused_date_change_writes_no_guest_detail_either(tenant: Tenant, stay: Booking) -> None:
    booking_create(
        property=tenant.prop,
        check_in=stay.check_out + timedelta(days=1),
        check_out=stay.check_out + timedelta(days=3),
        source=Booking.Source.AIRBNB,
    )
    before = LogEntry.objects.count()
    response = _change(
        tenant,
        stay,
        check_out=str(stay.check_out + timedelta(days=2)),
        guest_name="Someone Else",
    )
    assert response.status_code == 200
    assert "overlap another stay" in str(response.context["adminform"].form.non_field_errors())
    stay.refresh_from_db()
    assert stay.guest_name == "Ada Lovelace"
    assert stay.check_out == stay.check_in + timedelta(days=3)
    assert LogEntry.objects.count() == before


def test_zero_guests_is_a_form_error_in_the_admin(tenant: Tenant, stay: Booking) -> None:
    response = _change(tenant, stay, guests=0)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    stay.refresh_from_db()
    assert stay.guests == 2


def test_an_outsider_cannot_change_the_guest_details(
    tenant: Tenant, outsider: Tenant, stay: Booking
) -> None:
    url = reverse("admin:bookings_booking_change", args=[stay.pk])
    response = outsider.admin_client().post(url, {"guest_name": "Mallory"})
    assert response.status_code == 404
    stay.refresh_from_db()
    assert stay.guest_name == "Ada Lovelace"
