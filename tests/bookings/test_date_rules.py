"""One rule for the dates of stays and blocks (bookings.rules.stay_dates_check), the same
through every door: the services, the owner API, the admin, the visitor site."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from bookings.errors import BeyondHorizon, InvalidDates
from bookings.models import Booking
from bookings.rules import MAX_STAY_NIGHTS, REACH_DAYS
from bookings.services.blocks import block_create
from bookings.services.stays import booking_change_dates, booking_create, booking_hold
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant


def _admin_add(tenant: Tenant, **overrides: Any) -> Any:
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
    data.update({k: str(v) for k, v in overrides.items()})
    return tenant.admin_client().post(reverse("admin:bookings_booking_add"), data)


def _form_errors(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.context["adminform"].form.errors)


def _api_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


# --- Check-out after check-in -------------------------------------------------------------


def test_end_before_start_is_refused_by_the_service_and_the_admin(tenant: Tenant) -> None:
    start = days_from_today(tenant.prop, 10)
    with pytest.raises(InvalidDates, match="End must be after start"):
        block_create(property=tenant.prop, start=start, end=start)
    response = _admin_add(tenant, kind="maintenance", check_out=start - timedelta(days=1))
    assert "must be after" in _form_errors(response)
    assert not Booking.objects.exists()


# --- Not in the past ------------------------------------------------------------------------


def test_an_owner_block_in_the_past_is_refused_by_the_api_and_the_service(
    tenant: Tenant, api: APIClient
) -> None:
    start = days_from_today(tenant.prop, -3)
    body = {"property": tenant.prop.pk, "start": str(start), "end": str(start + timedelta(5))}
    error = _api_error(api.post("/api/v1/blocks/", body, format="json"), 400, "invalid_dates")
    assert error["fields"] == {"start": ["in the past"]}
    with pytest.raises(InvalidDates, match="Start cannot be in the past"):
        block_create(
            property=tenant.prop, start=start, end=start + timedelta(5), enforce_rules=True
        )
    assert not Booking.objects.exists()


def test_a_hold_in_the_past_is_refused_by_the_service_and_the_api(
    tenant: Tenant, api: APIClient
) -> None:
    start = days_from_today(tenant.prop, -2)
    with pytest.raises(InvalidDates, match="Check-in cannot be in the past"):
        booking_hold(
            property=tenant.prop, check_in=start, check_out=start + timedelta(days=4), guests=2
        )
    body = {
        "property": tenant.prop.pk,
        "check_in": str(start),
        "check_out": str(start + timedelta(days=4)),
        "guests": 2,
    }
    _api_error(api.post("/api/v1/bookings/", body, format="json"), 400, "invalid_dates")
    assert not Booking.objects.exists()


def test_stays_recorded_after_the_fact_may_start_in_the_past(tenant: Tenant) -> None:
    """The owner in the admin and partners record what was agreed elsewhere."""
    start = days_from_today(tenant.prop, -2)
    partner = booking_create(
        property=tenant.prop,
        check_in=start,
        check_out=start + timedelta(days=3),
        source=Booking.Source.AIRBNB,
    )
    response = _admin_add(
        tenant, check_in=start - timedelta(days=6), check_out=start - timedelta(days=3)
    )
    assert response.status_code == 302
    assert Booking.objects.exclude(pk=partner.pk).get().source == Booking.Source.OWNER


# --- The booking horizon ------------------------------------------------------------------


def test_beyond_the_horizon_is_refused_by_the_api_the_service_and_the_site(
    tenant: Tenant, api: APIClient
) -> None:
    prop = tenant.prop
    end = days_from_today(prop, prop.booking_horizon_days + 1)
    start = end - timedelta(days=3)
    body = {"property": prop.pk, "start": str(start), "end": str(end)}
    error = _api_error(api.post("/api/v1/blocks/", body, format="json"), 400, "beyond_horizon")
    assert list(error["fields"]) == ["end"]
    with pytest.raises(BeyondHorizon, match="Bookings open up to"):
        block_create(property=prop, start=start, end=end, enforce_rules=True)
    with pytest.raises(BeyondHorizon, match="Bookings open up to"):
        booking_hold(property=prop, check_in=start, check_out=end, guests=2)
    page = tenant.site_client().get(
        f"/p/{prop.slug}/", {"check_in": start, "check_out": end, "guests": 2}
    )
    assert page.status_code == 200
    assert page.context["quote_error"].startswith("Bookings open up to")
    assert not Booking.objects.exists()
    # The owner in the admin records what they decided, like partners do.
    response = _admin_add(tenant, kind="owner_block", check_in=start, check_out=end)
    assert response.status_code == 302
    assert Booking.objects.get().check_out == end


def test_a_partner_stay_beyond_the_horizon_is_recorded(tenant: Tenant) -> None:
    """Refusing it would leave nights open here that are sold on the partner's platform."""
    start = days_from_today(tenant.prop, tenant.prop.booking_horizon_days + 30)
    booking = booking_create(
        property=tenant.prop,
        check_in=start,
        check_out=start + timedelta(days=7),
        source=Booking.Source.VRBO,
    )
    assert booking.status == Booking.Status.CONFIRMED
    with pytest.raises(BeyondHorizon):
        booking_create(
            property=tenant.prop,
            check_in=start + timedelta(days=10),
            check_out=start + timedelta(days=12),
            source=Booking.Source.API,
            enforce_rules=True,
        )


