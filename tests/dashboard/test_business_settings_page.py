"""The business settings page's logo, currency, site languages and (owners) custom
domain, and the admin's business and property pages saving through the same services."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from bookings.models import Booking
from properties.audit import audit_entries
from properties.models import Business, Membership, User
from properties.services import business_save
from tests.conftest import APP_HOST, Tenant
from tests.dashboard.conftest import business_today, stay
from tests.factories import MembershipFactory, PropertyFactory
from tests.properties.fake_dns import FakeTxtResolver
from tests.properties.photos.conftest import temporary_photo_storages
from tests.properties.photos.images import eps_bytes, png_bytes

Role = Membership.Role
SETTINGS = "/dashboard/settings/"
DOMAIN = "/dashboard/settings/domain/"


@pytest.fixture
def media(tmp_path: Path, settings: Any) -> Path:
    public, _private = temporary_photo_storages(tmp_path, settings)
    return public


@pytest.fixture
def fake_dns(settings: Any) -> Any:
    settings.HOLIDESK_TXT_RESOLVER = "tests.properties.fake_dns.FakeTxtResolver"
    FakeTxtResolver.records = {}
    FakeTxtResolver.asked = []
    yield FakeTxtResolver
    FakeTxtResolver.records = {}


def _client(user: User) -> Client:
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(user)
    return client


def _manager(tenant: Tenant) -> User:
    user: User = MembershipFactory(business=tenant.business, role=Role.MANAGER).user
    return user


def _form(business: Business, *, languages: list[str] | None = None, **changes: Any) -> dict:
    data: dict[str, Any] = {
        "name": business.name,
        "contact_email": business.contact_email,
        "timezone": business.timezone,
        "about": business.about,
        "accent_colour": business.accent_colour,
        "currency": business.currency,
    }
    for i, code in enumerate(business.languages if languages is None else languages):
        data[f"languages_{i}"] = code
    data.update(changes)
    return data


def _stored(business: Business) -> Business:
    return Business.objects.get(pk=business.pk)


def _said(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Currency and languages ----------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_currency_and_languages_are_saved_in_order_and_audited(tenant: Tenant, role: str) -> None:
    user = tenant.owner if role == Role.OWNER else _manager(tenant)
    client = _client(user)
    page = client.get(SETTINGS)
    assert page.status_code == 200
    assert 'name="languages_0"' in page.content.decode()
    assert 'name="currency"' in page.content.decode()
    response = client.post(SETTINGS, _form(tenant.business, currency="CHF", languages=["de", "en"]))
    assert response.status_code == 302
    business = _stored(tenant.business)
    assert business.currency == "CHF"
    assert business.languages == ["de", "en"]
    assert business.default_language == "de"
    entry = audit_entries(business=business, model="properties.business").first()
    assert entry is not None
    assert entry.actor == user
    assert entry.changes_dict["currency"] == ["EUR", "CHF"]
    assert "languages" in entry.changes_dict


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"languages": ["en", "en"]}, "languages"),
        ({"languages": ["en", "fr"]}, "languages"),
        ({"languages": ["", ""]}, "languages"),
        ({"currency": "XXX"}, "currency"),
        ({"currency": ""}, "currency"),
    ],
)
def test_a_bad_currency_or_language_list_is_a_field_error_and_changes_nothing(
    tenant: Tenant, changes: dict[str, Any], field: str
) -> None:
    before = _stored(tenant.business)
    response = _client(tenant.owner).post(
        SETTINGS, _form(tenant.business, name="Renamed", **changes)
    )
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    after = _stored(tenant.business)
    assert (after.name, after.currency, after.languages) == (
        before.name,
        before.currency,
        before.languages,
    )


def test_the_currency_is_read_only_while_stays_are_to_come(tenant: Tenant) -> None:
    today = business_today(tenant.business)
    stay(tenant.prop, today + timedelta(days=10), 3)
    client = _client(tenant.owner)
    page = client.get(SETTINGS)
    currency = page.context["form"].fields["currency"]
    assert currency.disabled
    assert "stays to come (1 stay priced in EUR)" in page.content.decode()
    # A posted currency is ignored: what is shown is what stays.
    response = client.post(SETTINGS, _form(tenant.business, currency="JPY", name="Renamed"))
    assert response.status_code == 302
    business = _stored(tenant.business)
    assert (business.name, business.currency) == ("Renamed", "EUR")
    # The service itself refuses, whichever door asks.
    business.currency = "JPY"
    with pytest.raises(ValidationError) as raised:
        business_save(user=tenant.owner, business=business)
    assert "stays to come" in raised.value.message_dict["currency"][0]
    assert _stored(tenant.business).currency == "EUR"


def test_past_and_cancelled_stays_do_not_hold_the_currency(tenant: Tenant) -> None:
    today = business_today(tenant.business)
    past = stay(tenant.prop, today - timedelta(days=10), 3)
    cancelled = stay(tenant.prop, today + timedelta(days=20), 2)
    Booking.objects.filter(pk=cancelled.pk).update(status=Booking.Status.CANCELLED)
    response = _client(tenant.owner).post(SETTINGS, _form(tenant.business, currency="GBP"))
    assert response.status_code == 302
    assert _stored(tenant.business).currency == "GBP"
    past.refresh_from_db()
    assert past.currency == "EUR"  # a stay keeps the currency it was paid in


# --- Logo ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_a_logo_is_uploaded_shown_and_removed(tenant: Tenant, media: Path, role: str) -> None:
    user = tenant.owner if role == Role.OWNER else _manager(tenant)
    client = _client(user)
    upload = SimpleUploadedFile("logo.png", png_bytes(300, 100), content_type="image/png")
    response = client.post(SETTINGS, {**_form(tenant.business), "logo": upload})
    assert response.status_code == 302
    business = _stored(tenant.business)
    assert business.logo.name.startswith("logos/")
    assert (media / business.logo.name).is_file()
    page = client.get(SETTINGS).content.decode()
    assert business.logo.url in page
    assert 'name="logo-clear"' in page
    entry = audit_entries(business=business, model="properties.business").first()
    assert entry is not None
    assert entry.actor == user
    assert "logo" in entry.changes_dict

    response = client.post(SETTINGS, {**_form(business), "logo-clear": "on"})
    assert response.status_code == 302
    assert not _stored(tenant.business).logo


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("logo.png", b"not an image at all"),
        ("logo.eps", eps_bytes()),
        ("logo.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00"),
    ],
)
def test_a_logo_the_photos_would_refuse_is_a_field_error(
    tenant: Tenant, media: Path, name: str, content: bytes
) -> None:
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    response = _client(tenant.owner).post(
        SETTINGS, {**_form(tenant.business, name="Renamed"), "logo": upload}
    )
    assert response.status_code == 400
    assert "JPEG, PNG or WebP" in " ".join(response.context["form"].errors["logo"])
    business = _stored(tenant.business)
    assert not business.logo
    assert business.name != "Renamed"
    assert list(media.rglob("*.*")) == []


# --- Custom domain (owners) ----------------------------------------------------------------


def test_the_owner_sets_checks_changes_and_clears_the_custom_domain(
    tenant: Tenant, fake_dns: Any
) -> None:
    client = _client(tenant.owner)
    page = client.get(SETTINGS).content.decode()
    assert 'id="custom-domain"' in page
    assert "No custom domain" in page

    response = client.post(DOMAIN, {"custom_domain": " WWW.Seaside-Cottages.com. "})
    assert response.status_code == 302
    business = _stored(tenant.business)
    assert business.custom_domain == "www.seaside-cottages.com"
    assert business.domain_verified_at is None
    page = client.get(SETTINGS).content.decode()
    assert "_holidesk.www.seaside-cottages.com" in page
    assert business.domain_token in page
    assert "Not verified" in page

    # Check now: no record yet, then the record.
    response = client.post(DOMAIN, {"action": "verify"})
    assert response.status_code == 302
    assert any("No TXT record" in m for m in _said(response))
    assert _stored(tenant.business).domain_verified_at is None
    fake_dns.records["_holidesk.www.seaside-cottages.com"] = [business.domain_token]
    response = client.post(DOMAIN, {"action": "verify"})
    assert any("is verified" in m for m in _said(response))
    assert _stored(tenant.business).domain_verified_at is not None
    page = client.get(SETTINGS).content.decode()
    assert "Verified</span>" in page

    # A new domain starts unverified again; an empty one clears it.
    client.post(DOMAIN, {"custom_domain": "book.seaside-cottages.com", "action": "save"})
    business = _stored(tenant.business)
    assert (business.custom_domain, business.domain_verified_at) == (
        "book.seaside-cottages.com",
        None,
    )
    response = client.post(DOMAIN, {"custom_domain": "", "action": "save"})
    assert response.status_code == 302
    assert _stored(tenant.business).custom_domain is None
    changes = [
        e.changes_dict
        for e in audit_entries(business=tenant.business, model="properties.business")
        if e.actor == tenant.owner
    ]
    assert any(
        c.get("custom_domain", [None, None])[1] == "www.seaside-cottages.com" for c in changes
    )
    assert any("domain_verified_at" in c for c in changes)


@pytest.mark.parametrize(
    "domain", ["not a domain", "seaside.holidesk.test", "https://www.example.com", "localhost"]
)
def test_a_bad_custom_domain_is_a_field_error_and_changes_nothing(
    tenant: Tenant, domain: str, settings: Any
) -> None:
    settings.HOLIDESK_BASE_DOMAIN = "holidesk.test"
    Business.objects.filter(pk=tenant.business.pk).update(custom_domain="www.example.org")
    response = _client(tenant.owner).post(DOMAIN, {"custom_domain": domain, "action": "save"})
    assert response.status_code == 400
    assert response.context["domain_form"].errors["custom_domain"]
    assert b'id="custom-domain"' in response.content
    assert _stored(tenant.business).custom_domain == "www.example.org"


def test_a_manager_neither_sees_nor_sets_the_custom_domain(tenant: Tenant) -> None:
    Business.objects.filter(pk=tenant.business.pk).update(custom_domain="www.example.org")
    client = _client(_manager(tenant))
    page = client.get(SETTINGS)
    assert page.status_code == 200
    assert page.context["domain_form"] is None
    assert b'id="custom-domain"' not in page.content
    assert b"www.example.org" not in page.content
    assert b"_holidesk." not in page.content
    assert client.post(DOMAIN, {"custom_domain": "evil.example.com"}).status_code == 403
    assert client.post(DOMAIN, {"action": "verify"}).status_code == 403
    # Nor through the main form: it has no such field.
    response = client.post(SETTINGS, _form(tenant.business, custom_domain="evil.example.com"))
    assert response.status_code == 302
    assert _stored(tenant.business).custom_domain == "www.example.org"


def test_another_business_owner_changes_only_their_own(tenant: Tenant, outsider: Tenant) -> None:
    Business.objects.filter(pk=tenant.business.pk).update(custom_domain="www.example.org")
    client = _client(outsider.owner)
    assert b"www.example.org" not in client.get(SETTINGS).content
    client.post(DOMAIN, {"custom_domain": "www.alpine.example", "action": "save"})
    client.post(SETTINGS, _form(outsider.business, currency="CHF"))
    assert _stored(outsider.business).custom_domain == "www.alpine.example"
    assert _stored(outsider.business).currency == "CHF"
    mine = _stored(tenant.business)
    assert (mine.custom_domain, mine.currency) == ("www.example.org", "EUR")


# --- The admin saves through the same services ---------------------------------------------


def _admin_business_form(business: Business, **changes: Any) -> dict[str, Any]:
    data = {
        "name": business.name,
        "slug": business.slug,
        "custom_domain": business.custom_domain or "",
        "contact_email": business.contact_email,
        "timezone": business.timezone,
        "currency": business.currency,
        "accent_colour": business.accent_colour,
        "about": business.about,
        "languages": ",".join(business.languages),
    }
    data.update(changes)
    return data


def test_the_admin_business_page_is_refused_what_the_service_refuses(
    tenant: Tenant, media: Path
) -> None:
    client = tenant.admin_client()
    url = f"/admin/properties/business/{tenant.business.pk}/change/"
    bad = SimpleUploadedFile("logo.eps", eps_bytes(), content_type="image/png")
    response = client.post(url, {**_admin_business_form(tenant.business, name="X"), "logo": bad})
    assert response.status_code == 302
    assert any("JPEG, PNG or WebP" in m for m in _said(response))
    assert _stored(tenant.business).name != "X"
    assert not _stored(tenant.business).logo

    stay(tenant.prop, business_today(tenant.business) + timedelta(days=5), 2)
    page = client.get(url)
    assert "currency" in page.context["adminform"].readonly_fields
    response = client.post(url, _admin_business_form(tenant.business, languages="de,en"))
    assert response.status_code == 302
    business = _stored(tenant.business)
    assert business.languages == ["de", "en"]
    entry = audit_entries(business=business, model="properties.business").first()
    assert entry is not None
    assert entry.actor == tenant.owner


def test_the_admin_business_page_refuses_a_locked_currency(tenant: Tenant) -> None:
    stay(tenant.prop, business_today(tenant.business) + timedelta(days=5), 2)
    manager = _manager(tenant)
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(manager)
    url = f"/admin/properties/business/{tenant.business.pk}/change/"
    # Were the field offered (a stay booked after the page was shown), the service refuses.
    business = _stored(tenant.business)
    business.currency = "USD"
    with pytest.raises(ValidationError):
        business_save(user=manager, business=business)
    response = client.post(url, _admin_business_form(tenant.business, currency="USD"))
    assert response.status_code == 302
    assert _stored(tenant.business).currency == "EUR"


def _admin_property_form(prop: Any, **changes: Any) -> dict[str, Any]:
    data = {
        "name": prop.name,
        "slug": prop.slug,
        "group": "",
        "published": "on" if prop.published else "",
        "description": prop.description,
        "address": prop.address,
        "max_guests": prop.max_guests,
        "bedrooms": prop.bedrooms,
        "bathrooms": prop.bathrooms,
        "amenities": ",".join(prop.amenities),
        "check_in_time": prop.check_in_time.strftime("%H:%M"),
        "check_out_time": prop.check_out_time.strftime("%H:%M"),
        "timezone": prop.timezone,
        "base_price": prop.base_price,
        "cleaning_fee": prop.cleaning_fee,
        "tax_percent": prop.tax_percent,
        "min_nights": prop.min_nights,
        "max_nights": prop.max_nights,
        "weekly_discount_percent": prop.weekly_discount_percent,
        "monthly_discount_percent": prop.monthly_discount_percent,
        "advance_notice_days": prop.advance_notice_days,
        "booking_horizon_days": prop.booking_horizon_days,
        "cancellation_policy": prop.cancellation_policy,
        "images-TOTAL_FORMS": 0,
        "images-INITIAL_FORMS": 0,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_admin_property_page_saves_through_the_listing_services(tenant: Tenant) -> None:
    other = PropertyFactory(business=tenant.business, slug="taken-slug")
    client = tenant.admin_client()
    url = f"/admin/properties/property/{tenant.prop.pk}/change/"
    # A slug another property of the business uses: the service's rule, shown, not a 500.
    response = client.post(url, _admin_property_form(tenant.prop, slug=other.slug, name="X"))
    assert response.status_code == 302
    assert any("Another property of yours uses" in m for m in _said(response))
    tenant.prop.refresh_from_db()
    assert tenant.prop.name != "X"
    response = client.post(url, _admin_property_form(tenant.prop, base_price="99.00"))
    assert response.status_code == 302
    tenant.prop.refresh_from_db()
    assert str(tenant.prop.base_price) == "99.00"
    entry = audit_entries(business=tenant.business, model="properties.property").first()
    assert entry is not None
    assert entry.actor == tenant.owner
    # A new property is made by `property_create`, with the same slug rule.
    add = client.post(
        "/admin/properties/property/add/",
        _admin_property_form(tenant.prop, name="Harbour View", slug=other.slug),
    )
    assert add.status_code == 302
    assert not tenant.business.properties.filter(name="Harbour View").exists()
    add = client.post(
        "/admin/properties/property/add/",
        _admin_property_form(tenant.prop, name="Harbour View", slug="harbour-view"),
    )
    assert add.status_code == 302
    created = tenant.business.properties.get(name="Harbour View")
    assert created.slug == "harbour-view"
    entry = audit_entries(business=tenant.business, model="properties.property").first()
    assert entry is not None
    assert entry.actor == tenant.owner
    assert entry.object_pk == str(created.pk)


def test_the_currency_lock_counts_only_this_business(tenant: Tenant, outsider: Tenant) -> None:
    stay(outsider.prop, business_today(outsider.business) + timedelta(days=3), 2)
    assert _client(tenant.owner).get(SETTINGS).context["form"].fields["currency"].disabled is False
