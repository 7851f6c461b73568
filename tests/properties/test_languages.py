"""Which language a business site speaks: the business's default without a prefix, its
other languages under `/<code>/`, never a language it does not offer."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from properties.services.businesses import business_save
from properties.urls_util import business_site_url
from tests.conftest import APP_HOST, Tenant


def offer(tenant: Tenant, *languages: str) -> None:
    tenant.business.languages = list(languages)
    tenant.business.save()


def test_default_language_has_no_prefix_and_another_offered_one_has(tenant: Tenant) -> None:
    offer(tenant, "en", "de")
    client = tenant.site_client()
    english = client.get("/")
    assert english["Content-Language"] == "en"
    assert '<html lang="en">' in english.content.decode()
    assert "Where will you stay?" in english.content.decode()
    german = client.get("/de/")
    body = german.content.decode()
    assert german.status_code == 200
    assert german["Content-Language"] == "de"
    assert '<html lang="de">' in body
    assert "Wo möchten Sie übernachten?" in body
    # Every link the page builds stays in German.
    assert f'href="/de/p/{tenant.prop.slug}/"' in body
    assert 'action="/de/search/"' in body


def test_each_language_version_names_the_others(tenant: Tenant) -> None:
    offer(tenant, "en", "de")
    body = tenant.site_client().get(f"/de/p/{tenant.prop.slug}/").content.decode()
    site = business_site_url(tenant.business)
    path = f"/p/{tenant.prop.slug}/"
    assert f'<link rel="canonical" href="{site}/de{path}">' in body
    assert f'<link rel="alternate" hreflang="en" href="{site}{path}">' in body
    assert f'<link rel="alternate" hreflang="de" href="{site}/de{path}">' in body
    assert f'<link rel="alternate" hreflang="x-default" href="{site}{path}">' in body


def test_a_single_language_site_shows_no_switcher_and_no_alternates(tenant: Tenant) -> None:
    body = tenant.site_client().get("/").content.decode()
    assert "hreflang" not in body
    assert 'aria-label="Language"' not in body


def test_the_switcher_is_plain_links_to_the_same_page_in_each_language(tenant: Tenant) -> None:
    """No JavaScript needed: the footer links to this page, its query kept, in every
    language the business offers."""
    offer(tenant, "en", "de")
    client = tenant.site_client()
    query = "check_in=2031-07-01&guests=2"
    body = client.get(f"/p/{tenant.prop.slug}/?{query}").content.decode()
    switch = f'<a href="/de/p/{tenant.prop.slug}/?{query}" hreflang="de" lang="de">Deutsch</a>'
    assert switch.replace("&", "&amp;") in body
    assert '<span aria-current="page" lang="en">English</span>' in body
    german = client.get(f"/de/p/{tenant.prop.slug}/?{query}").content.decode()
    assert "Verfügbarkeit" in german
    back = f'<a href="/p/{tenant.prop.slug}/?{query}" hreflang="en" lang="en">English</a>'
    assert back.replace("&", "&amp;") in german


@pytest.mark.parametrize(
    ("languages", "path", "target"),
    [
        (("en",), "/de/", "/"),  # not offered
        (("en",), "/de/p/x/?guests=2", "/p/x/?guests=2"),
        (("en", "de"), "/en/search/", "/search/"),  # the default has no prefix
        (("de", "en"), "/de/", "/"),
        (("en", "de"), "/de", "/de/"),
    ],
)
def test_a_prefix_the_site_does_not_serve_redirects_to_the_page_it_does(
    tenant: Tenant, languages: tuple[str, ...], path: str, target: str
) -> None:
    offer(tenant, *languages)
    response = tenant.site_client().get(path)
    assert response.status_code == 302
    assert response["Location"] == target


def test_a_business_whose_default_is_german_serves_german_without_a_prefix(
    tenant: Tenant,
) -> None:
    offer(tenant, "de", "en")
    client = tenant.site_client()
    assert "Wo möchten Sie übernachten?" in client.get("/").content.decode()
    english = client.get("/en/").content.decode()
    assert "Where will you stay?" in english
    assert f'href="/en/p/{tenant.prop.slug}/"' in english


def test_an_unknown_language_code_is_just_a_missing_page(tenant: Tenant) -> None:
    offer(tenant, "en", "de")
    assert tenant.site_client().get("/fr/").status_code == 404


def test_a_visitor_browser_language_does_not_choose_for_them(tenant: Tenant) -> None:
    """The address decides (one URL, one language, for search engines and shared
    links); the browser's Accept-Language does not."""
    offer(tenant, "en", "de")
    response = tenant.site_client().get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert response["Content-Language"] == "en"


def test_the_app_host_stays_english(tenant: Tenant) -> None:
    offer(tenant, "de")
    response = Client(HTTP_HOST=APP_HOST).get("/", HTTP_ACCEPT_LANGUAGE="de")
    assert response["Content-Language"] == "en"


def test_links_built_after_a_german_page_are_unprefixed_again(tenant: Tenant) -> None:
    offer(tenant, "en", "de")
    tenant.site_client().get("/de/")
    assert reverse("site-home", urlconf=settings.HOLIDESK_SITE_URLCONF) == "/"


def test_the_sitemap_lists_every_language_version_with_its_alternates(tenant: Tenant) -> None:
    offer(tenant, "en", "de")
    body = tenant.site_client().get("/sitemap.xml").content.decode()
    site = business_site_url(tenant.business)
    path = f"/p/{tenant.prop.slug}/"
    assert f"<loc>{site}{path}</loc>" in body
    assert f"<loc>{site}/de{path}</loc>" in body
    assert f'<xhtml:link rel="alternate" hreflang="de" href="{site}/de{path}"/>' in body
    assert f"<loc>{site}/de/search/</loc>" in body
    robots = tenant.site_client().get("/robots.txt").content.decode()
    assert "Disallow: /de/trips/" in robots


@pytest.mark.parametrize(
    "languages",
    [[], ["fr"], ["en", "en"], ["en", "xx"]],
)
def test_business_languages_must_be_known_offered_and_once_each(
    tenant: Tenant, languages: list[str]
) -> None:
    tenant.business.languages = languages
    with pytest.raises(ValidationError) as raised:
        business_save(user=tenant.owner, business=tenant.business)
    assert "languages" in raised.value.message_dict


def test_the_owner_picks_the_languages_in_the_admin(tenant: Tenant) -> None:
    client = tenant.admin_client()
    url = f"/admin/properties/business/{tenant.business.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="languages"' in page.content.decode()
    tenant.business.languages = ["de", "en"]
    business_save(user=tenant.owner, business=tenant.business)
    tenant.business.refresh_from_db()
    assert tenant.business.default_language == "de"
