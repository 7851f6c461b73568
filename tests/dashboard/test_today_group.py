"""Today for one group: `?group=<id>` narrows the owner's day to that hotel's stays; a
group outside the member's scope, or nonsense, leaves the page as it was."""

from __future__ import annotations

import pytest
from django.test import Client

from properties.models import Membership, PropertyGroup
from tests.conftest import Tenant
from tests.dashboard.conftest import business_today, stay
from tests.factories import MembershipFactory, PropertyFactory, UserFactory


@pytest.fixture
def hotels(tenant: Tenant) -> tuple[PropertyGroup, PropertyGroup]:
    today = business_today(tenant.business)
    made = []
    for name, guest in (("Alpha", "Ada Alpha"), ("Bravo", "Bob Bravo")):
        group = PropertyGroup.objects.create(business=tenant.business, name=name)
        stay(PropertyFactory(business=tenant.business, group=group), today, 2, name=guest)
        made.append(group)
    return made[0], made[1]


def test_the_owner_sees_one_hotels_day(
    owner: Client, hotels: tuple[PropertyGroup, PropertyGroup]
) -> None:
    alpha, _ = hotels
    everything = owner.get("/dashboard/").content.decode()
    assert "Ada Alpha" in everything
    assert "Bob Bravo" in everything
    one = owner.get(f"/dashboard/?group={alpha.pk}").content.decode()
    assert "Ada Alpha" in one
    assert "Bob Bravo" not in one


def test_another_business_group_or_nonsense_changes_nothing(
    owner: Client, hotels: tuple[PropertyGroup, PropertyGroup], outsider: Tenant
) -> None:
    theirs = PropertyGroup.objects.create(business=outsider.business, name="Theirs")
    for raw in (str(theirs.pk), "x", "999999"):
        html = owner.get(f"/dashboard/?group={raw}").content.decode()
        assert "Ada Alpha" in html
        assert "Bob Bravo" in html


def test_a_group_manager_cannot_widen_their_day(
    tenant: Tenant, hotels: tuple[PropertyGroup, PropertyGroup]
) -> None:
    alpha, bravo = hotels
    user = UserFactory()
    membership = MembershipFactory(
        user=user, business=tenant.business, role=Membership.Role.GROUP_MANAGER
    )
    membership.groups.set([alpha])
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    for url in ("/dashboard/", f"/dashboard/?group={bravo.pk}"):
        html = client.get(url).content.decode()
        assert "Ada Alpha" in html
        assert "Bob Bravo" not in html
