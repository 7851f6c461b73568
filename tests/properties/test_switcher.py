"""The business switcher: a person in several businesses picks the one they act for;
the choice is re-checked against their memberships on every request."""

from __future__ import annotations

from django.test import Client

from properties.access import SESSION_KEY
from properties.models import Membership, PropertyGroup
from tests.conftest import APP_HOST, Tenant, make_tenant
from tests.factories import MembershipFactory, PropertyFactory


def _client(user: object) -> Client:
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_a_front_desk_member_of_one_business_and_owner_of_another_switches(
    tenant: Tenant,
) -> None:
    other = make_tenant("hills")
    group = PropertyGroup.objects.create(business=other.business, name="Hotel A")
    PropertyFactory(business=other.business, group=group, name="Room 101")
    desk = MembershipFactory(
        business=other.business, user=tenant.owner, role=Membership.Role.FRONT_DESK
    )
    desk.groups.set([group])
    client = _client(tenant.owner)
    html = client.get("/dashboard/").content.decode()
    assert 'id="switch-business"' in html
    assert "Hills" in html
    assert client.post("/dashboard/switch/", {"business": other.business.pk}).status_code == 302
    calendar = client.get("/dashboard/calendar/").content.decode()
    assert "Room 101" in calendar
    assert tenant.prop.name not in calendar
    # Front desk: no reports in that business.
    assert client.get("/dashboard/reports/").status_code == 403


def test_a_removed_membership_stops_the_next_request(tenant: Tenant) -> None:
    other = make_tenant("hills")
    membership = MembershipFactory(
        business=other.business, user=tenant.owner, role=Membership.Role.MANAGER
    )
    client = _client(tenant.owner)
    client.post("/dashboard/switch/", {"business": other.business.pk})
    assert client.session[SESSION_KEY] == other.business.pk
    membership.delete()
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert page.context["acting"].business == tenant.business
    assert SESSION_KEY not in client.session


def test_a_staff_membership_is_not_offered_and_cannot_be_chosen(tenant: Tenant) -> None:
    other = make_tenant("hills")
    MembershipFactory(business=other.business, user=tenant.owner, role=Membership.Role.STAFF)
    client = _client(tenant.owner)
    assert 'id="switch-business"' not in client.get("/dashboard/").content.decode()
    assert client.post("/dashboard/switch/", {"business": other.business.pk}).status_code == 404


def test_the_admin_and_api_follow_the_switch(tenant: Tenant) -> None:
    other = make_tenant("hills")
    MembershipFactory(business=other.business, user=tenant.owner, role=Membership.Role.MANAGER)
    client = _client(tenant.owner)
    client.post("/dashboard/switch/", {"business": other.business.pk})
    ids = {row["id"] for row in client.get("/api/v1/properties/").json()["results"]}
    assert ids == {other.prop.pk}
    admin = client.get("/admin/properties/property/")
    shown = set(admin.context["cl"].queryset.values_list("pk", flat=True))
    assert shown == {other.prop.pk}


def test_switching_requires_post(tenant: Tenant) -> None:
    assert _client(tenant.owner).get("/dashboard/switch/").status_code == 405
