"""A business of many properties (a hotel chain) sees its calendar one group at a time:
the member's first group unless another is chosen, links to the groups before and
after, no "all of them" row set, and the block form stays on the group shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bookings.dashboard import calendar
from bookings.models import Booking
from properties.models import Membership, PropertyGroup
from tests.conftest import Tenant
from tests.dashboard.conftest import business_today
from tests.factories import MembershipFactory, PropertyFactory, UserFactory


@pytest.fixture
def hotels(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> list[PropertyGroup]:
    """Three hotels of two rooms each; above two properties a calendar shows one group."""
    monkeypatch.setattr(calendar, "ONE_GROUP_ABOVE", 2)
    groups = []
    for name in ("Alpha", "Bravo", "Charlie"):
        group = PropertyGroup.objects.create(business=tenant.business, name=name)
        for room in (1, 2):
            PropertyFactory(business=tenant.business, name=f"{name} room {room}", group=group)
        groups.append(group)
    return groups


def test_many_properties_show_the_first_group_with_links_to_the_next(
    owner: Client, hotels: list[PropertyGroup]
) -> None:
    html = owner.get("/dashboard/calendar/?month=2031-03").content.decode()
    assert "Alpha room 1" in html
    assert "Bravo room 1" not in html
    assert '<option value="">All' not in html
    assert f'href="/dashboard/calendar/?month=2031-03&amp;group={hotels[1].pk}"' in html
    assert "one group of 4 at a time" in html  # the three hotels, and the rest


def test_a_chosen_group_links_both_ways_and_keeps_the_group_across_months(
    owner: Client, hotels: list[PropertyGroup]
) -> None:
    bravo = hotels[1]
    html = owner.get(f"/dashboard/calendar/?month=2031-03&group={bravo.pk}").content.decode()
    assert "Bravo room 2" in html
    assert "Alpha room 1" not in html
    assert f"?month=2031-03&amp;group={hotels[0].pk}" in html
    assert f"?month=2031-03&amp;group={hotels[2].pk}" in html
    assert f"?month=2031-04&amp;group={bravo.pk}" in html  # next month, same group
    assert f'<input type="hidden" name="group" value="{bravo.pk}">' in html


def test_properties_in_no_group_come_last(
    owner: Client, tenant: Tenant, hotels: list[PropertyGroup]
) -> None:
    html = owner.get(f"/dashboard/calendar/?group={hotels[2].pk}").content.decode()
    assert "group=none" in html
    html = owner.get("/dashboard/calendar/?group=none").content.decode()
    assert tenant.prop.name in html
    assert "Charlie room 1" not in html


def test_an_unknown_group_falls_back_to_the_first(
    owner: Client, hotels: list[PropertyGroup]
) -> None:
    html = owner.get("/dashboard/calendar/?group=nonsense").content.decode()
    assert "Alpha room 1" in html
    assert "Bravo room 1" not in html


def test_a_group_manager_lands_on_their_hotel(tenant: Tenant, hotels: list[PropertyGroup]) -> None:
    user = UserFactory()
    membership = MembershipFactory(
        user=user, business=tenant.business, role=Membership.Role.GROUP_MANAGER
    )
    membership.groups.set([hotels[2]])
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    html = client.get("/dashboard/calendar/").content.decode()
    assert "Charlie room 1" in html
    assert "Alpha room 1" not in html
    assert 'id="cal-group"' not in html  # one group: nothing to pick


def test_the_block_form_offers_and_returns_to_the_group_shown(
    owner: Client, tenant: Tenant, hotels: list[PropertyGroup]
) -> None:
    bravo = hotels[1]
    room = bravo.properties.order_by("name").first()
    assert room is not None
    start = business_today(tenant.business) + timedelta(days=40)
    response = owner.post(
        "/dashboard/calendar/block/",
        {
            "property": room.pk,
            "start": start.isoformat(),
            "end": (start + timedelta(days=2)).isoformat(),
            "kind": "owner_block",
            "note": "",
            "month": f"{start:%Y-%m}",
            "group": bravo.pk,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/calendar/?month={start:%Y-%m}&group={bravo.pk}"
    assert Booking.objects.get(kind=Booking.Kind.OWNER_BLOCK).property_id == room.pk
    # A room of another group than the one posted is not on offer: a form error.
    other = hotels[2].properties.first()
    assert other is not None
    response = owner.post(
        "/dashboard/calendar/block/",
        {
            "property": other.pk,
            "start": start.isoformat(),
            "end": (start + timedelta(days=2)).isoformat(),
            "kind": "owner_block",
            "month": f"{start:%Y-%m}",
            "group": bravo.pk,
        },
    )
    assert response.status_code == 400
    assert "Charlie room" not in response.content.decode().split('id="block-form"')[0]


def test_one_group_costs_the_same_queries_as_the_whole_small_business(
    owner: Client, tenant: Tenant, hotels: list[PropertyGroup], monkeypatch: pytest.MonkeyPatch
) -> None:
    def count() -> int:
        owner.get("/dashboard/calendar/")
        with CaptureQueriesContext(connection) as queries:
            assert owner.get("/dashboard/calendar/").status_code == 200
        return len(queries)

    one_group = count()
    monkeypatch.setattr(calendar, "ONE_GROUP_ABOVE", 1000)
    assert count() == one_group


def test_a_large_group_comes_a_page_of_rows_at_a_time(
    owner: Client, hotels: list[PropertyGroup], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calendar, "ROWS_PER_PAGE", 1)
    alpha = hotels[0]
    first = owner.get(f"/dashboard/calendar/?month=2031-03&group={alpha.pk}").content.decode()
    assert 'title="Bookings of Alpha room 1"' in first
    assert 'title="Bookings of Alpha room 2"' not in first
    assert "Properties 1\u20131 of 2" in first
    assert f"?month=2031-03&amp;group={alpha.pk}&amp;rows=2" in first
    second = owner.get(
        f"/dashboard/calendar/?month=2031-03&group={alpha.pk}&rows=2"
    ).content.decode()
    assert 'title="Bookings of Alpha room 2"' in second
    assert 'title="Bookings of Alpha room 1"' not in second
    assert f"?month=2031-04&amp;group={alpha.pk}&amp;rows=2" in second  # next month, same rows
    # The block form still offers every room of the group.
    assert ">Alpha room 1</option>" in second
