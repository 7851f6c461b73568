"""A property's settings, a new property, and a property's prices and seasons on the
dashboard: the service's rules, and what each role gets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from properties.models import Membership, Property, PropertyGroup, SeasonalRate, User
from properties.permissions import NotAllowed
from properties.services.listings import (
    PropertyInvalid,
    property_create,
    property_update,
    season_overlap_problem,
    seasonal_rate_save,
)
from tests.conftest import APP_HOST, Tenant
from tests.factories import MembershipFactory, PropertyFactory

Role = Membership.Role


def _client(user: User) -> Client:
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(user)
    return client


def _member(tenant: Tenant, role: str, groups: list[PropertyGroup] | None = None) -> User:
    membership = MembershipFactory(business=tenant.business, role=role)
    if groups:
        membership.groups.set(groups)
    return membership.user


@pytest.fixture
def hotels(tenant: Tenant) -> dict[str, Any]:
    a = PropertyGroup.objects.create(business=tenant.business, name="Hotel A")
    b = PropertyGroup.objects.create(business=tenant.business, name="Hotel B")
    room_a = PropertyFactory(business=tenant.business, group=a, name="Room A1")
    room_b = PropertyFactory(business=tenant.business, group=b, name="Room B1")
    return {"a": a, "b": b, "room_a": room_a, "room_b": room_b}


def _settings_form(prop: Property, **changes: Any) -> dict[str, Any]:
    data = {
        "name": prop.name,
        "slug": prop.slug,
        "group": prop.group_id or "",
        "description": prop.description,
        "address": prop.address,
        "max_guests": prop.max_guests,
        "bedrooms": prop.bedrooms,
        "bathrooms": prop.bathrooms,
        "amenities": ",".join(prop.amenities),
        "check_in_time": "16:00",
        "check_out_time": "10:00",
        "timezone": prop.timezone,
    }
    if prop.published:
        data["published"] = "on"
    data.update(changes)
    return data


def _prices_form(prop: Property, **changes: Any) -> dict[str, Any]:
    data = {
        "form": "prices",
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
    }
    data.update(changes)
    return data


def _season(**values: Any) -> dict[str, Any]:
    data = {
        "form": "season",
        "new-name": "Summer",
        "new-start": "2031-07-01",
        "new-end": "2031-08-01",
        "new-nightly_price": "180.00",
        "new-min_nights": "3",
    }
    data.update({f"new-{k}": v for k, v in values.items()})
    return data


# --- The service ---------------------------------------------------------------------


def test_the_service_validates_as_the_model_does(tenant: Tenant) -> None:
    with pytest.raises(PropertyInvalid) as caught:
        property_update(by=tenant.owner, prop=tenant.prop, values={"max_guests": 0})
    assert "max_guests" in caught.value.fields
    with pytest.raises(PropertyInvalid) as caught:
        property_update(by=tenant.owner, prop=tenant.prop, values={"base_price": Decimal(-1)})
    assert "base_price" in caught.value.fields
    tenant.prop.refresh_from_db()
    assert tenant.prop.max_guests == 4


def test_a_new_property_gets_a_free_slug_and_stays_unpublished(tenant: Tenant) -> None:
    values = {"name": tenant.prop.name, "base_price": Decimal(90)}
    prop = property_create(by=tenant.owner, business=tenant.business, values=values)
    assert prop.slug != tenant.prop.slug
    assert prop.slug.startswith(tenant.prop.slug.split("-")[0])
    assert prop.published is False
    with pytest.raises(PropertyInvalid) as caught:
        property_update(by=tenant.owner, prop=prop, values={"slug": tenant.prop.slug})
    assert "slug" in caught.value.fields


def test_a_group_manager_keeps_properties_in_their_groups(
    tenant: Tenant, hotels: dict[str, Any]
) -> None:
    manager = _member(tenant, Role.GROUP_MANAGER, [hotels["a"]])
    property_update(by=manager, prop=hotels["room_a"], values={"bedrooms": 3})
    with pytest.raises(NotAllowed):
        property_update(by=manager, prop=hotels["room_b"], values={"bedrooms": 3})
    with pytest.raises(PropertyInvalid):
        property_update(by=manager, prop=hotels["room_a"], values={"group": hotels["b"]})
    with pytest.raises(PropertyInvalid):
        property_update(by=manager, prop=hotels["room_a"], values={"group": None})
    with pytest.raises(PropertyInvalid):
        property_create(by=manager, business=tenant.business, values={"name": "Loose"})
    made = property_create(
        by=manager, business=tenant.business, values={"name": "Room A2", "group": hotels["a"]}
    )
    assert made.group == hotels["a"]


def test_front_desk_may_not_change_prices(tenant: Tenant, hotels: dict[str, Any]) -> None:
    desk = _member(tenant, Role.FRONT_DESK, [hotels["a"]])
    with pytest.raises(NotAllowed):
        property_update(by=desk, prop=hotels["room_a"], values={"base_price": Decimal(1)})
    with pytest.raises(NotAllowed):
        seasonal_rate_save(
            by=desk,
            prop=hotels["room_a"],
            values={
                "name": "X",
                "start": date(2031, 1, 1),
                "end": date(2031, 1, 5),
                "nightly_price": Decimal(1),
            },
        )


def test_seasons_may_nest_but_not_partly_overlap(tenant: Tenant) -> None:
    prop = tenant.prop
    SeasonalRate.objects.create(
        business=tenant.business,
        property=prop,
        name="Winter",
        start=date(2031, 12, 1),
        end=date(2032, 3, 1),
        nightly_price=Decimal(120),
    )
    inside = season_overlap_problem(prop=prop, start=date(2031, 12, 20), end=date(2032, 1, 2))
    assert inside == ""
    assert "in part" in season_overlap_problem(
        prop=prop, start=date(2032, 2, 20), end=date(2032, 3, 10)
    )
    assert "same night" in season_overlap_problem(
        prop=prop, start=date(2031, 12, 1), end=date(2031, 12, 10)
    )
    assert season_overlap_problem(prop=prop, start=date(2032, 3, 1), end=date(2032, 4, 1)) == ""


# --- The pages --------------------------------------------------------------------------


def test_the_owner_edits_a_property(tenant: Tenant) -> None:
    client = _client(tenant.owner)
    url = f"/dashboard/properties/{tenant.prop.pk}/"
    page = client.get(url)
    assert page.status_code == 200
    assert b"House times" in page.content
    response = client.post(
        url, _settings_form(tenant.prop, name="Sea View", max_guests=6, amenities="Wi-Fi, Parking")
    )
    assert response.status_code == 302
    tenant.prop.refresh_from_db()
    assert (tenant.prop.name, tenant.prop.max_guests) == ("Sea View", 6)
    assert tenant.prop.amenities == ["Wi-Fi", "Parking"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_guests": 0}, "max_guests"),
        ({"max_guests": "many"}, "max_guests"),
        ({"name": ""}, "name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"check_in_time": "25:99"}, "check_in_time"),
    ],
)
def test_bad_settings_are_form_errors(tenant: Tenant, changes: dict[str, Any], field: str) -> None:
    client = _client(tenant.owner)
    response = client.post(
        f"/dashboard/properties/{tenant.prop.pk}/", _settings_form(tenant.prop, **changes)
    )
    assert response.status_code == 400
    assert response.context["form"].errors[field]


def test_a_taken_slug_is_a_form_error(tenant: Tenant) -> None:
    other = PropertyFactory(business=tenant.business)
    response = _client(tenant.owner).post(
        f"/dashboard/properties/{tenant.prop.pk}/", _settings_form(tenant.prop, slug=other.slug)
    )
    assert response.status_code == 400
    assert response.context["form"].errors["slug"]


def test_the_owner_adds_a_property(tenant: Tenant) -> None:
    client = _client(tenant.owner)
    assert client.get("/dashboard/properties/new/").status_code == 200
    data = _settings_form(
        Property(name="Harbour Loft", max_guests=2, bedrooms=1, bathrooms=1),
        slug="",
        base_price="95.00",
        cleaning_fee="30",
        min_nights=2,
    )
    response = client.post("/dashboard/properties/new/", data)
    assert response.status_code == 302
    made = Property.objects.get(business=tenant.business, name="Harbour Loft")
    assert made.slug == "harbour-loft"
    assert (made.base_price, made.min_nights, made.published) == (Decimal(95), 2, False)
    missing = client.post("/dashboard/properties/new/", {**data, "base_price": ""})
    assert missing.status_code == 400


def test_today_and_the_list_lead_to_the_new_property_page(tenant: Tenant) -> None:
    Property.objects.filter(business=tenant.business).delete()
    client = _client(tenant.owner)
    assert b"/dashboard/properties/new/" in client.get("/dashboard/").content
    assert b"/dashboard/properties/new/" in client.get("/dashboard/properties/").content


def test_prices_and_seasons(tenant: Tenant) -> None:
    client = _client(tenant.owner)
    url = f"/dashboard/properties/{tenant.prop.pk}/prices/"
    assert client.get(url).status_code == 200
    saved = client.post(url, _prices_form(tenant.prop, base_price="140.00", cleaning_fee="60"))
    assert saved.status_code == 302
    tenant.prop.refresh_from_db()
    assert tenant.prop.base_price == Decimal(140)
    assert client.post(url, _season()).status_code == 302
    rate = SeasonalRate.objects.get(property=tenant.prop)
    assert (rate.nightly_price, rate.min_nights, rate.business) == (
        Decimal(180),
        3,
        tenant.business,
    )
    page = client.get(url).content.decode()
    assert "Summer" in page
    edit = f"{url}{rate.pk}/"
    assert client.get(edit).status_code == 200
    changed = client.post(
        edit,
        {"name": "High summer", "start": "2031-07-01", "end": "2031-08-15", "nightly_price": "200"},
    )
    assert changed.status_code == 302
    rate.refresh_from_db()
    assert (rate.name, rate.end, rate.min_nights) == ("High summer", date(2031, 8, 15), None)
    assert client.get(f"{edit}delete/").status_code == 302  # GET changes nothing
    assert SeasonalRate.objects.filter(pk=rate.pk).exists()
    assert client.post(f"{edit}delete/").status_code == 302
    assert not SeasonalRate.objects.filter(pk=rate.pk).exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"end": "2031-06-01"}, "end"),
        ({"end": "2031-07-01"}, "end"),
        ({"nightly_price": "-5"}, "nightly_price"),
        ({"nightly_price": "abc"}, "nightly_price"),
        ({"min_nights": "0"}, "min_nights"),
        ({"start": "2031-07-20", "end": "2031-08-20"}, "start"),
        ({"start": "not a date"}, "start"),
    ],
)
def test_bad_seasons_are_form_errors(tenant: Tenant, values: dict[str, Any], field: str) -> None:
    client = _client(tenant.owner)
    url = f"/dashboard/properties/{tenant.prop.pk}/prices/"
    assert client.post(url, _season()).status_code == 302  # 1 Jul - 1 Aug
    response = client.post(url, _season(**values))
    assert response.status_code == 400
    assert response.context["season"].errors[field]
    assert SeasonalRate.objects.filter(property=tenant.prop).count() == 1


def test_bad_prices_are_form_errors(tenant: Tenant) -> None:
    client = _client(tenant.owner)
    url = f"/dashboard/properties/{tenant.prop.pk}/prices/"
    response = client.post(url, _prices_form(tenant.prop, base_price="-1", tax_percent="120"))
    assert response.status_code == 400
    assert set(response.context["prices"].errors) >= {"base_price", "tax_percent"}
    unknown_form = client.post(url, {"form": "nothing"})
    assert unknown_form.status_code == 400


def test_who_gets_the_property_and_price_pages(
    tenant: Tenant, outsider: Tenant, hotels: dict[str, Any]
) -> None:
    room_a, room_b = hotels["room_a"], hotels["room_b"]
    rate_b = SeasonalRate.objects.create(
        business=tenant.business,
        property=room_b,
        name="B",
        start=date(2031, 1, 1),
        end=date(2031, 1, 9),
        nightly_price=1,
    )
    people = {
        "manager": _member(tenant, Role.MANAGER),
        "group": _member(tenant, Role.GROUP_MANAGER, [hotels["a"]]),
        "desk": _member(tenant, Role.FRONT_DESK, [hotels["a"]]),
        "viewer": _member(tenant, Role.VIEWER),
        "outsider": outsider.owner,
    }
    want = {
        "manager": (200, 200, 200, 200),
        "group": (200, 200, 404, 404),
        "desk": (403, 403, 403, 403),
        "viewer": (403, 403, 403, 403),
        "outsider": (404, 404, 404, 404),
    }
    for who, user in people.items():
        client = _client(user)
        got = (
            client.get(f"/dashboard/properties/{room_a.pk}/").status_code,
            client.get(f"/dashboard/properties/{room_a.pk}/prices/").status_code,
            client.get(f"/dashboard/properties/{room_b.pk}/prices/").status_code,
            client.get(f"/dashboard/properties/{room_b.pk}/prices/{rate_b.pk}/").status_code,
        )
        assert got == want[who], who
    # A season of another property under this property's address: 404.
    owner = _client(tenant.owner)
    assert owner.get(f"/dashboard/properties/{room_a.pk}/prices/{rate_b.pk}/").status_code == 404


def test_a_group_manager_edits_a_price_in_their_group_only(
    tenant: Tenant, hotels: dict[str, Any]
) -> None:
    client = _client(_member(tenant, Role.GROUP_MANAGER, [hotels["a"]]))
    room_a, room_b = hotels["room_a"], hotels["room_b"]
    ok = client.post(
        f"/dashboard/properties/{room_a.pk}/prices/", _prices_form(room_a, base_price="77")
    )
    assert ok.status_code == 302
    refused = client.post(
        f"/dashboard/properties/{room_b.pk}/prices/", _prices_form(room_b, base_price="77")
    )
    assert refused.status_code == 404
    room_a.refresh_from_db()
    room_b.refresh_from_db()
    assert (room_a.base_price, room_b.base_price) == (Decimal(77), Decimal(100))
    # Their group choice offers their groups only.
    page = client.get(f"/dashboard/properties/{room_a.pk}/")
    assert [g.name for g in page.context["form"].fields["group"].queryset] == ["Hotel A"]
    moved = client.post(
        f"/dashboard/properties/{room_a.pk}/", _settings_form(room_a, group=hotels["b"].pk)
    )
    assert moved.status_code == 400


def test_the_admins_seasonal_rates_meet_the_same_rules(tenant: Tenant) -> None:
    client = _client(tenant.owner)
    add = "/admin/properties/seasonalrate/add/"
    row = {
        "property": tenant.prop.pk,
        "name": "Summer",
        "start": "2031-07-01",
        "end": "2031-08-01",
        "nightly_price": "150",
        "min_nights": "",
    }
    assert client.post(add, row).status_code == 302
    assert SeasonalRate.objects.filter(property=tenant.prop).count() == 1
    overlapping = client.post(add, {**row, "start": "2031-07-20", "end": "2031-08-20"}, follow=True)
    assert "in part" in overlapping.content.decode()
    assert SeasonalRate.objects.filter(property=tenant.prop).count() == 1
    rate = SeasonalRate.objects.get(property=tenant.prop)
    other = PropertyFactory(business=tenant.business)
    moved = client.post(
        f"/admin/properties/seasonalrate/{rate.pk}/change/", {**row, "property": other.pk}
    )
    assert moved.status_code == 302
    rate.refresh_from_db()
    assert rate.property == other
