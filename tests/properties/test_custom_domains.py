"""Custom domains route only once DNS proves them; account emails never link to the
request's host (password-reset poisoning)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from properties.models import Business, Membership
from properties.permissions import NotAllowed
from properties.services import DomainCheck, business_save, custom_domain_verify
from properties.tasks import recheck_custom_domains
from tests.conftest import Tenant
from tests.factories import MembershipFactory, UserFactory

DOMAIN = "www.seaside-cottages.com"
RECORD = "_holidesk." + DOMAIN


def _business_form(business: Business, **changes: Any) -> dict[str, Any]:
    data = {
        "name": business.name,
        "slug": business.slug,
        "contact_email": business.contact_email,
        "custom_domain": business.custom_domain or "",
        "timezone": business.timezone,
        "currency": business.currency,
        "accent_colour": business.accent_colour,
        "about": business.about,
        "languages": ",".join(business.languages),
    }
    data.update(changes)
    return data


def _change_url(business: Business) -> str:
    return reverse("admin:properties_business_change", args=[business.pk])


def _set_domain(client: Client, business: Business, domain: str) -> Any:
    return client.post(_change_url(business), _business_form(business, custom_domain=domain))


def _links(body: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", body)


def _verified(business: Business, domain: str = DOMAIN) -> Business:
    # save(), not update(): the receiver drops the cached host lookups.
    business.custom_domain, business.domain_verified_at = domain, timezone.now()
    business.save(update_fields=["custom_domain", "domain_verified_at"])
    return business


# --- Password-reset poisoning --------------------------------------------------------


def test_a_domain_set_by_an_owner_does_not_route_until_verified(
    tenant: Tenant, outsider: Tenant, mailoutbox: list[Any]
) -> None:
    """The probe: an owner names a domain they control, then asks for a reset of
    someone else's account on it; the mail must not link there. Unverified, the domain
    is not served at all."""
    response = _set_domain(outsider.admin_client(), outsider.business, "attacker.example")
    assert response.status_code == 302
    outsider.business.refresh_from_db()
    assert outsider.business.custom_domain == "attacker.example"
    assert outsider.business.domain_verified_at is None

    attacker = Client(HTTP_HOST="attacker.example")
    response = attacker.post("/accounts/password/reset/", {"email": tenant.owner.email})
    assert response.status_code == 404
    assert b"There is no site at this address" in response.content
    assert mailoutbox == []


def test_reset_links_ignore_the_port_of_the_host_header(
    tenant: Tenant, mailoutbox: list[Any]
) -> None:
    client = Client(HTTP_HOST="localhost:6666")
    response = client.post("/accounts/password/reset/", {"email": tenant.owner.email})
    assert response.status_code == 302
    (mail,) = mailoutbox
    links = _links(mail.body)
    assert links
    for link in links:
        assert urlsplit(link).netloc == "localhost:8000", link
    assert "example.com" not in mail.subject + mail.body


def test_reset_on_a_verified_custom_domain_links_to_the_platform_subdomain(
    tenant: Tenant, mailoutbox: list[Any]
) -> None:
    _verified(tenant.business)
    visitor = UserFactory()
    response = Client(HTTP_HOST=DOMAIN).post("/accounts/password/reset/", {"email": visitor.email})
    assert response.status_code == 302
    (mail,) = mailoutbox
    reset_links = [link for link in _links(mail.body) if "/password/reset/key/" in link]
    assert reset_links
    for link in _links(mail.body):
        assert urlsplit(link).hostname == "seaside.localhost", link
    assert tenant.business.name in mail.subject


def test_signup_confirmation_links_to_the_platform_host(
    tenant: Tenant, mailoutbox: list[Any], settings: Any
) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    _verified(tenant.business)
    response = Client(HTTP_HOST=DOMAIN).post(
        "/accounts/signup/",
        {
            "email": "guest@example.com",
            "password1": "a-long-enough-pw-42",
            "password2": "a-long-enough-pw-42",
        },
    )
    assert response.status_code == 302
    (mail,) = mailoutbox
    confirm = [link for link in _links(mail.body) if "/accounts/confirm-email/" in link]
    assert confirm
    assert {urlsplit(link).hostname for link in _links(mail.body)} == {"seaside.localhost"}


# --- Verification -----------------------------------------------------------------------


def test_custom_domain_is_served_once_verified_and_dropped_when_the_record_goes(
    tenant: Tenant, fake_dns: Any
) -> None:
    owner = tenant.admin_client()
    assert _set_domain(owner, tenant.business, DOMAIN).status_code == 302
    site = Client(HTTP_HOST=DOMAIN)
    assert site.get("/").status_code == 404

    tenant.business.refresh_from_db()
    page = owner.get(_change_url(tenant.business))
    assert RECORD in page.content.decode()
    assert tenant.business.domain_token in page.content.decode()

    fake_dns.records[RECORD] = ["v=spf1 -all", tenant.business.domain_token]
    response = owner.post(
        reverse("admin:properties_business_changelist"),
        {"action": "verify_domain", "_selected_action": [tenant.business.pk]},
        follow=True,
    )
    assert "is verified" in response.content.decode()
    assert site.get("/").status_code == 200
    assert site.get("/").context["business"] == tenant.business

    fake_dns.records.clear()
    assert recheck_custom_domains() == {"missing": 1}
    assert site.get("/").status_code == 404
    tenant.business.refresh_from_db()
    assert tenant.business.domain_verified_at is None


def test_recheck_verifies_a_domain_whose_record_appeared(tenant: Tenant, fake_dns: Any) -> None:
    tenant.business.custom_domain = DOMAIN
    tenant.business.save(update_fields=["custom_domain"])
    fake_dns.records[RECORD] = [tenant.business.domain_token]
    assert recheck_custom_domains() == {"verified": 1}
    assert Client(HTTP_HOST=DOMAIN).get("/").status_code == 200


def test_a_failed_lookup_changes_nothing(tenant: Tenant, fake_dns: Any) -> None:
    _verified(tenant.business)
    fake_dns.records[RECORD] = None  # timeout
    assert custom_domain_verify(business=tenant.business) == DomainCheck.UNKNOWN
    tenant.business.refresh_from_db()
    assert tenant.business.domain_verified_at is not None
    assert tenant.business.domain_checked_at is not None
    assert Client(HTTP_HOST=DOMAIN).get("/").status_code == 200


def test_a_record_with_another_token_does_not_verify(
    tenant: Tenant, outsider: Tenant, fake_dns: Any
) -> None:
    Business.objects.filter(pk=tenant.business.pk).update(custom_domain=DOMAIN)
    fake_dns.records[RECORD] = [outsider.business.domain_token]
    tenant.business.refresh_from_db()
    assert custom_domain_verify(business=tenant.business) == DomainCheck.MISSING
    assert Client(HTTP_HOST=DOMAIN).get("/").status_code == 404


def test_a_squatter_cannot_block_the_domain_owner(
    tenant: Tenant, outsider: Tenant, fake_dns: Any
) -> None:
    assert _set_domain(outsider.admin_client(), outsider.business, DOMAIN).status_code == 302
    assert _set_domain(tenant.admin_client(), tenant.business, DOMAIN).status_code == 302
    tenant.business.refresh_from_db()
    outsider.business.refresh_from_db()
    fake_dns.records[RECORD] = [tenant.business.domain_token, outsider.business.domain_token]
    assert custom_domain_verify(business=tenant.business) == DomainCheck.VERIFIED
    assert custom_domain_verify(business=outsider.business) == DomainCheck.TAKEN
    assert Client(HTTP_HOST=DOMAIN).get("/").context["business"] == tenant.business


def test_changing_the_domain_drops_the_verification(tenant: Tenant) -> None:
    _verified(tenant.business)
    owner = tenant.admin_client()
    assert _set_domain(owner, tenant.business, "book.seaside-cottages.com").status_code == 302
    tenant.business.refresh_from_db()
    assert tenant.business.domain_verified_at is None
    assert Client(HTTP_HOST="book.seaside-cottages.com").get("/").status_code == 404
    assert Client(HTTP_HOST=DOMAIN).get("/").status_code == 404


def test_the_recheck_runs_from_celery_beat() -> None:
    celery_app.loader.import_default_modules()
    entry = celery_app.conf.beat_schedule["properties.recheck-custom-domains"]
    assert entry["task"] in celery_app.tasks


# --- Only owners set a domain -----------------------------------------------------------


@pytest.fixture
def manager(tenant: Tenant) -> Membership:
    return MembershipFactory(business=tenant.business, role=Membership.Role.MANAGER)


def test_a_manager_cannot_set_the_custom_domain(tenant: Tenant, manager: Membership) -> None:
    client = Client(HTTP_HOST="localhost")
    client.force_login(manager.user)
    page = client.get(_change_url(tenant.business))
    assert page.status_code == 200
    assert "custom_domain" not in page.context["adminform"].form.fields
    response = client.post(
        _change_url(tenant.business),
        _business_form(tenant.business, name="Renamed", custom_domain="attacker.example"),
    )
    assert response.status_code == 302
    tenant.business.refresh_from_db()
    assert tenant.business.name == "Renamed"  # managers still edit the rest
    assert tenant.business.custom_domain is None


def test_the_service_refuses_a_manager_setting_a_domain(
    tenant: Tenant, manager: Membership
) -> None:
    business = Business.objects.get(pk=tenant.business.pk)
    business.custom_domain = "attacker.example"
    with pytest.raises(NotAllowed):
        business_save(user=manager.user, business=business)
    tenant.business.refresh_from_db()
    assert tenant.business.custom_domain is None


def test_links_built_outside_a_request_point_at_the_app_host(db: None) -> None:
    from properties.adapters import AccountAdapter

    url = AccountAdapter().get_reset_password_from_key_url("1-abc-def")
    assert urlsplit(url).netloc == "localhost:8000"
    assert "example.com" not in url
