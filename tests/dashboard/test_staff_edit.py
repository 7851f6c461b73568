"""Adding and editing staff on the dashboard, and the properties a cleaner cleans."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from messaging.errors import NotFound
from messaging.models import PropertyMessaging, Staff
from messaging.services.staff import StaffInvalid, staff_save
from properties.models import Membership, PropertyGroup, User
from properties.permissions import NotAllowed
from tests.conftest import APP_HOST, Tenant
from tests.factories import MembershipFactory, PropertyFactory

Role = Membership.Role


def _client(user: User) -> Client:
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(user)
    return client


@pytest.fixture
def hotels(tenant: Tenant) -> dict[str, Any]:
    a = PropertyGroup.objects.create(business=tenant.business, name="Hotel A")
    b = PropertyGroup.objects.create(business=tenant.business, name="Hotel B")
    room_a = PropertyFactory(business=tenant.business, group=a, name="Room A1")
    room_b = PropertyFactory(business=tenant.business, group=b, name="Room B1")
    manager = MembershipFactory(business=tenant.business, role=Role.GROUP_MANAGER)
    manager.groups.set([a])
    return {"a": a, "b": b, "room_a": room_a, "room_b": room_b, "manager": manager.user}


def _cleaner_of(prop: Any) -> Staff | None:
    row = PropertyMessaging.objects.filter(property=prop).first()
    return row.default_cleaner if row else None


def _form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Maria Lopes",
        "email": "Maria@Clean.example.com",
        "phone": "+351 900 000 000",
        "kind": "cleaner",
        "active": "on",
    }
    data.update(changes)
    return data


def test_the_owner_adds_a_cleaner_for_two_properties(tenant: Tenant) -> None:
    other = PropertyFactory(business=tenant.business)
    client = _client(tenant.owner)
    assert client.get("/dashboard/staff/new/").status_code == 200
    response = client.post("/dashboard/staff/new/", _form(properties=[tenant.prop.pk, other.pk]))
    assert response.status_code == 302
    maria = Staff.objects.get(business=tenant.business)
    assert maria.email == "maria@clean.example.com"
    assert _cleaner_of(tenant.prop) == maria
    assert _cleaner_of(other) == maria
    page = client.get("/dashboard/staff/").content.decode()
    assert f"/dashboard/staff/{maria.pk}/" in page
    # Taken off one property: it no longer has her as its cleaner.
    edit = client.post(f"/dashboard/staff/{maria.pk}/", _form(properties=[other.pk]))
    assert edit.status_code == 302
    assert _cleaner_of(tenant.prop) is None
    assert _cleaner_of(other) == maria


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not an email"}, "email"),
        ({"name": ""}, "name"),
        ({"kind": "boss"}, "kind"),
    ],
)
def test_bad_details_are_form_errors(tenant: Tenant, changes: dict[str, Any], field: str) -> None:
    response = _client(tenant.owner).post("/dashboard/staff/new/", _form(**changes))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not Staff.objects.filter(business=tenant.business).exists()


def test_only_an_active_cleaner_cleans_properties(tenant: Tenant) -> None:
    client = _client(tenant.owner)
    repair = client.post("/dashboard/staff/new/", _form(kind="repair", properties=[tenant.prop.pk]))
    assert repair.status_code == 400
    assert repair.context["form"].errors["properties"]
    inactive = _form(properties=[tenant.prop.pk])
    del inactive["active"]
    assert client.post("/dashboard/staff/new/", inactive).status_code == 400
    assert not Staff.objects.filter(business=tenant.business).exists()


def test_a_group_manager_works_with_the_cleaners_of_their_groups(
    tenant: Tenant, hotels: dict[str, Any]
) -> None:
    manager = hotels["manager"]
    client = _client(manager)
    # A new cleaner needs one of their properties; another group's is not theirs.
    assert client.post("/dashboard/staff/new/", _form()).status_code == 400
    other_group = client.post("/dashboard/staff/new/", _form(properties=[hotels["room_b"].pk]))
    assert other_group.status_code == 400  # not a choice of the form
    assert client.post("/dashboard/staff/new/", _form(kind="repair")).status_code == 400
    made = client.post("/dashboard/staff/new/", _form(properties=[hotels["room_a"].pk]))
    assert made.status_code == 302
    maria = Staff.objects.get(business=tenant.business)
    assert client.get(f"/dashboard/staff/{maria.pk}/").status_code == 200
    # Someone who cleans only another group's properties: 404 for them.
    bob = staff_save(
        by=tenant.owner,
        business=tenant.business,
        values={"name": "Bob", "email": "bob@example.com", "kind": "cleaner", "active": True},
        properties=[hotels["room_b"]],
    )
    assert client.get(f"/dashboard/staff/{bob.pk}/").status_code == 404
    assert client.post(f"/dashboard/staff/{bob.pk}/", _form(name="Bobby")).status_code == 404
    with pytest.raises(NotFound):
        staff_save(
            by=manager, business=tenant.business, staff=bob, values={"name": "X"}, properties=[]
        )
    # Maria also cleans room B (the owner's doing): the manager's edit keeps that.
    staff_save(
        by=tenant.owner,
        business=tenant.business,
        staff=maria,
        values={},
        properties=[hotels["room_a"], hotels["room_b"]],
    )
    assert client.post(f"/dashboard/staff/{maria.pk}/", _form(name="Maria L.")).status_code == 302
    assert _cleaner_of(hotels["room_a"]) is None
    assert _cleaner_of(hotels["room_b"]).name == "Maria L."  # type: ignore[union-attr]


def test_who_may_manage_staff(tenant: Tenant, outsider: Tenant) -> None:
    maria = staff_save(
        by=tenant.owner,
        business=tenant.business,
        values={"name": "Maria", "email": "m@example.com", "kind": "cleaner", "active": True},
        properties=[tenant.prop],
    )
    desk = MembershipFactory(business=tenant.business, role=Role.FRONT_DESK).user
    viewer = MembershipFactory(business=tenant.business, role=Role.VIEWER).user
    manager = MembershipFactory(business=tenant.business, role=Role.MANAGER).user
    for user, want in ((desk, 403), (viewer, 403), (manager, 200), (outsider.owner, 404)):
        assert _client(user).get(f"/dashboard/staff/{maria.pk}/").status_code == want
    with pytest.raises(NotAllowed):
        staff_save(
            by=desk,
            business=tenant.business,
            values={"name": "X", "email": "x@example.com"},
            properties=[],
        )
    with pytest.raises(StaffInvalid):
        staff_save(
            by=tenant.owner,
            business=tenant.business,
            values={"name": "X", "email": "nope"},
            properties=[],
        )
