"""Sitemap, robots.txt, canonical URLs, Open Graph tags and schema.org data."""

from __future__ import annotations

import json
import re

from properties.urls_util import business_site_url
from tests.conftest import Tenant
from tests.factories import PropertyFactory


def _json_ld(body: str) -> dict:  # type: ignore[type-arg]
    found = re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', body, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_sitemap_lists_the_published_places_only(tenant: Tenant, outsider: Tenant) -> None:
    hidden = PropertyFactory(business=tenant.business, published=False)
    response = tenant.site_client().get("/sitemap.xml")
    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    site = business_site_url(tenant.business)
    assert f"{site}/p/{tenant.prop.slug}/</loc>" in body
    assert f"/p/{hidden.slug}/" not in body
    assert "alpine" not in body
    robots = tenant.site_client().get("/robots.txt").content.decode()
    assert f"Sitemap: {site}/sitemap.xml" in robots
    assert "Disallow: /trips/" in robots


def test_property_page_has_canonical_open_graph_and_vacation_rental_data(tenant: Tenant) -> None:
    prop = tenant.prop
    prop.name = "Dune </script><b>House"
    prop.amenities = ["Wifi", "Sea view"]
    prop.description = "A house by the dunes."
    prop.save()
    body = tenant.site_client().get(f"/p/{prop.slug}/?check_in=2031-07-01").content.decode()
    canonical = business_site_url(tenant.business, f"/p/{prop.slug}/")
    assert f'<link rel="canonical" href="{canonical}">' in body
    assert f'<meta property="og:url" content="{canonical}">' in body
    assert '<meta property="og:description" content="A house by the dunes.">' in body
    assert "</script><b>" not in body
    data = _json_ld(body)
    assert data["@type"] == "VacationRental"
    assert data["name"] == "Dune </script><b>House"
    assert data["containsPlace"]["occupancy"]["value"] == prop.max_guests
    assert data["containsPlace"]["numberOfBedrooms"] == prop.bedrooms
    assert [f["name"] for f in data["containsPlace"]["amenityFeature"]] == ["Wifi", "Sea view"]


def test_home_page_describes_the_lodging_business(tenant: Tenant) -> None:
    body = tenant.site_client().get("/").content.decode()
    data = _json_ld(body)
    assert data["@type"] == "LodgingBusiness"
    assert data["name"] == tenant.business.name
    canonical = business_site_url(tenant.business, "/")
    assert f'<link rel="canonical" href="{canonical}">' in body
