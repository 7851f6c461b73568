"""Search across a business's places: availability, rules, exact totals, sorting,
pagination, hotel grouping, constant query count, and the search page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.errors import BookingError
from bookings.pricing import quote
from bookings.search import (
    available_properties,
    search_filters,
    search_groups,
    search_page,
    search_query_check,
)
from bookings.services.stays import booking_create
from properties.models import Property, SeasonalRate
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant
from tests.factories import PropertyFactory, PropertyGroupFactory


def _search(tenant: Tenant, start: int = 30, nights: int = 3, **kw: object):  # type: ignore[no-untyped-def]
    check_in = days_from_today(tenant.prop, start)
    return search_query_check(
        business=tenant.business,
        check_in=check_in,
        check_out=check_in + timedelta(days=nights),
        **kw,  # type: ignore[arg-type]
    )


def _names(tenant: Tenant, **kw: object) -> list[str]:
    return [
        p.name for p in available_properties(business=tenant.business, search=_search(tenant, **kw))
    ]


def _rate(
    prop: Property, start: date, end: date, price: str, min_nights: int | None = None
) -> None:
    SeasonalRate.objects.create(
        business=prop.business,
        property=prop,
        name="Summer",
        start=start,
        end=end,
        nightly_price=Decimal(price),
        min_nights=min_nights,
    )


def test_booked_places_are_left_out_and_free_ones_priced_exactly(tenant: Tenant) -> None:
    other = PropertyFactory(business=tenant.business, name="Boathouse", base_price=Decimal("80"))
    search = _search(tenant)
    booking_create(
        property=tenant.prop,
        check_in=search.check_in + timedelta(days=1),
        check_out=search.check_out + timedelta(days=2),
        source="airbnb",
    )
    _page, results = search_page(business=tenant.business, search=search)
    assert [r.property for r in results] == [other]
    assert results[0].quote.total == quote(other, search.check_in, search.check_out, 1).total


def test_a_stay_ending_on_check_in_day_does_not_block(tenant: Tenant) -> None:
    search = _search(tenant)
    booking_create(
        property=tenant.prop,
        check_in=search.check_in - timedelta(days=3),
        check_out=search.check_in,
        source="owner",
    )
    assert _names(tenant) == [tenant.prop.name]


def test_rules_filter_places(tenant: Tenant) -> None:
    prop = tenant.prop
    small = PropertyFactory(business=tenant.business, name="Small", max_guests=2)
    long_min = PropertyFactory(business=tenant.business, name="Long", min_nights=5)
    notice = PropertyFactory(business=tenant.business, name="Notice", advance_notice_days=60)
    short_horizon = PropertyFactory(business=tenant.business, name="Near", booking_horizon_days=20)
    hidden = PropertyFactory(business=tenant.business, name="Hidden", published=False)
    seasonal = PropertyFactory(business=tenant.business, name="Seasonal")
    search = _search(tenant)
    _rate(seasonal, search.check_in, search.check_in + timedelta(days=30), "90", min_nights=7)
    names = _names(tenant, guests=3)
    assert prop.name in names
    for left_out in (small, long_min, notice, short_horizon, hidden, seasonal):
        assert left_out.name not in names
    assert "Small" in _names(tenant, guests=2)
    assert "Seasonal" in _names(tenant, nights=7)
    assert "Long" in _names(tenant, nights=5)


def test_seasonal_prices_discounts_and_taxes_match_the_quote(tenant: Tenant) -> None:
    prop = tenant.prop
    prop.weekly_discount_percent = Decimal("10")
    prop.tax_percent = Decimal("7.5")
    prop.save()
    search = _search(tenant, nights=9)
    _rate(prop, search.check_in + timedelta(days=2), search.check_in + timedelta(days=5), "155.50")
    row = available_properties(business=tenant.business, search=search).get()
    exact = quote(prop, search.check_in, search.check_out, 1).total
    assert abs(row.est_total - exact) < Decimal("0.05")
    _, results = search_page(business=tenant.business, search=search)
    assert results[0].quote.total == exact


def test_sorting_and_pagination(tenant: Tenant) -> None:
    for price in ("300", "50", "150"):
        PropertyFactory(business=tenant.business, name=f"P{price}", base_price=Decimal(price))
    search = _search(tenant)
    ordered = [p.base_price for p in available_properties(business=tenant.business, search=search)]
    assert ordered == sorted(ordered)
    desc = _search(tenant, sort="-price")
    page, results = search_page(business=tenant.business, search=desc, page=1, per_page=2)
    assert page.paginator.count == 4
    assert [r.property.name for r in results] == ["P300", "P150"]
    _, results2 = search_page(business=tenant.business, search=desc, page=2, per_page=2)
    assert [r.property.name for r in results2] == [tenant.prop.name, "P50"]


def test_outsiders_places_never_appear(tenant: Tenant, outsider: Tenant) -> None:
    results = available_properties(business=tenant.business, search=_search(tenant))
    assert outsider.prop not in list(results)


def test_bad_searches_are_refused_with_the_field(tenant: Tenant) -> None:
    with pytest.raises(BookingError) as exc:
        _search(tenant, nights=0)
    assert "check_out" in exc.value.fields
    with pytest.raises(BookingError) as exc:
        _search(tenant, start=-2)
    assert "check_in" in exc.value.fields
    with pytest.raises(BookingError):
        _search(tenant, guests=0)
    with pytest.raises(BookingError):
        _search(tenant, sort="random()")


def test_hotels_are_grouped_by_room_type(tenant: Tenant) -> None:
    hotel = PropertyGroupFactory(business=tenant.business, name="Harbour Hotel")
    for i in range(3):
        PropertyFactory(
            business=tenant.business, group=hotel, bedrooms=1, max_guests=2, name=f"D{i}"
        )
    PropertyFactory(business=tenant.business, group=hotel, bedrooms=2, max_guests=4, name="Suite")
    rows = search_groups(business=tenant.business, search=_search(tenant))
    by_type = {(r.group_name, r.bedrooms): r.free_units for r in rows}
    assert by_type[("Harbour Hotel", 1)] == 3
    assert by_type[("Harbour Hotel", 2)] == 1
    assert by_type[("", 2)] == 1


def test_filters_offer_the_published_places_hotels_bedrooms_and_party(tenant: Tenant) -> None:
    harbour = PropertyGroupFactory(business=tenant.business, name="Harbour Hotel")
    abbey = PropertyGroupFactory(business=tenant.business, name="Abbey Hotel")
    closed = PropertyGroupFactory(business=tenant.business, name="Closed Hotel")
    PropertyFactory(business=tenant.business, group=harbour, bedrooms=3, max_guests=6)
    PropertyFactory(business=tenant.business, group=abbey, bedrooms=1, max_guests=2)
    PropertyFactory(
        business=tenant.business, group=closed, bedrooms=5, max_guests=9, published=False
    )
    with CaptureQueriesContext(connection) as ctx:
        filters = search_filters(business=tenant.business)
    assert len(ctx.captured_queries) == 1
    assert [g.name for g in filters.groups] == ["Abbey Hotel", "Harbour Hotel"]
    assert [g.pk for g in filters.groups] == [abbey.pk, harbour.pk]
    assert filters.bedrooms == [1, 2, 3]  # the tenant's own place has 2
    assert filters.max_guests == 6
    assert [(k.group_name, k.bedrooms) for k in filters.room_types] == [
        ("Abbey Hotel", 1),
        ("Harbour Hotel", 3),
        ("", 2),
    ]


def test_a_business_with_nothing_published_offers_no_filters(tenant: Tenant) -> None:
    Property.objects.filter(pk=tenant.prop.pk).update(published=False)
    filters = search_filters(business=tenant.business)
    assert (filters.bedrooms, filters.max_guests, filters.groups) == ([], 1, [])


def test_notice_counts_from_today_where_the_place_is(tenant: Tenant) -> None:
    # Noon in London is 2 a.m. the next day on Kiritimati (UTC+14): a same-day arrival
    # there is already in the past.
    far = PropertyFactory(business=tenant.business, name="Far", timezone="Pacific/Kiritimati")
    with time_machine.travel(datetime(2030, 6, 12, 11, 0, tzinfo=UTC), tick=False):
        names = [
            p.name
            for p in available_properties(
                business=tenant.business,
                search=search_query_check(
                    business=tenant.business,
                    check_in=date(2030, 6, 12),
                    check_out=date(2030, 6, 14),
                ),
            )
        ]
        assert names == [tenant.prop.name]
        later = search_query_check(
            business=tenant.business, check_in=date(2030, 6, 13), check_out=date(2030, 6, 15)
        )
        assert far in available_properties(business=tenant.business, search=later)


def test_query_count_does_not_grow_with_places(tenant: Tenant) -> None:
    def count() -> int:
        search = _search(tenant)
        with CaptureQueriesContext(connection) as ctx:
            search_page(business=tenant.business, search=search)
        return len(ctx.captured_queries)

    few = count()
    for i in range(15):
        prop = PropertyFactory(business=tenant.business, name=f"More {i}")
        _rate(prop, days_from_today(prop, 30), days_from_today(prop, 32), "120")
    assert count() == few


def test_search_page_lists_places_with_dates_kept(tenant: Tenant) -> None:
    search = _search(tenant)
    response = tenant.site_client().get("/search/", search.params())
    body = response.content.decode()
    assert response.status_code == 200
    assert f"/p/{tenant.prop.slug}/?check_in={search.check_in.isoformat()}" in body
    assert "1 place" in body


def test_search_page_names_a_bad_date(tenant: Tenant) -> None:
    response = tenant.site_client().get("/search/", {"check_in": "2030-02-31", "check_out": "x"})
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.content.decode()


def test_search_page_without_dates_shows_the_form(tenant: Tenant) -> None:
    response = tenant.site_client().get("/search/")
    assert response.status_code == 200
    assert 'name="check_in"' in response.content.decode()