def test_a_stay_in_progress_keeps_its_check_in_when_the_api_moves_its_check_out(
    tenant: Tenant, api: APIClient
) -> None:
    start = days_from_today(tenant.prop, -2)
    stay = booking_create(
        property=tenant.prop, check_in=start, check_out=start + timedelta(days=4), source="owner"
    )
    response = api.post(
        f"/api/v1/bookings/{stay.reference}/change-dates",
        {"check_in": str(start), "check_out": str(start + timedelta(days=5))},
        format="json",
    )
    assert response.status_code == 200, response.content
    with pytest.raises(InvalidDates, match="in the past"):
        booking_change_dates(
            booking=stay, check_in=start - timedelta(days=1), check_out=start + timedelta(days=5)
        )


# --- The longest stay -----------------------------------------------------------------------


def test_the_longest_stay_is_one_limit_for_the_service_the_api_and_the_admin(
    tenant: Tenant, api: APIClient
) -> None:
    prop = tenant.prop
    start = days_from_today(prop, 1)
    too_long = start + timedelta(days=MAX_STAY_NIGHTS + 1)
    with pytest.raises(InvalidDates, match=f"at most {MAX_STAY_NIGHTS} nights"):
        booking_create(property=prop, check_in=start, check_out=too_long, source="airbnb")
    response = _admin_add(tenant, check_in=start, check_out=too_long)
    assert f"at most {MAX_STAY_NIGHTS} nights" in _form_errors(response)
    url = f"/api/v1/properties/{prop.pk}/availability"
    _api_error(api.get(url, {"start": start, "end": too_long}), 400, "invalid_dates")
    assert not Booking.objects.exists()
    # The same limit, not a smaller one, for reading a calendar (it used to be 731 nights).
    longest = start + timedelta(days=MAX_STAY_NIGHTS)
    answer = api.get(url, {"start": start, "end": longest})
    assert answer.status_code == 200
    assert len(answer.json()["nights"]) == MAX_STAY_NIGHTS


# --- Dates later planning cannot handle ------------------------------------------------------


@pytest.mark.parametrize(
    ("check_in", "check_out"),
    [("9999-12-30", "9999-12-31"), ("0001-01-01", "0001-01-03"), ("2500-01-01", "2500-01-05")],
)
def test_extreme_years_are_a_form_error_in_the_admin_and_a_400_in_the_api(
    tenant: Tenant, api: APIClient, check_in: str, check_out: str
) -> None:
    response = _admin_add(tenant, check_in=check_in, check_out=check_out)
    assert "Dates must fall between" in _form_errors(response)
    body = {"property": tenant.prop.pk, "check_in": check_in, "check_out": check_out, "guests": 2}
    _api_error(api.post("/api/v1/bookings/", body, format="json"), 400, "invalid_dates")
    with pytest.raises(InvalidDates):
        booking_create(
            property=tenant.prop,
            check_in=date.fromisoformat(check_in),
            check_out=date.fromisoformat(check_out),
            source="airbnb",
        )
    assert not Booking.objects.exists()
    assert not LogEntry.objects.exists()


def test_the_reach_is_ten_years_either_way(tenant: Tenant) -> None:
    today = tenant.prop.local_today()
    booking_create(
        property=tenant.prop,
        check_in=today - timedelta(days=REACH_DAYS),
        check_out=today - timedelta(days=REACH_DAYS - 2),
        source="owner",
    )
    with pytest.raises(InvalidDates):
        booking_create(
            property=tenant.prop,
            check_in=today - timedelta(days=REACH_DAYS + 1),
            check_out=today - timedelta(days=REACH_DAYS - 5),
            source="owner",
        )


@pytest.mark.parametrize(
    "query",
    [
        {"month": "99999999999999999999-1"},
        {"month": "9999-12"},
        {"month": "0001-01"},
        {"month": "2030-99"},
        {"month": "-5-1"},
        {"check_in": "9999-12-30", "check_out": "9999-12-31"},
        {"check_in": "0001-01-01", "check_out": "0001-01-02"},
        {"check_in": "2026-01-01", "check_out": "9999-12-31", "month": "9999-12"},
    ],
)
def test_the_property_page_answers_extreme_dates_without_a_500(
    tenant: Tenant, query: dict[str, str]
) -> None:
    client = Client(HTTP_HOST=f"{tenant.business.slug}.localhost", raise_request_exception=False)
    response = client.get(f"/p/{tenant.prop.slug}/", query)
    assert response.status_code == 200
    month = response.context["calendar"]["month"]
    today = tenant.prop.local_today()
    assert today.replace(day=1) <= month <= today + timedelta(days=tenant.prop.booking_horizon_days)
    if "check_in" in query:
        assert response.context["quote"] is None
        assert response.context["quote_error"]


@pytest.mark.parametrize(
    "month", ["99999999999999999999-1", "9999-12", "0001-01", "1-1", "2030-13", "x"]
)
def test_the_admin_calendar_answers_extreme_months_with_this_month(
    tenant: Tenant, month: str
) -> None:
    client = tenant.admin_client()
    client.raise_request_exception = False
    response = client.get(reverse("admin:bookings_calendar"), {"month": month})
    assert response.status_code == 200
    assert response.context["month"] == tenant.prop.local_today().replace(day=1)
