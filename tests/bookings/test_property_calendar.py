"""The property page's calendar: two months, check-in then check-out links, the next
guest's arrival day as a check-out, minimum stays and closed arrivals shown."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bookings.services.stays import booking_create
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant


def _cells(response: Any) -> dict[date, Any]:
    return {
        c.day: c
        for grid in response.context["calendar"]["months"]
        for week in grid.weeks
        for c in week
        if c
    }


def test_two_months_are_shown(tenant: Tenant) -> None:
    response = tenant.site_client().get(f"/p/{tenant.prop.slug}/")
    months = response.context["calendar"]["months"]
    assert len(months) == 2
    assert months[1].month > months[0].month
    assert response.content.decode().count('<table class="month') == 2


def test_after_check_in_the_next_guests_arrival_day_can_be_the_check_out(tenant: Tenant) -> None:
    prop = tenant.prop
    check_in = days_from_today(prop, 20)
    booking_create(
        property=prop,
        check_in=check_in + timedelta(days=4),
        check_out=check_in + timedelta(days=8),
        source="airbnb",
    )
    response = tenant.site_client().get(f"/p/{prop.slug}/?check_in={check_in}")
    cells = _cells(response)
    assert cells[check_in].state == "check-in"
    for offset in (1, 2, 3):
        assert cells[check_in + timedelta(days=offset)].state == "can-leave"
    arrival = cells[check_in + timedelta(days=4)]
    assert arrival.state == "leave-only"
    assert f"check_out={arrival.day}" in arrival.href
    assert cells[check_in + timedelta(days=5)].href == ""
    assert "Now choose your check-out day" in response.content.decode()


def test_minimum_stay_days_are_not_offered_as_check_out(tenant: Tenant) -> None:
    prop = tenant.prop
    prop.min_nights = 3
    prop.save()
    check_in = days_from_today(prop, 20)
    response = tenant.site_client().get(f"/p/{prop.slug}/?check_in={check_in}")
    cells = _cells(response)
    for offset in (1, 2):
        short = cells[check_in + timedelta(days=offset)]
        assert (short.state, short.href) == ("too-short", "")
        assert "at least 3 nights" in short.label
    assert "check_out=" in cells[check_in + timedelta(days=3)].href
    assert "(at least 3 nights)" in response.content.decode()


def test_a_gap_shorter_than_the_minimum_stay_is_closed_to_arrivals(tenant: Tenant) -> None:
    prop = tenant.prop
    prop.min_nights = 3
    prop.save()
    start = days_from_today(prop, 20)
    booking_create(
        property=prop, check_in=start, check_out=start + timedelta(days=2), source="owner"
    )
    booking_create(
        property=prop,
        check_in=start + timedelta(days=4),
        check_out=start + timedelta(days=6),
        source="owner",
    )
    response = tenant.site_client().get(f"/p/{prop.slug}/?month={start:%Y-%m}")
    cells = _cells(response)
    for offset in (2, 3):
        closed = cells[start + timedelta(days=offset)]
        assert (closed.state, closed.href) == ("no-arrival", "")
        assert "need 3 nights" in closed.label
    assert "check_in=" in cells[start + timedelta(days=6)].href
    assert "3+" in response.content.decode()
