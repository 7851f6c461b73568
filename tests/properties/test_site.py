"""The visitor site on a business host."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

from django.urls import reverse

from properties.urls_util import site_path
from tests.conftest import Tenant
from tests.factories import PropertyFactory


def test_home_lists_published_properties_with_branding(tenant: Tenant) -> None:
    PropertyFactory(business=tenant.business, name="Hidden Hut", published=False)
    PropertyFactory(business=tenant.business, name="Dune House", base_price=Decimal("99.50"))
    response = tenant.site_client().get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Dune House" in body
    assert "€99.50" in body
    assert "Hidden Hut" not in body
    assert tenant.business.accent_colour in body


def test_home_never_shows_another_business_properties(tenant: Tenant, outsider: Tenant) -> None:
    body = tenant.site_client().get("/").content.decode()
    assert tenant.prop.name in body
    assert outsider.prop.name not in body


def test_property_page(tenant: Tenant) -> None:
    response = tenant.site_client().get(f"/p/{tenant.prop.slug}/")
    assert response.status_code == 200
    assert response.context["property"] == tenant.prop


def test_other_business_property_is_404_on_this_site(tenant: Tenant, outsider: Tenant) -> None:
    response = tenant.site_client().get(f"/p/{outsider.prop.slug}/")
    # Same slug pattern on both businesses: make sure the outsider's is a distinct slug.
    assert outsider.prop.slug != tenant.prop.slug
    assert response.status_code == 404


def test_unpublished_property_is_404(tenant: Tenant) -> None:
    hidden = PropertyFactory(business=tenant.business, published=False)
    assert tenant.site_client().get(f"/p/{hidden.slug}/").status_code == 404


def test_pages_use_no_external_assets(tenant: Tenant) -> None:
    for path in ["/", f"/p/{tenant.prop.slug}/", "/accounts/login/"]:
        body = tenant.site_client().get(path).content.decode()
        # schema.org's context URL names a vocabulary; nothing is loaded from it.
        body = body.replace('"https://schema.org"', "")
        assert "https://" not in body.replace(tenant.business.contact_email, "")
        assert "//cdn" not in body


def test_the_property_page_keeps_its_address_and_booking_box(tenant: Tenant) -> None:
    assert reverse("site-property", urlconf="config.site_urls", args=["x"]) == "/p/x/"
    response = tenant.site_client().get(f"/p/{tenant.prop.slug}/")
    assert "calendar" in response.context
    assert response.context["guest_choices"]


def test_properties_imports_no_app_above_it() -> None:
    """properties <- bookings <- (messaging, integrations): not even at request time."""
    root = Path(__file__).resolve().parents[2] / "properties"
    above = ("bookings", "messaging", "integrations")
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in above, f"{path}: imports {name}"


def test_site_paths_come_from_the_named_routes() -> None:
    assert site_path("site-property", "dune-house") == "/p/dune-house/"
    assert site_path("site-trip", "HD-7KQ3ZP") == "/trips/HD-7KQ3ZP/"
