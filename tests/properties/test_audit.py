"""The audit log: changes to bookings, prices, properties, the team and channels are
recorded with who made them; owners read their own business's entries only."""

from __future__ import annotations

from datetime import timedelta

from auditlog.models import LogEntry
from django.test import Client
from django.utils import timezone

from integrations.models import Channel
from integrations.services import channels
from properties.audit import audit_entries, audit_log_prune
from properties.models import Membership, Property, PropertyGroup
from tests.conftest import APP_HOST, Tenant
from tests.factories import MembershipFactory


def _client(user: object) -> Client:
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _property_form(prop: Property, **changes: object) -> dict[str, object]:
    data = {
        "name": prop.name,
        "slug": prop.slug,
        "max_guests": prop.max_guests,
        "bedrooms": prop.bedrooms,
        "bathrooms": prop.bathrooms,
        "check_in_time": "16:00",
        "check_out_time": "10:00",
        "base_price": prop.base_price,
        "cleaning_fee": prop.cleaning_fee,
        "tax_percent": prop.tax_percent,
        "min_nights": prop.min_nights,
        "max_nights": 30,
        "amenities": "",
        "timezone": "",
        "description": "",
        "address": "",
        "weekly_discount_percent": 0,
        "monthly_discount_percent": 0,
        "advance_notice_days": prop.advance_notice_days,
        "booking_horizon_days": prop.booking_horizon_days,
        "cancellation_policy": prop.cancellation_policy,
        "published": "on",
        "images-TOTAL_FORMS": 0,
        "images-INITIAL_FORMS": 0,
    }
    data.update(changes)
    return data


def test_a_price_change_is_recorded_with_who_made_it(tenant: Tenant, outsider: Tenant) -> None:
    client = _client(tenant.owner)
    response = client.post(
        f"/admin/properties/property/{tenant.prop.pk}/change/",
        _property_form(tenant.prop, base_price="321.00"),
    )
    assert response.status_code == 302, response.content[:2000]
    entry = audit_entries(business=tenant.business, model="properties.property").first()
    assert entry is not None
    assert entry.actor == tenant.owner
    assert entry.changes_dict["base_price"][1] == "321.00"
    assert not audit_entries(business=outsider.business, model="properties.property").filter(
        pk=entry.pk
    )
    page = client.get("/dashboard/audit/?model=properties.property").content.decode()
    assert "321.00" in page
    assert "base_price" in page


def test_team_changes_are_recorded(tenant: Tenant) -> None:
    group = PropertyGroup.objects.create(business=tenant.business, name="Hotel A")
    member = MembershipFactory(business=tenant.business, role=Membership.Role.MANAGER)
    _client(tenant.owner).post(
        f"/dashboard/team/members/{member.pk}/",
        {"role": Membership.Role.GROUP_MANAGER, "groups": [group.pk]},
    )
    entries = audit_entries(business=tenant.business, model="properties.membership")
    changes = [e.changes_dict for e in entries]
    assert any("role" in c and c["role"][1] == "group_manager" for c in changes)
    assert any("groups" in c for c in changes)
    assert entries.filter(actor=tenant.owner).exists()


def test_a_rotated_secret_is_recorded_without_its_value(tenant: Tenant) -> None:
    channel, _, _ = channels.channel_create(
        business=tenant.business, platform="airbnb", name="Airbnb", endpoint_url=""
    )
    raw = channels.channel_rotate_inbound_secret(channel=Channel.objects.get(pk=channel.pk))
    entries = audit_entries(business=tenant.business, model="integrations.channel")
    assert entries.exists()
    for entry in entries:
        assert raw not in str(entry.changes)
        assert "secret_enc" not in str(entry.changes)
    assert any("secrets_rotated_at" in e.changes_dict for e in entries)


def test_only_owners_read_the_audit_log(tenant: Tenant, outsider: Tenant) -> None:
    manager = MembershipFactory(business=tenant.business, role=Membership.Role.MANAGER).user
    assert _client(manager).get("/dashboard/audit/").status_code == 403
    assert _client(tenant.owner).get("/dashboard/audit/").status_code == 200
    outsider.prop.name = "Their secret name"
    outsider.prop.save()
    assert (
        "Their secret name" not in _client(tenant.owner).get("/dashboard/audit/").content.decode()
    )


def test_a_bad_filter_is_a_form_error_not_a_failure(tenant: Tenant) -> None:
    response = _client(tenant.owner).get(
        "/dashboard/audit/?start=2030-02-01&end=2030-01-01&actor=x"
    )
    assert response.status_code == 200
    assert b"Must not be before the start." in response.content


def test_entries_are_kept_for_a_year(tenant: Tenant) -> None:
    tenant.prop.name = "Renamed"
    tenant.prop.save()
    old = LogEntry.objects.filter(additional_data__business_id=tenant.business.pk)
    count = old.count()
    assert count
    old.update(timestamp=timezone.now() - timedelta(days=366))
    tenant.prop.name = "Renamed again"
    tenant.prop.save()
    assert audit_log_prune() == count
    assert audit_entries(business=tenant.business).count() == 1


def test_a_change_through_the_api_names_the_token_owner(tenant: Tenant) -> None:
    from properties.services import api_token_create

    _, raw = api_token_create(business=tenant.business, user=tenant.owner)
    client = Client(HTTP_HOST=APP_HOST, HTTP_AUTHORIZATION=f"Token {raw}")
    start = tenant.prop.local_today() + timedelta(days=10)
    response = client.post(
        "/api/v1/blocks/",
        {"property": tenant.prop.pk, "start": str(start), "end": str(start + timedelta(days=2))},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    entry = audit_entries(business=tenant.business, model="bookings.booking").first()
    assert entry is not None
    assert entry.actor == tenant.owner
