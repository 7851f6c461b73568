"""Calendar reads: right answers in a constant number of queries, on the index."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from bookings.models import Booking
from bookings.selectors import (
    business_timeline,
    free_gaps,
    property_calendar,
    unavailable_ranges,
    upcoming_movements,
)
from bookings.services.blocks import block_create
from bookings.services.stays import booking_create, booking_hold
from properties.models import SeasonalRate
from tests.bookings.conftest import days_from_today
from tests.conftest import Tenant
from tests.factories import PropertyFactory


def test_property_calendar_night_by_night(tenant: Tenant) -> None:
    prop = tenant.prop
    start = days_from_today(prop, 10)
    SeasonalRate.objects.create(
        business=prop.business,
        property=prop,
        name="Peak",
        start=start + timedelta(days=2),
        end=start + timedelta(days=4),
        nightly_price=Decimal("200.00"),
        min_nights=3,
    )
    booking_create(
        property=prop, check_in=start, check_out=start + timedelta(days=2), source="direct"
    )
    nights = property_calendar(property=prop, start=start, end=start + timedelta(days=5))
    assert [n.available for n in nights] == [False, False, True, True, True]
    assert [n.price for n in nights] == [Decimal("100.00")] * 2 + [Decimal("200.00")] * 2 + [
        Decimal("100.00")
    ]
    assert [n.min_nights for n in nights] == [1, 1, 3, 3, 1]


@pytest.mark.parametrize("months", [1, 12])
def test_property_calendar_query_count_is_constant(
    tenant: Tenant, django_assert_num_queries, months: int
) -> None:
    start = days_from_today(tenant.prop, 1)
    for i in range(5):
        block_create(
            property=tenant.prop,
            start=start + timedelta(days=20 * i),
            end=start + timedelta(days=20 * i + 3),
        )
    with django_assert_num_queries(2):
        property_calendar(
            property=tenant.prop, start=start, end=start + timedelta(days=30 * months)
        )


@pytest.mark.parametrize("properties", [2, 20])
def test_business_timeline_query_count_is_constant(
    tenant: Tenant, django_assert_num_queries, properties: int
) -> None:
    start = days_from_today(tenant.prop, 1)
    for _ in range(properties - 1):
        prop = PropertyFactory(business=tenant.business)
        booking_create(
            property=prop, check_in=start, check_out=start + timedelta(days=2), source="direct"
        )
    with django_assert_num_queries(2):
        rows = business_timeline(
            business=tenant.business, start=start, end=start + timedelta(days=31)
        )
    assert len(rows) == properties


def test_expired_holds_and_cancelled_stays_do_not_show_as_unavailable(tenant: Tenant) -> None:
    from django.utils import timezone

    start = days_from_today(tenant.prop, 3)
    hold = booking_hold(
        property=tenant.prop, check_in=start, check_out=start + timedelta(days=2), guests=1
    )
    later = timezone.now() + timedelta(hours=1)
    nights = property_calendar(
        property=tenant.prop, start=start, end=start + timedelta(days=2), now=later
    )
    assert all(n.available for n in nights)
    assert hold.status == Booking.Status.HELD


def test_unavailable_ranges_merge_and_free_gaps(tenant: Tenant) -> None:
    prop = tenant.prop
    d = days_from_today(prop, 5)
    booking_create(property=prop, check_in=d, check_out=d + timedelta(days=2), source="direct")
    block_create(property=prop, start=d + timedelta(days=2), end=d + timedelta(days=4))
    booking_create(
        property=prop,
        check_in=d + timedelta(days=6),
        check_out=d + timedelta(days=7),
        source="airbnb",
    )
    ranges = unavailable_ranges(property=prop, start=d, end=d + timedelta(days=10))
    assert ranges == [(d, d + timedelta(days=4)), (d + timedelta(days=6), d + timedelta(days=7))]
    without_airbnb = unavailable_ranges(
        property=prop, start=d, end=d + timedelta(days=10), exclude_sources=("airbnb",)
    )
    assert without_airbnb == [(d, d + timedelta(days=4))]
    assert free_gaps(property=prop, start=d, end=d + timedelta(days=10), min_nights=2) == [
        (d + timedelta(days=4), d + timedelta(days=6)),
        (d + timedelta(days=7), d + timedelta(days=10)),
    ]


def test_upcoming_arrivals_and_departures(tenant: Tenant, outsider: Tenant) -> None:
    today = date.today()
    arriving = booking_create(
        property=tenant.prop,
        check_in=today + timedelta(days=2),
        check_out=today + timedelta(days=9),
        source="direct",
    )
    leaving = booking_create(
        property=tenant.prop,
        check_in=today - timedelta(days=3),
        check_out=today + timedelta(days=1),
        source="direct",
    )
    booking_create(
        property=outsider.prop,
        check_in=today + timedelta(days=2),
        check_out=today + timedelta(days=4),
        source="direct",
    )
    moves = upcoming_movements(business=tenant.business, days=7, today=today)
    assert moves["arrivals"] == [arriving]
    assert moves["departures"] == [leaving]


@pytest.mark.django_db(transaction=True)
def test_availability_queries_use_the_index_not_a_sequential_scan() -> None:
    """Plans regress silently: with a realistic table, the calendar reads must use the
    GiST index on (property, stay) or (business, stay)."""
    from tests.conftest import make_tenant

    tenant = make_tenant("planner")
    props = [PropertyFactory(business=tenant.business) for _ in range(40)]
    with connection.cursor() as cursor:
        # 40 properties x 250 two-night stays, generated in SQL: plenty for the planner.
        cursor.execute(
            """
            INSERT INTO bookings_booking (reference, business_id, property_id, stay, status, kind,
                source, guest_name, guest_email, guest_phone, guests, note, price_breakdown, total,
                amount_paid, amount_refunded, currency, created_at, updated_at)
            SELECT 'HD-' || lpad(p.idx::text, 3, '0') || lpad(g::text, 4, '0'), %s, p.id,
                daterange(date '2030-01-01' + g * 3, date '2030-01-01' + g * 3 + 2, '[)'),
                'confirmed', 'stay', 'direct', '', '', '', 1, '', '{}', 0, 0, 0, 'EUR', now(), now()
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS idx FROM properties_property WHERE business_id = %s) p,
                generate_series(0, 249) g
            """,
            [tenant.business.pk, tenant.business.pk],
        )
        cursor.execute("ANALYZE bookings_booking")
    prop = props[7]
    start, end = date(2030, 6, 1), date(2030, 7, 1)
    single = Booking.objects.filter(property=prop).active().overlapping(start, end).explain()
    timeline = (
        Booking.objects.filter(business=tenant.business).active().overlapping(start, end).explain()
    )
    for plan in (single, timeline):
        assert "Seq Scan on bookings_booking" not in plan, plan
        assert "Index" in plan, plan
    connection.close()
