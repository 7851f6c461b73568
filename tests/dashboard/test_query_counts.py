"""Each dashboard page costs the same number of queries however many properties a
business shows and however many bookings it has stored: 2 or 6 properties, 5 or 50
bookings. (`make bench` measures the same at 8,000 properties and 400,000 bookings.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.models import Booking
from tests.conftest import Tenant, make_tenant
from tests.dashboard.conftest import Day, make_busy_day, stay
from tests.factories import PropertyFactory

PAGES: dict[str, Callable[[Day], str]] = {
    "today": lambda day: "/dashboard/",
    "calendar": lambda day: f"/dashboard/calendar/?month={day.today:%Y-%m}",
    "bookings": lambda day: "/dashboard/bookings/",
    "search": lambda day: "/dashboard/bookings/?q=e&status=confirmed&source=direct&when=all",
    "booking": lambda day: f"/dashboard/bookings/{day.arriving.reference}/",
}


def world(tenant: Tenant, *, properties: int, bookings: int) -> Day:
    """`make_busy_day` (2 properties, 4 bookings), grown to `properties` properties and
    `bookings` bookings (the extra ones: direct stays weeks ahead)."""
    day = make_busy_day(tenant)
    for n in range(properties - 2):
        PropertyFactory(business=tenant.business, name=f"Extra {n}")
    homes = [day.arriving.property, day.staying.property]
    start = day.today + timedelta(days=30)
    for n in range(bookings - Booking.objects.filter(business=tenant.business).count()):
        stay(homes[n % 2], start + timedelta(days=3 * (n // 2)), 2, name=f"Guest Number{n}")
    assert Booking.objects.filter(business=tenant.business).count() == bookings
    return day


def queries(day: Day, url: str) -> int:
    client = day.tenant.admin_client()
    client.get(url)  # the first request of a session costs more
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("page", PAGES)
def test_page_costs_the_same_queries_for_more_properties_and_bookings(
    page: str, tenant: Tenant, outsider: Tenant
) -> None:
    few = world(tenant, properties=2, bookings=5)
    more_properties = world(outsider, properties=6, bookings=5)
    more_bookings = world(make_tenant("harbour"), properties=2, bookings=50)
    url = PAGES[page]
    counts = [queries(d, url(d)) for d in (few, more_properties, more_bookings)]
    assert counts[0] == counts[1] == counts[2], counts
