"""List filters, autocomplete and choices of an owner's admin name nothing of another
business (Django's related-field filters list the whole related table)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bookings.models import Booking
from integrations.models import Channel, ListingLink
from messaging.models import Turnover
from properties.admin_base import TenantAdmin, site
from properties.models import Business, Property, PropertyGroup
from tests.conftest import Tenant
from tests.tenant_objects import make

TENANT_ADMINS = sorted(
    (model for model, admin in site._registry.items() if isinstance(admin, TenantAdmin)),
    key=lambda model: model._meta.label,
)


def _changelist(model: type) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def _mark_outsider_names(business: Business) -> set[str]:
    """Give every named row of `business` a name no other page could contain."""
    names: set[str] = set()
    for model in (Property, PropertyGroup, Channel):
        for pk in model.objects.filter(business=business).values_list("pk", flat=True):
            name = f"Outsider{model.__name__}{pk}Zq"
            model.objects.filter(pk=pk).update(name=name)
            names.add(name)
    return names


@pytest.mark.parametrize(
    "model",
    [
        pytest.param(Booking, id="bookings.Booking"),
        pytest.param(ListingLink, id="integrations.ListingLink"),
        pytest.param(Turnover, id="messaging.Turnover"),
    ],
)
def test_list_filters_name_nothing_of_another_business(
    tenant: Tenant, outsider: Tenant, model: type
) -> None:
    """The probe: the owner's booking, listing-link and turnover lists offered the
    other businesses' property and channel names as filters."""
    for _ in range(2):  # two rows each, so every filter has something to offer
        make(model, tenant.business)
        make(model, outsider.business)
    theirs = _mark_outsider_names(outsider.business)
    assert theirs
    response = tenant.admin_client().get(_changelist(model))
    assert response.status_code == 200
    html = response.content.decode()
    assert not [name for name in theirs if name in html]
    # ...while the business's own choices are still there.
    mine = Property.objects.filter(business=tenant.business).values_list("name", flat=True)
    if any(f.name == "property" for f in model._meta.get_fields()):
        assert any(name in html for name in mine)


@pytest.mark.parametrize("model", TENANT_ADMINS, ids=lambda m: m._meta.label)
def test_no_changelist_names_another_business(
    tenant: Tenant, outsider: Tenant, model: type
) -> None:
    make(model, tenant.business)
    make(model, outsider.business)
    theirs = _mark_outsider_names(outsider.business)
    response = tenant.admin_client().get(_changelist(model))
    assert response.status_code == 200
    html = response.content.decode()
    assert not [name for name in theirs if name in html]


def test_autocomplete_offers_own_rows_only(tenant: Tenant, outsider: Tenant) -> None:
    theirs = _mark_outsider_names(outsider.business)
    response = tenant.admin_client().get(
        reverse("admin:autocomplete"),
        {"app_label": "bookings", "model_name": "booking", "field_name": "property", "term": ""},
    )
    assert response.status_code == 200
    offered = {row["text"] for row in response.json()["results"]}
    assert tenant.prop.name in offered
    assert not offered & theirs


def test_filtering_by_another_business_row_shows_nothing(tenant: Tenant, outsider: Tenant) -> None:
    make(Booking, tenant.business)
    theirs = make(Booking, outsider.business)
    response = tenant.admin_client().get(
        _changelist(Booking), {"property__id__exact": theirs.property_id}
    )
    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == []
