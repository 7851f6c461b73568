"""The tenant-scoped admin: owners see and edit only their own business."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.forms import ModelChoiceField
from django.urls import reverse

from properties.admin_base import TenantAdmin, site
from properties.models import Property, PropertyGroup
from tests.conftest import Tenant
from tests.factories import PropertyGroupFactory, UserFactory
from tests.tenant_objects import TENANT_OBJECT_FACTORIES, make

TENANT_ADMINS = sorted(
    (model for model, admin in site._registry.items() if isinstance(admin, TenantAdmin)),
    key=lambda model: model._meta.label,
)


def _url(model: type, action: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_every_tenant_admin_has_a_factory() -> None:
    missing = [m._meta.label for m in TENANT_ADMINS if m not in TENANT_OBJECT_FACTORIES]
    assert missing == []


@pytest.mark.parametrize("model", TENANT_ADMINS, ids=lambda m: m._meta.label)
def test_list_page_shows_only_own_business(tenant: Tenant, outsider: Tenant, model: type) -> None:
    mine = make(model, tenant.business)
    theirs = make(model, outsider.business)
    response = tenant.admin_client().get(_url(model, "changelist"))
    assert response.status_code == 200
    shown = set(response.context["cl"].queryset.values_list("pk", flat=True))
    assert mine.pk in shown
    assert theirs.pk not in shown


@pytest.mark.parametrize("model", TENANT_ADMINS, ids=lambda m: m._meta.label)
@pytest.mark.parametrize("action", ["change", "delete", "history"])
def test_other_business_object_by_id_is_404(
    tenant: Tenant, outsider: Tenant, model: type, action: str
) -> None:
    theirs = make(model, outsider.business)
    response = tenant.admin_client().get(_url(model, action, quote(theirs.pk)))
    assert response.status_code == 404


# Every choice of a related row that a tenant admin's change form offers. A new one
# must be added here: test_every_choice_field_is_checked finds them all.
CHOICE_FIELDS = sorted(
    [
        ("bookings.Booking", "property"),
        ("integrations.IcalFeed", "property"),
        ("integrations.ListingLink", "property"),
        ("messaging.PropertyMessaging", "default_cleaner"),
        ("messaging.PropertyMessaging", "property"),
        ("messaging.Turnover", "cleaner"),
        ("properties.Membership", "groups"),
        ("properties.Property", "group"),
        ("properties.SeasonalRate", "property"),
    ]
)


def _model(label: str) -> type:
    return next(m for m in TENANT_ADMINS if m._meta.label == label)


def _change_form_choices(tenant: Tenant, obj: object) -> dict[str, ModelChoiceField]:
    response = tenant.admin_client().get(_url(type(obj), "change", quote(obj.pk)))
    if response.status_code == 403:  # a read-only model has no form to offer choices in
        return {}
    assert response.status_code == 200
    form = response.context["adminform"].form
    return {n: f for n, f in form.fields.items() if isinstance(f, ModelChoiceField)}


def test_every_choice_field_is_checked(tenant: Tenant) -> None:
    found = sorted(
        (model._meta.label, name)
        for model in TENANT_ADMINS
        for name in _change_form_choices(tenant, make(model, tenant.business))
    )
    assert found == CHOICE_FIELDS


@pytest.mark.parametrize(("label", "name"), CHOICE_FIELDS, ids=[".".join(c) for c in CHOICE_FIELDS])
def test_foreign_key_choices_are_own_business_only(
    tenant: Tenant, outsider: Tenant, label: str, name: str
) -> None:
    mine = make(_model(label), tenant.business)
    field = _change_form_choices(tenant, mine)[name]
    related = field.queryset.model
    ours, theirs = make(related, tenant.business), make(related, outsider.business)
    offered = set(field.queryset)
    assert ours in offered
    assert theirs not in offered
    assert {getattr(obj, "business", obj) for obj in offered} == {tenant.business}


def test_saving_sets_the_business_from_the_membership(tenant: Tenant, outsider: Tenant) -> None:
    group = PropertyGroupFactory(business=tenant.business)
    data = {
        "name": "New Place",
        "slug": "new-place",
        "group": group.pk,
        "business": outsider.business.pk,  # ignored: the field is not on the form
        "description": "",
        "address": "",
        "max_guests": 3,
        "bedrooms": 1,
        "bathrooms": 1,
        "amenities": "Wi-Fi,Garden",
        "check_in_time": "15:00",
        "check_out_time": "10:00",
        "timezone": "",
        "base_price": "120.00",
        "cleaning_fee": "30.00",
        "tax_percent": "0",
        "min_nights": 2,
        "max_nights": 30,
        "weekly_discount_percent": "0",
        "monthly_discount_percent": "0",
        "advance_notice_days": 0,
        "booking_horizon_days": 548,
        "cancellation_policy": "moderate",
        "images-TOTAL_FORMS": 0,
        "images-INITIAL_FORMS": 0,
    }
    response = tenant.admin_client().post(_url(Property, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = Property.objects.get(slug="new-place")
    assert created.business == tenant.business
    assert created.amenities == ["Wi-Fi", "Garden"]


def test_choosing_another_business_group_is_a_form_error(tenant: Tenant, outsider: Tenant) -> None:
    theirs = PropertyGroupFactory(business=outsider.business)
    response = tenant.admin_client().post(
        _url(Property, "add"), {"name": "X", "slug": "x", "group": theirs.pk, "base_price": "1"}
    )
    assert response.status_code == 200
    assert "group" in response.context["adminform"].form.errors
    assert not Property.objects.filter(slug="x").exists()


def test_superuser_sees_every_business(tenant: Tenant, outsider: Tenant, client) -> None:
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.defaults["HTTP_HOST"] = "localhost"
    client.force_login(admin)
    response = client.get(_url(PropertyGroup, "changelist"))
    assert response.status_code == 200
    mine, theirs = (
        PropertyGroupFactory(business=tenant.business),
        PropertyGroupFactory(business=outsider.business),
    )
    response = client.get(_url(PropertyGroup, "changelist"))
    shown = set(response.context["cl"].queryset.values_list("pk", flat=True))
    assert {mine.pk, theirs.pk} <= shown


def test_visitor_without_membership_cannot_enter_the_admin(tenant: Tenant, app_client) -> None:
    visitor = UserFactory()
    app_client.force_login(visitor)
    response = app_client.get("/admin/")
    assert response.status_code == 403
    assert b"not an owner or manager" in response.content


def test_admin_is_not_served_on_business_sites(tenant: Tenant) -> None:
    client = tenant.site_client()
    client.force_login(tenant.owner)
    assert client.get("/admin/").status_code == 404


def test_api_token_is_shown_once_and_stored_hashed(tenant: Tenant) -> None:
    from properties.models import ApiToken

    response = tenant.admin_client().post(_url(ApiToken, "add"), {"name": "Zapier"}, follow=True)
    assert response.status_code == 200
    message = next(iter(response.context["messages"])).message
    raw = message.rsplit(" ", 1)[-1]
    token = ApiToken.objects.get(name="Zapier")
    assert token.business == tenant.business
    assert token.key_hash == ApiToken.hash_key(raw)
    assert raw not in token.key_hash
