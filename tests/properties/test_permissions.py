"""Owners and managers: only an owner touches an owner's membership, mints API tokens
or makes owners, and a business always keeps an owner (services, admin, database)."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from properties import permissions
from properties.models import ApiToken, Business, Membership
from properties.permissions import NotAllowed, permits
from properties.services import (
    LastOwner,
    api_token_create,
    membership_change,
    membership_remove,
)
from tests.conftest import Tenant, make_tenant
from tests.factories import MembershipFactory, UserFactory

OWNER, MANAGER, STAFF = Membership.Role.OWNER, Membership.Role.MANAGER, Membership.Role.STAFF


def _url(model: type, action: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def _client(membership: Membership) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(membership.user)
    return client


@pytest.fixture
def owner(tenant: Tenant) -> Membership:
    return Membership.objects.get(business=tenant.business, user=tenant.owner)


@pytest.fixture
def manager(tenant: Tenant) -> Membership:
    return MembershipFactory(business=tenant.business, role=MANAGER)


def _membership_form(membership: Membership, role: str) -> dict[str, str]:
    return {"email": membership.user.email, "role": role, "group": ""}


# --- Through the admin -------------------------------------------------------------------


def test_a_manager_cannot_demote_the_owner(owner: Membership, manager: Membership) -> None:
    client = _client(manager)
    page = client.get(_url(Membership, "change", owner.pk))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    response = client.post(_url(Membership, "change", owner.pk), _membership_form(owner, STAFF))
    assert response.status_code == 403
    owner.refresh_from_db()
    assert owner.role == OWNER


def test_a_manager_cannot_remove_the_owner(owner: Membership, manager: Membership) -> None:
    client = _client(manager)
    response = client.post(_url(Membership, "delete", owner.pk), {"post": "yes"})
    assert response.status_code == 403
    response = client.post(
        _url(Membership, "changelist"),
        {"action": "delete_selected", "_selected_action": [owner.pk], "post": "yes"},
    )
    assert response.status_code in (302, 403)
    assert Membership.objects.filter(pk=owner.pk, role=OWNER).exists()


def test_a_manager_cannot_make_anyone_an_owner(
    tenant: Tenant, owner: Membership, manager: Membership
) -> None:
    client = _client(manager)
    response = client.post(
        _url(Membership, "add"), {"email": "friend@example.com", "role": OWNER, "group": ""}
    )
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    assert not Membership.objects.filter(user__email="friend@example.com").exists()
    response = client.post(_url(Membership, "change", manager.pk), _membership_form(manager, OWNER))
    assert response.status_code == 200
    manager.refresh_from_db()
    assert manager.role == MANAGER


def test_a_manager_still_manages_other_members(tenant: Tenant, manager: Membership) -> None:
    UserFactory(email="cleaner@example.com")
    client = _client(manager)
    response = client.post(
        _url(Membership, "add"), {"email": "cleaner@example.com", "role": STAFF, "group": ""}
    )
    assert response.status_code == 302
    added = Membership.objects.get(business=tenant.business, user__email="cleaner@example.com")
    response = client.post(_url(Membership, "change", added.pk), _membership_form(added, MANAGER))
    assert response.status_code == 302
    added.refresh_from_db()
    assert added.role == MANAGER
    response = client.post(_url(Membership, "delete", added.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=added.pk).exists()


def test_only_owners_mint_api_tokens(tenant: Tenant, manager: Membership) -> None:
    client = _client(manager)
    assert client.get(_url(ApiToken, "add")).status_code == 403
    assert client.post(_url(ApiToken, "add"), {"name": "Mine"}).status_code == 403
    assert not ApiToken.objects.filter(business=tenant.business).exists()
    with pytest.raises(NotAllowed):
        api_token_create(business=tenant.business, user=manager.user)
    response = tenant.admin_client().post(_url(ApiToken, "add"), {"name": "Owner's"})
    assert response.status_code == 302
    assert ApiToken.objects.filter(business=tenant.business, name="Owner's").exists()


def test_a_manager_cannot_revoke_the_owners_token(tenant: Tenant, manager: Membership) -> None:
    token, _ = api_token_create(business=tenant.business, user=tenant.owner)
    client = _client(manager)
    response = client.post(
        _url(ApiToken, "changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_last_owner_cannot_step_down_or_leave(tenant: Tenant, owner: Membership) -> None:
    client = tenant.admin_client()
    response = client.post(
        _url(Membership, "change", owner.pk), _membership_form(owner, MANAGER), follow=True
    )
    assert "at least one owner" in response.content.decode()
    response = client.post(_url(Membership, "delete", owner.pk), {"post": "yes"}, follow=True)
    assert "at least one owner" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == OWNER


def test_an_owner_hands_over_to_another_owner(tenant: Tenant, owner: Membership) -> None:
    client = tenant.admin_client()
    second = MembershipFactory(business=tenant.business, role=MANAGER)
    response = client.post(_url(Membership, "change", second.pk), _membership_form(second, OWNER))
    assert response.status_code == 302
    response = client.post(_url(Membership, "change", owner.pk), _membership_form(owner, MANAGER))
    assert response.status_code == 302
    second.refresh_from_db()
    owner.refresh_from_db()
    assert (second.role, owner.role) == (OWNER, MANAGER)


def test_members_of_another_business_are_not_reachable(
    tenant: Tenant, outsider: Tenant, manager: Membership
) -> None:
    theirs = Membership.objects.get(business=outsider.business)
    response = _client(manager).get(_url(Membership, "change", quote(theirs.pk)))
    assert response.status_code == 404


# --- The rules themselves -----------------------------------------------------------------


def test_services_apply_the_same_rules(owner: Membership, manager: Membership) -> None:
    with pytest.raises(NotAllowed):
        membership_change(by=manager.user, membership=owner, role=STAFF)
    with pytest.raises(NotAllowed):
        membership_remove(by=manager.user, membership=owner)
    with pytest.raises(LastOwner):
        membership_change(by=owner.user, membership=owner, role=MANAGER)
    with pytest.raises(LastOwner):
        membership_remove(by=owner.user, membership=owner)


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        (OWNER, permissions.CREATE_API_TOKEN, True),
        (MANAGER, permissions.CREATE_API_TOKEN, False),
        (MANAGER, permissions.SET_CUSTOM_DOMAIN, False),
        (MANAGER, permissions.RENAME_SITE, False),
        (MANAGER, permissions.GRANT_OWNER, False),
        (MANAGER, permissions.EDIT_BUSINESS, True),
        (MANAGER, permissions.ADD_MEMBER, True),
        (STAFF, permissions.EDIT_BUSINESS, False),
        (STAFF, permissions.VIEW_DASHBOARD, False),
    ],
)
def test_permission_table(role: str, action: str, allowed: bool) -> None:
    assert permits(Membership(role=role, business_id=1), action) is allowed


def test_permissions_stop_at_the_business(owner: Membership, outsider: Tenant) -> None:
    theirs = Membership.objects.get(business=outsider.business)
    assert not permits(owner, permissions.CHANGE_MEMBER, theirs)
    assert not permits(None, permissions.EDIT_BUSINESS)
    with pytest.raises(ValueError, match="Unknown action"):
        permits(owner, "business.sell")


def test_the_database_refuses_to_leave_a_business_without_an_owner(owner: Membership) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS membership_keeps_an_owner IMMEDIATE")
    with pytest.raises(IntegrityError, match="without an owner"), transaction.atomic():
        Membership.objects.filter(pk=owner.pk).update(role=MANAGER)


@pytest.mark.django_db(transaction=True)
def test_the_owner_guard_checks_at_commit_and_lets_a_business_go() -> None:
    tenant = make_tenant("guarded")
    with pytest.raises(IntegrityError, match="without an owner"), transaction.atomic():
        Membership.objects.filter(business=tenant.business).delete()
    assert Membership.objects.filter(business=tenant.business, role=OWNER).exists()
    with transaction.atomic():
        tenant.business.delete()
    assert not Business.objects.filter(slug="guarded").exists()
