"""Host -> business routing, table-driven (Zulip's subdomain tests are the model)."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from properties.middleware import resolve_host
from tests.factories import BusinessFactory

HOST_TABLE = [
    # (host, expected kind, expected slug)
    ("localhost", "app", None),
    ("localhost:8000", "app", None),
    ("LOCALHOST", "app", None),
    ("seaside.localhost", "business", "seaside"),
    ("seaside.localhost:8000", "business", "seaside"),
    ("SeaSide.LocalHost", "business", "seaside"),
    ("seaside.localhost.", "business", "seaside"),
    ("www.seaside-cottages.com", "business", "seaside"),
    ("www.seaside-cottages.com:443", "business", "seaside"),
    ("unknown.localhost", "unknown", None),
    ("seaside.localhost.evil.com", "unknown", None),
    ("evil.com", "unknown", None),
    ("a.seaside.localhost", "unknown", None),
    ("seaside-cottages.com", "unknown", None),  # only the exact custom domain
    ("chalets.example", "unknown", None),  # a custom domain not verified by DNS
    (".localhost", "unknown", None),
    ("127.0.0.1", "unknown", None),
    ("[::1]:8000", "unknown", None),
]


@pytest.fixture
def businesses(db: None) -> None:
    BusinessFactory(
        slug="seaside", custom_domain="www.seaside-cottages.com", domain_verified_at=timezone.now()
    )
    BusinessFactory(slug="alpine", custom_domain="chalets.example")


@pytest.mark.parametrize(("host", "kind", "slug"), HOST_TABLE)
def test_host_resolves_to_the_right_tenant(
    businesses: None, host: str, kind: str, slug: str | None
) -> None:
    match = resolve_host(host)
    assert match.kind == kind
    assert (match.business.slug if match.business else None) == slug


@override_settings(HOLIDESK_BASE_DOMAIN="holidesk.app", HOLIDESK_APP_HOST="app.holidesk.app")
@pytest.mark.parametrize(
    ("host", "kind", "slug"),
    [
        ("app.holidesk.app", "app", None),
        ("seaside.holidesk.app", "business", "seaside"),
        ("holidesk.app", "unknown", None),
        ("seaside.holidesk.app.evil.com", "unknown", None),
        ("seaside.holidesk.application", "unknown", None),
        ("seasideholidesk.app", "unknown", None),
    ],
)
def test_production_style_hosts(businesses: None, host: str, kind: str, slug: str | None) -> None:
    match = resolve_host(host)
    assert match.kind == kind
    assert (match.business.slug if match.business else None) == slug


def test_unknown_host_gets_a_friendly_404_page(businesses: None) -> None:
    response = Client(HTTP_HOST="nobody.localhost").get("/")
    assert response.status_code == 404
    assert b"There is no site at this address" in response.content
    assert "Host" in response["Vary"]


def test_spoofed_host_is_not_served_as_the_tenant(businesses: None) -> None:
    response = Client(HTTP_HOST="seaside.localhost.evil.com").get("/")
    assert response.status_code == 404


def test_business_host_serves_the_business_site(businesses: None) -> None:
    response = Client(HTTP_HOST="seaside.localhost:8000").get("/")
    assert response.status_code == 200
    assert response.context["business"].slug == "seaside"
    assert "Host" in response["Vary"]


def test_app_host_has_no_business(businesses: None) -> None:
    response = Client(HTTP_HOST="localhost").get("/")
    assert response.status_code == 200
    assert response.context["business"] is None


def test_health_endpoints_answer_on_any_host(db: None) -> None:
    assert Client(HTTP_HOST="10.0.3.17:8000").get("/healthz").status_code == 200
    ready = Client(HTTP_HOST="10.0.3.17:8000").get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_changing_a_slug_moves_the_site_at_once(businesses: None) -> None:
    from properties.models import Business

    assert resolve_host("alpine.localhost").kind == "business"
    business = Business.objects.get(slug="alpine")
    business.slug = "alps"
    business.save()
    assert resolve_host("alpine.localhost").kind == "unknown"
    assert resolve_host("alps.localhost").business == business


def test_session_cookie_stays_on_its_host(tenant) -> None:
    client = tenant.site_client()
    response = client.post(
        "/accounts/login/", {"login": tenant.owner.email, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["domain"] == ""  # host-only: never sent to another business's site
    other = Client(HTTP_HOST="localhost")
    assert "sessionid" not in other.cookies
