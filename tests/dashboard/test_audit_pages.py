"""Changes made on the dashboard's editing pages appear on the audit page, with who
made them; key codes are recorded without the code."""

from __future__ import annotations

from datetime import date

from auditlog.models import LogEntry
from django.test import Client

from messaging.models import EmailTemplate, KeyCode, Kind, Staff
from properties.audit import audit_entries
from properties.models import SeasonalRate, User
from tests.conftest import APP_HOST, Tenant


def _client(user: User) -> Client:
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(user)
    return client


def test_changes_on_the_new_pages_appear_on_the_audit_page(tenant: Tenant) -> None:
    client = _client(tenant.owner)
    prop = tenant.prop
    prices = {
        "form": "prices",
        "base_price": "155.00",
        "cleaning_fee": prop.cleaning_fee,
        "tax_percent": prop.tax_percent,
        "min_nights": prop.min_nights,
        "max_nights": prop.max_nights,
        "weekly_discount_percent": 0,
        "monthly_discount_percent": 0,
        "advance_notice_days": 0,
        "booking_horizon_days": prop.booking_horizon_days,
        "cancellation_policy": prop.cancellation_policy,
    }
    assert client.post(f"/dashboard/properties/{prop.pk}/prices/", prices).status_code == 302
    season = {
        "form": "season",
        "new-name": "Christmas",
        "new-start": "2031-12-20",
        "new-end": "2032-01-02",
        "new-nightly_price": "250",
    }
    assert client.post(f"/dashboard/properties/{prop.pk}/prices/", season).status_code == 302
    staff = {"name": "Maria", "email": "maria@example.com", "kind": "cleaner", "active": "on"}
    assert client.post("/dashboard/staff/new/", staff).status_code == 302

    entries = list(audit_entries(business=tenant.business))
    by_model = {(e.content_type.model, e.action) for e in entries}
    assert ("property", LogEntry.Action.UPDATE) in by_model
    assert ("seasonalrate", LogEntry.Action.CREATE) in by_model
    assert ("staff", LogEntry.Action.CREATE) in by_model
    mine = [
        e
        for e in entries
        if e.action != LogEntry.Action.CREATE or e.content_type.model != "property"
    ]
    assert mine
    assert all(
        e.actor == tenant.owner
        for e in mine
        if e.content_type.model in ("property", "seasonalrate", "staff")
    )
    price = next(e for e in entries if e.content_type.model == "property")
    assert price.changes_dict["base_price"][1] == "155.00"

    page = client.get("/dashboard/audit/?model=messaging.staff")
    assert page.status_code == 200
    assert [row["entry"].object_repr for row in page.context["rows"]] == [
        str(Staff.objects.get(business=tenant.business))
    ]
    everything = client.get("/dashboard/audit/").content.decode()
    assert "Christmas" in everything
    rate = SeasonalRate.objects.get(property=prop)
    assert str(rate) in everything


def test_key_codes_are_audited_without_the_code(tenant: Tenant) -> None:
    KeyCode.objects.create(
        business=tenant.business, property=tenant.prop, code="8642", valid_from=date(2031, 1, 1)
    )
    EmailTemplate.objects.create(
        business=tenant.business, kind=Kind.WELCOME, subject="Hello", body="Welcome {{ name }}"
    )
    entries = list(audit_entries(business=tenant.business))
    models = {e.content_type.model for e in entries}
    assert {"keycode", "emailtemplate"} <= models
    key_entry = next(e for e in entries if e.content_type.model == "keycode")
    assert "code" not in key_entry.changes_dict
    assert "8642" not in key_entry.object_repr
    assert "8642" not in str(key_entry.changes)
    page = _client(tenant.owner).get("/dashboard/audit/").content.decode()
    assert "8642" not in page
