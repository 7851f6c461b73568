"""What a visitor notices: account emails from the business, sign-in links that keep
the page, the icon, the unknown-host page's styles."""

from __future__ import annotations

from django.core import mail
from django.test import Client

from tests.conftest import Tenant, site_host
from tests.factories import UserFactory


def test_account_emails_come_from_the_business_with_its_reply_to(tenant: Tenant) -> None:
    user = UserFactory(email="guest@example.com")
    client = Client(HTTP_HOST=site_host(tenant.business))
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    message = mail.outbox[-1]
    assert message.from_email.startswith(f"{tenant.business.name} <")
    assert message.reply_to == [tenant.business.contact_email]
    assert "example.com!" not in message.body
    assert f"Hello from {tenant.business.name}" in message.body
    assert f"http://{site_host(tenant.business)}" in message.body


def test_sign_in_and_sign_up_keep_the_page_and_its_dates(tenant: Tenant) -> None:
    page = f"/p/{tenant.prop.slug}/?check_in=2031-07-01&check_out=2031-07-05"
    body = tenant.site_client().get(page).content.decode()
    kept = f"next=/p/{tenant.prop.slug}/%3Fcheck_in%3D2031-07-01%26check_out%3D2031-07-05"
    assert f'href="/accounts/signup/?{kept}"' in body
    assert f'href="/accounts/login/?{kept}"' in body
    login = tenant.site_client().get(f"/accounts/login/?{kept}").content.decode()
    assert f'href="/accounts/signup/?{kept}"' in login
    assert 'class="button' in login


def test_the_icon_is_served_on_every_host(tenant: Tenant) -> None:
    for host in (site_host(tenant.business), "localhost", "nobody.localhost"):
        response = Client(HTTP_HOST=host).get("/favicon.ico")
        assert response.status_code == 301
        assert response["Location"].endswith(".svg")


def test_the_unknown_host_page_gets_its_stylesheet(db: None) -> None:
    client = Client(HTTP_HOST="nobody.localhost")
    page = client.get("/")
    assert page.status_code == 404
    assert "/static/css/site.css" in page.content.decode()
    # Static files pass the host check (WhiteNoise serves them once collected).
    css = client.get("/static/css/site.css")
    assert "There is no site at this address" not in css.content.decode(errors="replace")
