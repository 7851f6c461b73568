"""A session works only on the kind of host that signed it in: the app host, or one
business's site (its subdomain and verified custom domain)."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import Tenant, site_host
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"
_ips = itertools.count(1)


def _client(host: str) -> Client:
    # A fresh client address per test: sign-in rate limits count per IP.
    return Client(HTTP_HOST=host, REMOTE_ADDR=f"198.51.100.{next(_ips) % 250 + 1}")


def _sign_in(host: str, email: str) -> Client:
    client = _client(host)
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def _carry_cookie(source: Client, host: str) -> Client:
    """What an attacker does with a session cookie taken from one host."""
    other = _client(host)
    other.cookies["sessionid"] = source.cookies["sessionid"].value
    return other


def test_owner_signed_in_on_the_app_host_works_there(tenant: Tenant) -> None:
    client = _sign_in("localhost", tenant.owner.email)
    assert client.get("/admin/").status_code == 200


def test_a_business_site_session_does_not_open_the_admin(tenant: Tenant) -> None:
    """The probe: an owner signed in on a business site (a visitor session); its cookie
    carried to the app host must not reach the admin or the API."""
    on_site = _sign_in(site_host(tenant.business), tenant.owner.email)
    assert on_site.get("/trips/").status_code == 200

    carried = _carry_cookie(on_site, "localhost")
    admin = carried.get("/admin/")
    assert admin.status_code == 302
    assert "/login/" in admin["Location"]
    carried = _carry_cookie(on_site, "localhost")
    assert carried.get("/api/v1/properties/").status_code in (401, 403)


def test_a_carried_session_is_signed_out_everywhere(tenant: Tenant) -> None:
    on_site = _sign_in(site_host(tenant.business), tenant.owner.email)
    carried = _carry_cookie(on_site, "localhost")
    carried.get("/admin/")
    # The stolen cookie's session was flushed: it no longer works where it came from.
    response = on_site.get("/trips/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_session_from_one_business_site_is_anonymous_on_another(
    tenant: Tenant, outsider: Tenant
) -> None:
    visitor = UserFactory()
    on_seaside = _sign_in(site_host(tenant.business), visitor.email)
    carried = _carry_cookie(on_seaside, site_host(outsider.business))
    response = carried.get("/")
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated


def test_an_app_host_session_is_anonymous_on_business_sites(tenant: Tenant) -> None:
    on_app = _sign_in("localhost", tenant.owner.email)
    carried = _carry_cookie(on_app, site_host(tenant.business))
    response = carried.get("/")
    assert not response.context["user"].is_authenticated


def test_a_custom_domain_session_stays_with_its_business(tenant: Tenant, outsider: Tenant) -> None:
    business = tenant.business
    business.custom_domain, business.domain_verified_at = "www.seaside.example", timezone.now()
    business.save(update_fields=["custom_domain", "domain_verified_at"])
    visitor = UserFactory()
    on_domain = _sign_in("www.seaside.example", visitor.email)
    assert on_domain.get("/").context["user"] == visitor
    for host in ("localhost", site_host(outsider.business)):
        carried = _carry_cookie(on_domain, host)
        response = carried.get("/")
        assert not response.context["user"].is_authenticated, host
        on_domain = _sign_in("www.seaside.example", visitor.email)


@pytest.mark.parametrize("host", ["localhost", "seaside.localhost"])
def test_the_session_records_the_host_that_signed_it_in(tenant: Tenant, host: str) -> None:
    client = _sign_in(host, tenant.owner.email)
    expected = "app" if host == "localhost" else f"business:{tenant.business.pk}"
    assert client.session["holidesk_host"] == expected
