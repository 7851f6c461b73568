"""The team page and invitations: invite by email with a role and groups, an expiring
link, accept after signing in with the invited address, resend, revoke, change, remove."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from properties.models import Invitation, Membership, PropertyGroup
from properties.permissions import NotAllowed
from properties.services.invitations import (
    InvitationInvalid,
    invitation_accept,
    invitation_create,
)
from tests.conftest import APP_HOST, Tenant
from tests.factories import MembershipFactory, UserFactory

Role = Membership.Role


def _client(user: object | None = None) -> Client:
    client = Client(HTTP_HOST=APP_HOST)
    if user is not None:
        client.force_login(user)  # type: ignore[arg-type]
    return client


def _link(message: mail.EmailMessage) -> str:
    found = re.search(r"https?://[^/\s]+(/invite/[^/\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


@pytest.fixture
def hotel(tenant: Tenant) -> PropertyGroup:
    return PropertyGroup.objects.create(business=tenant.business, name="Hotel A")


def test_an_owner_invites_a_group_manager_who_accepts(
    tenant: Tenant, hotel: PropertyGroup, django_capture_on_commit_callbacks
) -> None:
    owner = _client(tenant.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(
            "/dashboard/team/invite/",
            {"email": "Hana@Example.com", "role": Role.GROUP_MANAGER, "groups": [hotel.pk]},
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["hana@example.com"]
    link = _link(mail.outbox[0])
    invitation = Invitation.objects.get(email="hana@example.com")
    assert invitation.token_hash not in mail.outbox[0].body  # only the hash is stored

    anonymous = _client().get(link)
    assert anonymous.status_code == 200
    assert b"Sign in with hana@example.com" in anonymous.content

    hana = UserFactory(email="hana@example.com")
    client = _client(hana)
    accepted = client.post(link)
    assert accepted.status_code == 302
    membership = Membership.objects.get(user=hana, business=tenant.business)
    assert membership.role == Role.GROUP_MANAGER
    assert list(membership.groups.all()) == [hotel]
    assert client.get(link).status_code == 404  # used


def test_another_address_cannot_accept(tenant: Tenant, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            by=tenant.owner, business=tenant.business, email="a@example.com", role=Role.VIEWER
        )
    link = _link(mail.outbox[0])
    stranger = _client(UserFactory(email="b@example.com"))
    response = stranger.post(link)
    assert response.status_code == 403
    assert b"is for a@example.com" in response.content
    assert not Membership.objects.filter(business=tenant.business, role=Role.VIEWER).exists()


def test_an_expired_or_revoked_link_does_not_work(
    tenant: Tenant, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(
            by=tenant.owner, business=tenant.business, email="a@example.com", role=Role.VIEWER
        )
    link = _link(mail.outbox[0])
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    user = UserFactory(email="a@example.com")
    assert _client(user).post(link).status_code == 404
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() + timedelta(days=1)
    )
    owner = _client(tenant.owner)
    assert owner.post(f"/dashboard/team/invitations/{invitation.pk}/revoke/").status_code == 302
    assert _client(user).post(link).status_code == 404


def test_resending_sends_a_new_link_and_the_old_one_stops(
    tenant: Tenant, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(
            by=tenant.owner, business=tenant.business, email="a@example.com", role=Role.VIEWER
        )
    old = _link(mail.outbox[0])
    with django_capture_on_commit_callbacks(execute=True):
        _client(tenant.owner).post(f"/dashboard/team/invitations/{invitation.pk}/resend/")
    new = _link(mail.outbox[1])
    assert new != old
    user = UserFactory(email="a@example.com")
    assert _client(user).post(old).status_code == 404
    assert _client(user).post(new).status_code == 302


def test_a_manager_cannot_invite_an_owner_but_may_invite_front_desk(
    tenant: Tenant, hotel: PropertyGroup
) -> None:
    manager = MembershipFactory(business=tenant.business, role=Role.MANAGER).user
    with pytest.raises(NotAllowed):
        invitation_create(
            by=manager, business=tenant.business, email="x@example.com", role=Role.OWNER
        )
    response = _client(manager).post(
        "/dashboard/team/invite/", {"email": "x@example.com", "role": Role.OWNER}
    )
    assert response.status_code == 400  # not a choice on the form
    ok = _client(manager).post(
        "/dashboard/team/invite/",
        {"email": "y@example.com", "role": Role.FRONT_DESK, "groups": [hotel.pk]},
    )
    assert ok.status_code == 302


def test_a_group_role_needs_a_group(tenant: Tenant) -> None:
    response = _client(tenant.owner).post(
        "/dashboard/team/invite/", {"email": "x@example.com", "role": Role.FRONT_DESK}
    )
    assert response.status_code == 400
    assert b"Choose at least one group" in response.content
    assert not Invitation.objects.exists()


def test_another_business_group_is_refused(tenant: Tenant, outsider: Tenant) -> None:
    theirs = PropertyGroup.objects.create(business=outsider.business, name="Theirs")
    response = _client(tenant.owner).post(
        "/dashboard/team/invite/",
        {"email": "x@example.com", "role": Role.FRONT_DESK, "groups": [theirs.pk]},
    )
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_the_owner_changes_a_role_and_removes_a_member(
    tenant: Tenant, hotel: PropertyGroup
) -> None:
    member = MembershipFactory(business=tenant.business, role=Role.MANAGER)
    owner = _client(tenant.owner)
    response = owner.post(
        f"/dashboard/team/members/{member.pk}/",
        {"role": Role.FRONT_DESK, "groups": [hotel.pk]},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.FRONT_DESK
    assert list(member.groups.all()) == [hotel]
    assert owner.post(f"/dashboard/team/members/{member.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_the_last_owner_cannot_be_removed_from_the_team_page(tenant: Tenant) -> None:
    owner = Membership.objects.get(business=tenant.business, user=tenant.owner)
    client = _client(tenant.owner)
    client.post(f"/dashboard/team/members/{owner.pk}/remove/")
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_a_manager_cannot_change_an_owner(tenant: Tenant) -> None:
    owner = Membership.objects.get(business=tenant.business, user=tenant.owner)
    manager = MembershipFactory(business=tenant.business, role=Role.MANAGER).user
    response = _client(manager).post(f"/dashboard/team/members/{owner.pk}/", {"role": Role.VIEWER})
    assert response.status_code == 403
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_an_unknown_link_is_refused(tenant: Tenant) -> None:
    with pytest.raises(InvitationInvalid):
        invitation_accept(user=tenant.owner, raw="not-a-token")
    assert _client(tenant.owner).get("/invite/not-a-token/").status_code == 404


def test_outsiders_get_404_for_the_team_objects(tenant: Tenant, outsider: Tenant) -> None:
    member = MembershipFactory(business=tenant.business, role=Role.VIEWER)
    invitation = invitation_create(
        by=tenant.owner, business=tenant.business, email="a@example.com", role=Role.VIEWER
    )
    client = _client(outsider.owner)
    assert client.get(f"/dashboard/team/members/{member.pk}/").status_code == 404
    assert client.post(f"/dashboard/team/invitations/{invitation.pk}/revoke/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_the_admin_adds_only_existing_accounts_and_points_to_invitations(tenant: Tenant) -> None:
    response = _client(tenant.owner).post(
        "/admin/properties/membership/add/",
        {"email": "stranger@example.com", "role": Role.VIEWER},
    )
    assert response.status_code == 200
    assert "invite them from the Team page" in str(response.context["adminform"].form.errors)
    assert not Membership.objects.filter(user__email="stranger@example.com").exists()
