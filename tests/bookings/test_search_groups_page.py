"""A chain's search page lists hotels and room types a page at a time."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.search import PAGE_SIZE
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant
from tests.factories import PropertyFactory, PropertyGroupFactory


def _stay(tenant: Tenant) -> dict[str, str]:
    check_in = days_from_today(tenant.prop, 30)
    return {
        "check_in": check_in.isoformat(),
        "check_out": (check_in + timedelta(days=7)).isoformat(),
        "guests": "2",
    }


def _hotels(tenant: Tenant, count: int, first: int = 0) -> None:
    for n in range(first, first + count):
        hotel = PropertyGroupFactory(business=tenant.business, name=f"Hotel {n:02d}")
        PropertyFactory(business=tenant.business, group=hotel, bedrooms=1, max_guests=2)


def test_hotels_and_room_types_come_a_page_at_a_time(tenant: Tenant) -> None:
    _hotels(tenant, PAGE_SIZE + 5)  # and the tenant's own place, in no hotel
    client = tenant.site_client()
    first = client.get("/search/", _stay(tenant)).content.decode()
    assert first.count('class="result"') == PAGE_SIZE
    assert f"{PAGE_SIZE + 6} places free" in first  # every page's free units
    assert "Page 1 of 2" in first
    assert 'rel="next"' in first
    assert "page=2#results" in first
    second = client.get("/search/", {**_stay(tenant), "page": "2"}).content.decode()
    assert second.count('class="result"') == 6
    assert 'rel="prev"' in second
    # A page past the last shows the last; nonsense shows the first.
    assert "Page 2 of 2" in client.get("/search/", {**_stay(tenant), "page": "9"}).content.decode()
    assert "Page 1 of 2" in client.get("/search/", {**_stay(tenant), "page": "x"}).content.decode()


def test_the_hotels_page_costs_the_same_queries_for_more_hotels(tenant: Tenant) -> None:
    _hotels(tenant, 2)
    client = tenant.site_client()

    def count() -> int:
        client.get("/search/", _stay(tenant))
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/search/", _stay(tenant)).status_code == 200
        return len(queries)

    few = count()
    _hotels(tenant, 30, first=2)
    assert count() == few
