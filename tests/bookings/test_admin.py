"""Bookings in the admin go through the services: overlaps are form errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking
from bookings.services.blocks import block_create
from bookings.services.stays import booking_create
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant


def _add(tenant: Tenant, **overrides: object) -> object:
    start = days_from_today(tenant.prop, 10)
    data = {
        "property": tenant.prop.pk,
        "kind": "stay",
        "check_in": str(start),
        "check_out": str(start + timedelta(days=3)),
        "guests": 2,
        "guest_name": "Phone Guest",
        "guest_email": "phone@example.com",
        "guest_phone": "",
        "note": "",
    }
    data.update(overrides)
    return tenant.admin_client().post(reverse("admin:bookings_booking_add"), data)


def test_owner_adds_a_stay_in_the_admin(tenant: Tenant) -> None:
    response = _add(tenant)
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.source == "owner"
    assert booking.status == "confirmed"
    assert booking.guest_name == "Phone Guest"
    assert booking.business == tenant.business


def test_overlap_in_the_admin_is_a_form_error_not_a_crash(tenant: Tenant) -> None:
    start = days_from_today(tenant.prop, 10)
    block_create(
        property=tenant.prop, start=start + timedelta(days=1), end=start + timedelta(days=2)
    )
    response = _add(tenant)
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert "overlap another stay" in str(errors)
    assert Booking.objects.count() == 1


def test_owner_adds_a_block(tenant: Tenant) -> None:
    response = _add(tenant, kind="maintenance", guest_name="")
    assert response.status_code == 302
    assert Booking.objects.get().kind == "maintenance"


def test_owner_moves_a_stay_and_overlap_is_refused(tenant: Tenant) -> None:
    start = days_from_today(tenant.prop, 10)
    stay = booking_create(
        property=tenant.prop, check_in=start, check_out=start + timedelta(days=2), source="direct"
    )
    other = booking_create(
        property=tenant.prop,
        check_in=start + timedelta(days=5),
        check_out=start + timedelta(days=7),
        source="direct",
    )
    url = reverse("admin:bookings_booking_change", args=[stay.pk])
    data = {
        "check_in": str(start),
        "check_out": str(start + timedelta(days=6)),
        "guests": 1,
        "guest_name": "",
        "guest_email": "",
        "guest_phone": "",
        "note": "",
    }
    response = tenant.admin_client().post(url, data)
    assert response.status_code == 200
    assert "overlap" in str(response.context["adminform"].form.errors)
    data["check_out"] = str(start + timedelta(days=4))
    assert tenant.admin_client().post(url, data).status_code == 302
    stay.refresh_from_db()
    assert stay.check_out == start + timedelta(days=4)
    assert other.check_in == start + timedelta(days=5)


def test_cancel_action(tenant: Tenant) -> None:
    start = days_from_today(tenant.prop, 10)
    stay = booking_create(
        property=tenant.prop, check_in=start, check_out=start + timedelta(days=2), source="direct"
    )
    response = tenant.admin_client().post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "cancel_selected", "_selected_action": [stay.pk]},
    )
    assert response.status_code == 302
    stay.refresh_from_db()
    assert stay.status == "cancelled"


def test_calendar_timeline_shows_only_own_properties(tenant: Tenant, outsider: Tenant) -> None:
    start = days_from_today(tenant.prop, 1)
    booking_create(
        property=tenant.prop, check_in=start, check_out=start + timedelta(days=2), source="direct"
    )
    response = tenant.admin_client().get(
        reverse("admin:bookings_calendar") + f"?month={start:%Y-%m}"
    )
    assert response.status_code == 200
    names = [row["property"].name for row in response.context["grid"]]
    assert names == [tenant.prop.name]
    assert outsider.prop.name not in response.content.decode()


@pytest.mark.parametrize("garbage", ["abc", "2031-13", "2031", "-"])
def test_calendar_month_parameter_garbage_falls_back_to_this_month(
    tenant: Tenant, garbage: str
) -> None:
    response = tenant.admin_client().get(reverse("admin:bookings_calendar") + f"?month={garbage}")
    assert response.status_code == 200
    this_month = timezone.now().astimezone(tenant.business.tz).date().replace(day=1)
    assert response.context["month"] == this_month
    assert f"{this_month:%B %Y}" in response.content.decode()


def test_owner_moves_a_block_in_progress_within_the_engine_limits(tenant: Tenant) -> None:
    today = tenant.prop.local_today()
    block = block_create(
        property=tenant.prop,
        start=today - timedelta(days=2),
        end=today + timedelta(days=2),
        kind=Booking.Kind.MAINTENANCE,
    )
    url = reverse("admin:bookings_booking_change", args=[block.pk])
    data = {
        "check_in": str(block.check_in),
        "check_out": str(block.check_out + timedelta(days=3)),
        "guests": 1,
        "guest_name": "",
        "guest_email": "",
        "guest_phone": "",
        "note": "Roof",
    }
    assert tenant.admin_client().post(url, data).status_code == 302
    block.refresh_from_db()
    assert (block.check_out, block.note) == (today + timedelta(days=5), "Roof")
    data["check_out"] = "9999-12-31"
    response = tenant.admin_client().post(url, data)
    assert "Dates must fall between" in str(response.context["adminform"].form.errors["check_out"])
    block.refresh_from_db()
    assert block.check_out == today + timedelta(days=5)
