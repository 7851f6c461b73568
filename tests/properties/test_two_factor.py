"""Two-factor sign-in (allauth's MFA: authenticator app codes and recovery codes),
available to every dashboard user and required of owners when their business says so."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.test import Client

from properties import permissions
from properties.models import Business, Membership
from properties.services import business_save
from tests.conftest import APP_HOST, Tenant
from tests.factories import MembershipFactory


def _client(user: object) -> Client:
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _require(business: Business) -> None:
    Business.objects.filter(pk=business.pk).update(require_owner_two_factor=True)


def test_every_dashboard_user_can_reach_the_two_factor_setup(tenant: Tenant) -> None:
    desk = MembershipFactory(business=tenant.business, role=Membership.Role.VIEWER).user
    client = _client(desk)
    assert b"Two-factor sign-in" in client.get("/dashboard/").content
    assert client.get("/accounts/2fa/").status_code == 200
    # Setting it up asks for the password again first (allauth's reauthentication).
    activate = client.get("/accounts/2fa/totp/activate/")
    assert activate.status_code in (200, 302)
    if activate.status_code == 302:
        assert activate["Location"].startswith("/accounts/reauthenticate/")


def test_an_owner_without_two_factor_is_sent_to_set_it_up_when_required(tenant: Tenant) -> None:
    _require(tenant.business)
    client = _client(tenant.owner)
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"
    admin = client.get("/admin/")
    assert admin.status_code == 302
    assert admin["Location"] == "/accounts/2fa/totp/activate/"


def test_an_owner_with_two_factor_works_normally(tenant: Tenant) -> None:
    _require(tenant.business)
    Authenticator.objects.create(
        user=tenant.owner, type=Authenticator.Type.TOTP, data={"secret": "x"}
    )
    assert _client(tenant.owner).get("/dashboard/").status_code == 200


def test_the_rule_is_for_owners_only(tenant: Tenant) -> None:
    _require(tenant.business)
    manager = MembershipFactory(business=tenant.business, role=Membership.Role.MANAGER).user
    assert _client(manager).get("/dashboard/").status_code == 200


def test_only_owners_turn_the_rule_on(tenant: Tenant) -> None:
    manager = MembershipFactory(business=tenant.business, role=Membership.Role.MANAGER).user
    business = Business.objects.get(pk=tenant.business.pk)
    business.require_owner_two_factor = True
    try:
        business_save(user=manager, business=business)
    except permissions.NotAllowed:
        pass
    else:
        raise AssertionError("a manager changed the two-factor rule")
    business_save(user=tenant.owner, business=business)
    assert Business.objects.get(pk=business.pk).require_owner_two_factor
