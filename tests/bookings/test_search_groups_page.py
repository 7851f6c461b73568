"""A chain's search page lists hotels and room types a page at a time: every room type
that sleeps the party, in hotel order, the page's rows checked and priced, a room type
with nothing bookable shown as sold out."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.search import PAGE_SIZE, search_groups_page, search_query_check
from bookings.services.stays import booking_create
from properties.models import Property, PropertyGroup
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


def _hotels(tenant: Tenant, count: int, first: int = 0, rooms: int = 1) -> None:
    for n in range(first, first + count):
        hotel = PropertyGroupFactory(business=tenant.business, name=f"Hotel {n:02d}")
        for _ in range(rooms):
            PropertyFactory(business=tenant.business, group=hotel, bedrooms=1, max_guests=2)


def _book_out(prop: Property, stay: dict[str, str]) -> None:
    booking_create(
        property=prop,
        check_in=date.fromisoformat(stay["check_in"]),
        check_out=date.fromisoformat(stay["check_out"]),
        source="airbnb",
    )


def _rows(body: str) -> list[str]:
    return re.findall(r'<li class="result[^"]*">.*?</li>', body, flags=re.DOTALL)


def test_hotels_and_room_types_come_a_page_at_a_time(tenant: Tenant) -> None:
    _hotels(tenant, PAGE_SIZE + 5)  # and the tenant's own place, in no hotel
    client = tenant.site_client()
    first = client.get("/search/", _stay(tenant)).content.decode()
    assert len(_rows(first)) == PAGE_SIZE
    assert f"{PAGE_SIZE + 6} room types for a stay" in first  # every page's room types
    assert "Page 1 of 2" in first
    assert 'rel="next"' in first
    assert "page=2#results" in first
    second = client.get("/search/", {**_stay(tenant), "page": "2"}).content.decode()
    assert len(_rows(second)) == 6
    assert 'rel="prev"' in second
    # A page past the last shows the last; nonsense shows the first.
    assert "Page 2 of 2" in client.get("/search/", {**_stay(tenant), "page": "9"}).content.decode()
    assert "Page 1 of 2" in client.get("/search/", {**_stay(tenant), "page": "x"}).content.decode()


def test_room_types_are_listed_by_hotel_name_whatever_their_price(tenant: Tenant) -> None:
    dear = PropertyGroupFactory(business=tenant.business, name="Abbey Hotel")
    cheap = PropertyGroupFactory(business=tenant.business, name="Bay Hotel")
    PropertyFactory(business=tenant.business, group=dear, base_price=Decimal("400"))
    PropertyFactory(business=tenant.business, group=cheap, base_price=Decimal("40"))
    body = tenant.site_client().get("/search/", _stay(tenant)).content.decode()
    names = [re.search(r"<h3>(.*?)</h3>", row).group(1) for row in _rows(body)]  # type: ignore[union-attr]
    assert names == ["Abbey Hotel", "Bay Hotel", "Other places"]


def test_a_room_type_with_nothing_free_is_listed_as_sold_out(tenant: Tenant) -> None:
    stay = _stay(tenant)
    full = PropertyGroupFactory(business=tenant.business, name="Full Hotel")
    open_ = PropertyGroupFactory(business=tenant.business, name="Open Hotel")
    taken = PropertyFactory(business=tenant.business, group=full, bedrooms=1, max_guests=2)
    PropertyFactory(business=tenant.business, group=full, bedrooms=2, max_guests=4)
    for _ in range(3):
        PropertyFactory(business=tenant.business, group=open_, bedrooms=1, max_guests=2)
    booked = PropertyFactory(business=tenant.business, group=open_, bedrooms=1, max_guests=2)
    _book_out(taken, stay)
    _book_out(booked, stay)
    body = tenant.site_client().get("/search/", stay).content.decode()
    rows = {
        re.search(r"<h3>(.*?)</h3>.*?(\d) bedroom", row, flags=re.DOTALL).groups(): row  # type: ignore[union-attr]
        for row in _rows(body)
    }
    sold_out = rows[("Full Hotel", "1")]
    assert "Sold out for these dates" in sold_out
    assert "result-sold-out" in sold_out
    assert "href" not in sold_out  # nothing to book
    assert "free" not in sold_out
    assert "Sold out" not in rows[("Full Hotel", "2")]
    assert "3 free" in rows[("Open Hotel", "1")]
    assert "See 3 places" in rows[("Open Hotel", "1")]
    assert "4 room types for a stay" in body  # sold out ones count


def test_a_room_type_its_rules_refuse_is_sold_out(tenant: Tenant) -> None:
    hotel = PropertyGroupFactory(business=tenant.business, name="Long Stay Hotel")
    PropertyFactory(business=tenant.business, group=hotel, bedrooms=1, max_guests=2, min_nights=10)
    PropertyFactory(business=tenant.business, group=hotel, bedrooms=3, max_guests=2, min_nights=2)
    stay = _stay(tenant)
    page = search_groups_page(
        business=tenant.business,
        search=search_query_check(
            business=tenant.business,
            check_in=date.fromisoformat(stay["check_in"]),
            check_out=date.fromisoformat(stay["check_out"]),
            guests=2,
        ),
    )
    by_type = {(row.group_name, row.bedrooms): row for row in page}
    assert by_type[("Long Stay Hotel", 1)].sold_out
    assert by_type[("Long Stay Hotel", 1)].lowest_total is None
    assert not by_type[("Long Stay Hotel", 3)].sold_out
    assert by_type[("Long Stay Hotel", 3)].free_units == 1
    assert by_type[("Long Stay Hotel", 3)].lowest_total == Decimal("750")  # 7 x 100 + 50


def test_room_types_too_small_for_the_party_are_not_listed(tenant: Tenant) -> None:
    hotel = PropertyGroupFactory(business=tenant.business, name="Hotel")
    PropertyFactory(business=tenant.business, group=hotel, bedrooms=1, max_guests=2)
    PropertyFactory(business=tenant.business, group=hotel, bedrooms=3, max_guests=6)
    body = tenant.site_client().get("/search/", {**_stay(tenant), "guests": "5"}).content.decode()
    assert len(_rows(body)) == 1
    assert "1 room type for a stay" in body


def test_another_business_hotels_are_not_listed(tenant: Tenant, outsider: Tenant) -> None:
    _hotels(tenant, 1)
    PropertyFactory(
        business=outsider.business,
        group=PropertyGroupFactory(business=outsider.business, name="Alpine Lodge"),
    )
    body = tenant.site_client().get("/search/", _stay(tenant)).content.decode()
    assert "Alpine Lodge" not in body
    assert len(_rows(body)) == 2  # Hotel 00 and the tenant's own place


def test_the_hotels_page_costs_the_same_queries_for_more_hotels_rooms_and_stays(
    tenant: Tenant,
) -> None:
    _hotels(tenant, 2)
    client = tenant.site_client()
    stay = _stay(tenant)

    def count(page: str = "1") -> int:
        client.get("/search/", {**stay, "page": page})
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/search/", {**stay, "page": page}).status_code == 200
        return len(queries)

    few = count()
    _hotels(tenant, 30, first=2, rooms=3)
    for prop in Property.objects.filter(group__in=PropertyGroup.objects.all())[:10]:
        _book_out(prop, stay)
    assert count() == few
    assert count("2") == few
