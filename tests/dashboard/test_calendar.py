"""The calendar: every property by every night of a month, stays labelled with guest
and source, holds, blocks and conflicts marked, blocks created through the block
service, in a constant number of queries."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bookings.dashboard.grid import booking_cells, free_nights
from bookings.dashboard.selectors import month_end, month_start
from bookings.models import Booking
from bookings.services.stays import booking_hold
from properties.models import PropertyGroup
from tests.conftest import Tenant
from tests.dashboard.conftest import Day, business_today, make_busy_day, stay
from tests.factories import PropertyFactory


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def test_calendar_shows_stays_with_guest_and_source(owner: Client, day: Day) -> None:
    html = owner.get(f"/dashboard/calendar/?month={month_of(day.today)}").content.decode()
    assert "Sea View" in html
    assert "Hill Barn" in html
    assert '<span class="stay-name">Ada Lovelace</span>' in html
    assert reverse("dashboard:booking-detail", args=[day.arriving.reference]) in html
    assert (
        '<span class="stay-name">Alan Turing</span><span class="visually-hidden">, </span>'
        '<span class="stay-source">Booking.com</span>'
    ) in html


def test_calendar_marks_holds_blocks_and_conflicts(owner: Client, tenant: Tenant, day: Day) -> None:
    hold_start = day.today + timedelta(days=5)
    booking_hold(
        property=tenant.prop,
        check_in=hold_start,
        check_out=hold_start + timedelta(days=2),
        guests=2,
        guest_name="Hedy Lamarr",
    )
    html = owner.get(f"/dashboard/calendar/?month={month_of(day.block.check_in)}").content.decode()
    assert '<span class="stay-source">Owner use</span>' in html  # the block
    html = owner.get(f"/dashboard/calendar/?month={month_of(day.today)}").content.decode()
    if hold_start.month == day.today.month:
        assert "Hold · Direct" in html
    assert "Conflict · Direct" in html  # the stay the partner's collides with
    assert reverse("dashboard:conflict", args=[day.conflict.public_id]) in html
    assert "Linus Partner" in html


def test_a_stay_that_runs_across_months_shows_in_both(owner: Client, tenant: Tenant) -> None:
    stay(tenant.prop, date(2031, 1, 29), 5, name="Grace Hopper")
    january = owner.get("/dashboard/calendar/?month=2031-01").content.decode()
    february = owner.get("/dashboard/calendar/?month=2031-02").content.decode()
    assert 'colspan="3" class="cal-stay is-stay src-direct ends-after"' in january
    assert 'colspan="2" class="cal-stay is-stay src-direct starts-before"' in february


def test_months_page_back_and_forth_and_bad_months_fall_back_to_this_one(
    owner: Client, tenant: Tenant
) -> None:
    html = owner.get("/dashboard/calendar/?month=2031-01").content.decode()
    assert "January 2031" in html
    assert "?month=2030-12" in html
    assert "?month=2031-02" in html
    today = business_today(tenant.business)
    for bad in ("2031-13", "nonsense", "99999-01", "-1-1"):
        response = owner.get(f"/dashboard/calendar/?month={bad}")
        assert response.status_code == 200
        assert f"{today:%B %Y}" in response.content.decode()
    assert 'id="today"' in owner.get("/dashboard/calendar/").content.decode()


def test_property_groups_fold_under_their_names(owner: Client, tenant: Tenant) -> None:
    coast = PropertyGroup.objects.create(business=tenant.business, name="Coast")
    PropertyFactory(business=tenant.business, name="Harbour Loft", group=coast)
    html = owner.get("/dashboard/calendar/").content.decode()
    assert '<details class="cal-group" open>' in html
    assert "Coast <span" in html
    assert "Other properties <span" in html
    assert html.index("Harbour Loft") < html.index(tenant.prop.name)


def test_a_new_business_is_asked_to_add_a_property(owner: Client, tenant: Tenant) -> None:
    tenant.prop.delete()
    html = owner.get("/dashboard/calendar/").content.decode()
    assert "Add your first property" in html
    assert 'id="block-form"' not in html


def test_the_block_form_closes_nights_through_the_block_service(
    owner: Client, tenant: Tenant
) -> None:
    start = business_today(tenant.business) + timedelta(days=40)
    response = owner.post(
        "/dashboard/calendar/block/",
        {
            "property": tenant.prop.pk,
            "start": start.isoformat(),
            "end": (start + timedelta(days=3)).isoformat(),
            "kind": "owner_block",
            "note": "Family week",
            "month": f"{start:%Y-%m}",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/calendar/?month={start:%Y-%m}"
    block = Booking.objects.get(kind=Booking.Kind.OWNER_BLOCK)
    assert (block.check_in, block.check_out, block.note) == (
        start,
        start + timedelta(days=3),
        "Family week",
    )
    assert block.status == Booking.Status.CONFIRMED
    assert block.source == Booking.Source.OWNER
    page = owner.get(response["Location"]).content.decode()
    assert "Blocked" in page
    assert "3 nights" in page


def test_a_block_over_a_stay_is_a_form_error_and_writes_nothing(
    owner: Client, tenant: Tenant
) -> None:
    start = business_today(tenant.business) + timedelta(days=40)
    stay(tenant.prop, start + timedelta(days=1), 2)
    response = owner.post(
        "/dashboard/calendar/block/",
        {
            "property": tenant.prop.pk,
            "start": start.isoformat(),
            "end": (start + timedelta(days=4)).isoformat(),
            "kind": "owner_block",
        },
    )
    assert response.status_code == 400
    assert "overlap another stay" in response.content.decode()
    assert not Booking.objects.filter(kind=Booking.Kind.OWNER_BLOCK).exists()


def test_impossible_block_dates_are_form_errors(owner: Client, tenant: Tenant) -> None:
    start = business_today(tenant.business) + timedelta(days=40)
    for end in (start.isoformat(), (start - timedelta(days=2)).isoformat(), "31/02/2030", ""):
        response = owner.post(
            "/dashboard/calendar/block/",
            {
                "property": tenant.prop.pk,
                "start": start.isoformat(),
                "end": end,
                "kind": "owner_block",
            },
        )
        assert response.status_code == 400, end
        assert 'class="error"' in response.content.decode()
    response = owner.post(
        "/dashboard/calendar/block/",
        {
            "property": tenant.prop.pk,
            "start": start.isoformat(),
            "end": (start + timedelta(days=2000)).isoformat(),
            "kind": "owner_block",
        },
    )
    assert response.status_code == 400
    assert not Booking.objects.exists()


def test_another_business_property_cannot_be_blocked(
    owner: Client, tenant: Tenant, outsider: Tenant
) -> None:
    start = business_today(tenant.business) + timedelta(days=40)
    response = owner.post(
        "/dashboard/calendar/block/",
        {
            "property": outsider.prop.pk,
            "start": start.isoformat(),
            "end": (start + timedelta(days=2)).isoformat(),
            "kind": "owner_block",
        },
    )
    assert response.status_code == 400
    assert not Booking.objects.exists()


def test_a_staff_member_cannot_block_nights(tenant: Tenant) -> None:
    from properties.models import Membership
    from tests.factories import MembershipFactory

    staff = MembershipFactory(business=tenant.business, role=Membership.Role.STAFF)
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff.user)
    start = business_today(tenant.business) + timedelta(days=40)
    response = client.post(
        "/dashboard/calendar/block/",
        {
            "property": tenant.prop.pk,
            "start": start.isoformat(),
            "end": (start + timedelta(days=2)).isoformat(),
            "kind": "owner_block",
        },
    )
    assert response.status_code == 403
    assert not Booking.objects.exists()


def test_the_calendar_costs_the_same_queries_for_more_properties_and_stays(
    tenant: Tenant, outsider: Tenant
) -> None:
    make_busy_day(tenant)
    make_busy_day(outsider, extra_properties=8)
    group = PropertyGroup.objects.create(business=outsider.business, name="Hills")
    for n in range(5):
        prop = PropertyFactory(business=outsider.business, name=f"Grouped {n}", group=group)
        stay(prop, business_today(outsider.business) + timedelta(days=n), 3)

    def count(t: Tenant) -> int:
        client = t.admin_client()
        client.get("/dashboard/calendar/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/dashboard/calendar/").status_code == 200
        return len(queries)

    assert count(outsider) == count(tenant)


def test_a_row_shares_the_pages_free_nights_and_reads_as_its_own(owner: Client, day: Day) -> None:
    start, end = month_start(day.today), month_end(month_start(day.today))
    free = free_nights(start, end)
    shared = booking_cells([day.staying], start, end, set(), free=free)
    assert shared == booking_cells([day.staying], start, end, set())
    assert all(c is free[c.day] for c in shared if c.booking is None and c.day is not None)
    assert sum(c.span for c in shared) == (end - start).days
