"""The dashboard's business settings page, and the two-factor rule on it (owners)."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.test import Client

from properties.models import Business, Membership, User
from tests.conftest import APP_HOST, Tenant
from tests.factories import MembershipFactory

Role = Membership.Role


def _client(user: User) -> Client:
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(user)
    return client


def _form(business: Business, **changes: Any) -> dict[str, Any]:
    data = {
        "name": business.name,
        "contact_email": business.contact_email,
        "timezone": business.timezone,
        "about": business.about,
        "accent_colour": business.accent_colour,
        "currency": business.currency,
        **{f"languages_{i}": code for i, code in enumerate(business.languages)},
    }
    if business.require_owner_two_factor:
        data["require_owner_two_factor"] = "on"
    data.update(changes)
    return data


def test_the_owner_sees_who_uses_two_factor_and_turns_the_rule_on(tenant: Tenant) -> None:
    second = MembershipFactory(business=tenant.business, role=Role.OWNER).user
    Authenticator.objects.create(user=second, type=Authenticator.Type.TOTP, data={})
    client = _client(tenant.owner)
    page = client.get("/dashboard/settings/")
    assert page.status_code == 200
    owners = {o["user"].email: o["enabled"] for o in page.context["owners"]}
    assert owners == {tenant.owner.email: False, second.email: True}
    assert b"/accounts/2fa/totp/activate/" in page.content or b"mfa" in page.content
    response = client.post(
        "/dashboard/settings/", _form(tenant.business, require_owner_two_factor="on")
    )
    assert response.status_code == 302
    tenant.business.refresh_from_db()
    assert tenant.business.require_owner_two_factor is True
    # This owner has no second factor yet: the dashboard sends them to set it up.
    follow = client.get("/dashboard/settings/")
    assert follow.status_code == 302
    assert "/2fa/" in follow["Location"]


def test_a_manager_edits_the_business_but_not_the_two_factor_rule(tenant: Tenant) -> None:
    manager = MembershipFactory(business=tenant.business, role=Role.MANAGER).user
    client = _client(manager)
    page = client.get("/dashboard/settings/")
    assert page.status_code == 200
    assert "require_owner_two_factor" not in page.context["form"].fields
    assert b"Two-factor sign-in</legend>" not in page.content
    response = client.post(
        "/dashboard/settings/",
        _form(tenant.business, name="Seaside Homes", require_owner_two_factor="on"),
    )
    assert response.status_code == 302
    tenant.business.refresh_from_db()
    assert tenant.business.name == "Seaside Homes"
    assert tenant.business.require_owner_two_factor is False


def test_bad_settings_are_form_errors(tenant: Tenant) -> None:
    client = _client(tenant.owner)
    for changes, field in (
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"contact_email": "nope"}, "contact_email"),
        ({"accent_colour": "red"}, "accent_colour"),
        ({"name": ""}, "name"),
    ):
        response = client.post("/dashboard/settings/", _form(tenant.business, **changes))
        assert response.status_code == 400, changes
        assert response.context["form"].errors[field]


def test_who_gets_the_settings_page(tenant: Tenant) -> None:
    for role, want in (
        (Role.GROUP_MANAGER, 403),
        (Role.FRONT_DESK, 403),
        (Role.VIEWER, 403),
        (Role.STAFF, 403),
    ):
        user = MembershipFactory(business=tenant.business, role=role).user
        assert _client(user).get("/dashboard/settings/").status_code == want, role
    owner_nav = _client(tenant.owner).get("/dashboard/").content
    assert b"/dashboard/settings/" in owner_nav
    viewer = MembershipFactory(business=tenant.business, role=Role.VIEWER).user
    assert b"/dashboard/settings/" not in _client(viewer).get("/dashboard/").content
