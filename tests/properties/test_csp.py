"""Content-Security-Policy: enforced on every page, and no page carries an inline
script or style element without the response's nonce, nor a style attribute or an
inline event handler (which no nonce can allow)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from bookings.models import Booking
from messaging.models import EmailTemplate
from tests.conftest import Tenant, site_host
from tests.tenant_objects import make
from tests.test_settings_env import PRODUCTION_ENV


class InlineFinder(HTMLParser):
    def __init__(self, nonce: str) -> None:
        super().__init__()
        self.nonce = nonce
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        inline = tag in ("script", "style") and "src" not in values
        if inline and values.get("nonce") != self.nonce:
            self.problems.append(f"<{tag}> without the nonce")
        if "style" in values:
            self.problems.append(f"style attribute on <{tag}>")
        for name, _ in attrs:
            if name.startswith("on"):
                self.problems.append(f"{name} handler on <{tag}>")
        if values.get("href", "") and values["href"].strip().lower().startswith("javascript:"):
            self.problems.append(f"javascript: link on <{tag}>")


def _policy(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _check_page(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code in (200, 404), response.status_code
    policy = _policy(response)
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    nonces = {w for w in policy["script-src"] if w.startswith("'nonce-")}
    nonce = nonces.pop()[len("'nonce-") : -1] if nonces else ""
    finder = InlineFinder(nonce)
    finder.feed(response.content.decode())
    assert finder.problems == []


def test_pages_on_a_business_site(tenant: Tenant) -> None:
    site = tenant.site_client()
    for path in ("/", f"/p/{tenant.prop.slug}/", "/accounts/login/", "/accounts/signup/"):
        response = site.get(path)
        assert response.status_code == 200, path
        _check_page(response)
    # The site's accent colour is an inline style: it carries the nonce.
    home = site.get("/")
    nonce = re.search(r"'nonce-([^']+)'", home["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">:root' in home.content.decode()


def test_pages_on_the_app_host(tenant: Tenant, app_client: Client) -> None:
    for path in ("/", "/accounts/login/", "/accounts/password/reset/", "/api/docs/"):
        _check_page(app_client.get(path))


def test_admin_pages(tenant: Tenant) -> None:
    client = tenant.admin_client()
    template = make(EmailTemplate, tenant.business)
    make(Booking, tenant.business)
    paths = [
        reverse("admin:index"),
        reverse("admin:properties_business_change", args=[tenant.business.pk]),
        reverse("admin:properties_property_change", args=[tenant.prop.pk]),
        reverse("admin:bookings_booking_changelist"),
        reverse("admin:bookings_calendar"),
        reverse("admin:messaging_emailtemplate_preview", args=[template.pk]),
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        _check_page(response)


def test_the_unknown_host_page(db: None) -> None:
    response = Client(HTTP_HOST="nobody.localhost").get("/")
    assert response.status_code == 404
    _check_page(response)


@pytest.mark.parametrize("host", ["localhost", "seaside.localhost"])
def test_policy_header_is_enforced_not_report_only(tenant: Tenant, host: str) -> None:
    response = Client(HTTP_HOST=host).get("/")
    assert "Content-Security-Policy" in response
    assert "Content-Security-Policy-Report-Only" not in response
    assert site_host(tenant.business) == "seaside.localhost"


def test_the_photo_pages_of_the_dashboard(tenant: Tenant) -> None:
    client = tenant.admin_client()
    for path in ("/dashboard/properties/", f"/dashboard/properties/{tenant.prop.pk}/photos/"):
        response = client.get(path)
        assert response.status_code == 200, path
        _check_page(response)
        # The upload page posts to the app's own upload URL locally.
        assert _policy(response)["connect-src"] == ["'self'"]


def test_with_s3_the_browser_may_post_photos_to_the_bucket() -> None:
    code = (
        "from config import settings as s; "
        "print(' '.join(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['connect-src']))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k != "HOLIDESK_TESTING"},
        **PRODUCTION_ENV,
        "STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "holidesk-media",
        "AWS_S3_REGION_NAME": "eu-west-1",
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [
        "'self'",
        "https://holidesk-media.s3.eu-west-1.amazonaws.com",
        "https://holidesk-media.s3.amazonaws.com",
    ]
