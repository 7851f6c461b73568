"""Listing links have one door, integrations.services.channels: the rules (a property of
the channel's own business; each listing id and each property linked once per channel)
hold through the service and through the admin, which calls it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from integrations.errors import InvalidChannelSetup
from integrations.models import Channel, ListingLink
from integrations.services import channels
from tests.conftest import APP_HOST, Tenant
from tests.factories import PropertyFactory, UserFactory
from tests.integrations.conftest import Partner, make_partner

pytestmark = pytest.mark.django_db


def _url(action: str, *args: object) -> str:
    return reverse(f"admin:integrations_listinglink_{action}", args=args)


@pytest.fixture
def superuser_client() -> Client:
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _add(client: Client, channel: Channel, listing_id: str, prop: Any) -> Any:
    return client.post(
        _url("add"), {"channel": channel.pk, "listing_id": listing_id, "property": prop.pk}
    )


# --- Through the service ----------------------------------------------------------------


def test_service_refuses_a_property_of_another_business(partner: Partner, outsider: Tenant) -> None:
    theirs = PropertyFactory(business=outsider.business)
    with pytest.raises(InvalidChannelSetup) as refused:
        channels.listing_link_create(channel=partner.channel, listing_id="air-9", property=theirs)
    assert "property" in refused.value.fields
    assert not ListingLink.objects.filter(listing_id="air-9").exists()


def test_service_refuses_a_second_listing_for_one_property(partner: Partner) -> None:
    with pytest.raises(InvalidChannelSetup) as refused:
        channels.listing_link_create(
            channel=partner.channel, listing_id="air-9", property=partner.link.property
        )
    assert "property" in refused.value.fields
    assert ListingLink.objects.count() == 1


def test_service_refuses_a_listing_id_already_linked_to_another_property(
    partner: Partner, tenant: Tenant
) -> None:
    other = PropertyFactory(business=tenant.business)
    with pytest.raises(InvalidChannelSetup) as refused:
        channels.listing_link_create(channel=partner.channel, listing_id="air-555", property=other)
    assert "listing_id" in refused.value.fields
    assert ListingLink.objects.get().property == tenant.prop


def test_service_returns_the_same_link_for_the_same_mapping(partner: Partner) -> None:
    again = channels.listing_link_create(
        channel=partner.channel, listing_id="air-555", property=partner.link.property
    )
    assert again == partner.link


def test_service_changes_a_link_within_the_rules(partner: Partner, outsider: Tenant) -> None:
    with pytest.raises(InvalidChannelSetup):
        channels.listing_link_change(
            link=partner.link,
            listing_id="air-1",
            property=PropertyFactory(business=outsider.business),
        )
    partner.link.refresh_from_db()
    assert partner.link.listing_id == "air-555"
    changed = channels.listing_link_change(
        link=partner.link, listing_id="air-1", property=partner.link.property
    )
    assert ListingLink.objects.get().listing_id == changed.listing_id == "air-1"


# --- Through the admin ------------------------------------------------------------------


def test_owner_adds_a_link_in_the_admin(tenant: Tenant, partner: Partner) -> None:
    prop = PropertyFactory(business=tenant.business)
    response = _add(tenant.admin_client(), partner.channel, "air-2", prop)
    assert response.status_code == 302, response.context["adminform"].form.errors
    link = ListingLink.objects.get(listing_id="air-2")
    assert (link.property, link.business) == (prop, tenant.business)


def test_admin_refuses_a_property_of_another_business(
    superuser_client: Client, partner: Partner, outsider: Tenant
) -> None:
    # Owners are only offered their own properties; a platform superuser sees them all.
    theirs = PropertyFactory(business=outsider.business)
    response = _add(superuser_client, partner.channel, "air-9", theirs)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "different businesses" in str(errors["property"])
    assert not ListingLink.objects.filter(listing_id="air-9").exists()


def test_superuser_link_takes_the_business_of_its_channel(
    superuser_client: Client, partner: Partner, tenant: Tenant
) -> None:
    prop = PropertyFactory(business=tenant.business)
    response = _add(superuser_client, partner.channel, "air-3", prop)
    assert response.status_code == 302
    assert ListingLink.objects.get(listing_id="air-3").business == tenant.business


@pytest.mark.parametrize(
    ("listing_id", "field"), [("air-9", "property"), ("air-555", "listing_id")]
)
def test_admin_refuses_a_second_link_per_channel(
    tenant: Tenant, partner: Partner, listing_id: str, field: str
) -> None:
    # air-9 for the already linked property; air-555 (taken) for a new property.
    prop = tenant.prop if field == "property" else PropertyFactory(business=tenant.business)
    response = _add(tenant.admin_client(), partner.channel, listing_id, prop)
    assert response.status_code == 200
    assert "already linked" in str(response.context["adminform"].form.errors[field])
    assert ListingLink.objects.count() == 1


def test_admin_change_goes_through_the_rules(
    superuser_client: Client, partner: Partner, outsider: Tenant, tenant: Tenant
) -> None:
    theirs = PropertyFactory(business=outsider.business)
    url = _url("change", partner.link.pk)
    refused = superuser_client.post(url, {"listing_id": "air-1", "property": theirs.pk})
    assert refused.status_code == 200
    assert "property" in refused.context["adminform"].form.errors
    partner.link.refresh_from_db()
    assert (partner.link.listing_id, partner.link.property) == ("air-555", tenant.prop)
    accepted = superuser_client.post(url, {"listing_id": "air-1", "property": tenant.prop.pk})
    assert accepted.status_code == 302
    partner.link.refresh_from_db()
    assert partner.link.listing_id == "air-1"


def test_channel_page_lists_its_links_read_only(tenant: Tenant, outsider: Tenant) -> None:
    mine = make_partner(tenant)
    theirs = make_partner(outsider)
    client = tenant.admin_client()
    page = client.get(reverse("admin:integrations_channel_change", args=[mine.channel.pk]))
    assert page.status_code == 200
    assert b"air-555" in page.content
    assert b"listings-0-property" not in page.content  # no editable row
    other = client.get(reverse("admin:integrations_channel_change", args=[theirs.channel.pk]))
    assert other.status_code == 404
