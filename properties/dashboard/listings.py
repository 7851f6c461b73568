"""The property pages of the dashboard: a property's settings, a new property, and a
property's prices with its seasons.

Forms only shape the input (their fields and widgets come from the model); every write
goes through `properties.services.listings`, which asks who may and enforces the
rules. Properties are looked up among `acting.properties()`, so another business's
property, or another group's for a group manager, answers 404.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from properties.dashboard.access import Acting
from properties.dashboard.forms import form_add_domain_error
from properties.dashboard.views import render_page
from properties.errors import DomainError
from properties.models import Property, SeasonalRate
from properties.permissions import MANAGE_PROPERTIES, MANAGE_RATES
from properties.services.listings import (
    PRICE_FIELDS,
    SETTINGS_FIELDS,
    property_create,
    property_update,
    seasonal_rate_delete,
    seasonal_rate_save,
)

# The first prices of a new property (the rest are on its prices page).
NEW_PRICE_FIELDS = ("base_price", "cleaning_fee", "min_nights")

SECTIONS = (
    ("About", ("name", "slug", "group", "published", "description", "address")),
    ("Capacity", ("max_guests", "bedrooms", "bathrooms", "amenities")),
    ("House times", ("check_in_time", "check_out_time", "timezone")),
)
PRICE_SECTIONS = (
    ("Nightly price and fees", ("base_price", "cleaning_fee", "tax_percent")),
    (
        "Stay rules",
        ("min_nights", "max_nights", "advance_notice_days", "booking_horizon_days"),
    ),
    ("Discounts", ("weekly_discount_percent", "monthly_discount_percent")),
    ("Cancellation", ("cancellation_policy",)),
)


def _time_widget() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class PropertyForm(forms.ModelForm[Property]):
    class Meta:
        model = Property
        fields = SETTINGS_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 6}),
            "address": forms.Textarea(attrs={"rows": 3}),
            "check_in_time": _time_widget(),
            "check_out_time": _time_widget(),
        }
        labels = {
            "slug": "Address on your site",
            "max_guests": "Guests at most",
            "check_in_time": "Check-in from",
            "check_out_time": "Check-out by",
            "timezone": "Time zone",
        }
        help_texts = {
            "slug": "Part of the property's address on your site. Lowercase letters, digits, "
            "hyphens.",
            "amenities": "Separated by commas, e.g. Wi-Fi, Parking, Dishwasher.",
            "published": "Shown on your site and bookable.",
        }

    def __init__(self, *args: Any, acting: Acting, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        group = self.fields["group"]
        assert isinstance(group, forms.ModelChoiceField)
        group.queryset = acting.scope.groups().order_by("name")
        group.required = not acting.scope.whole_business
        group.empty_label = "No group"
        self.fields["slug"].required = self.instance.pk is not None


class NewPropertyForm(PropertyForm):
    class Meta(PropertyForm.Meta):
        fields = (*SETTINGS_FIELDS, *NEW_PRICE_FIELDS)  # type: ignore[assignment]
        help_texts = {
            **PropertyForm.Meta.help_texts,
            "slug": "Leave empty to make it from the name.",
        }


class PricesForm(forms.ModelForm[Property]):
    class Meta:
        model = Property
        fields = PRICE_FIELDS
        labels = {
            "min_nights": "Minimum stay (nights)",
            "max_nights": "Longest stay (nights)",
        }


class SeasonForm(forms.ModelForm[SeasonalRate]):
    class Meta:
        model = SeasonalRate
        fields = ("name", "start", "end", "nightly_price", "min_nights")
        widgets = {
            "start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        labels = {
            "start": "First night",
            "end": "Until (the day after the last night)",
            "min_nights": "Minimum stay (nights)",
        }
        help_texts = {"start": "", "end": "", "min_nights": "For arrivals in this season."}

    def _get_validation_exclusions(self) -> set[str]:
        # Dates against each other (end after start, the other seasons) are the
        # service's rule, which names the field; the row's constraint would not.
        return {*super()._get_validation_exclusions(), "end"}  # type: ignore[misc]


def _values(form: forms.ModelForm[Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {field: form.cleaned_data[field] for field in fields if field in form.cleaned_data}


def _property(acting: Acting, property_id: int) -> Property:
    prop = acting.properties().select_related("group").filter(pk=property_id).first()
    if prop is None:
        raise Http404("No such property.")
    return prop


def _sections(form: forms.BaseForm, sections: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [
        {"title": title, "fields": [form[name] for name in names if name in form.fields]}
        for title, names in sections
    ]


def property_new_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    blank = Property(business=acting.business, base_price=None)
    form = NewPropertyForm(request.POST or None, instance=blank, acting=acting)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                prop = property_create(
                    by=acting.user,
                    business=acting.business,
                    values=_values(form, (*SETTINGS_FIELDS, *NEW_PRICE_FIELDS)),
                )
            except DomainError as error:
                form_add_domain_error(form, error)
            else:
                messages.success(
                    request,
                    f"{prop.name} is added. Add its photos and seasons, then publish it.",
                )
                return redirect("dashboard:property-edit", property_id=prop.pk)
        status = 400
    sections = (
        *SECTIONS,
        ("First prices", NEW_PRICE_FIELDS),
    )
    context = {"form": form, "sections": _sections(form, sections), "new": True}
    return render_page(request, acting, "dashboard/properties/edit.html", context, status=status)


def property_edit_page(request: HttpRequest, acting: Acting, property_id: int) -> HttpResponse:
    prop = _property(acting, property_id)
    form = PropertyForm(
        request.POST or None, instance=_property(acting, property_id), acting=acting
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                prop = property_update(
                    by=acting.user, prop=prop, values=_values(form, SETTINGS_FIELDS)
                )
            except DomainError as error:
                form_add_domain_error(form, error)
            else:
                messages.success(request, f"{prop.name} is saved.")
                return redirect("dashboard:property-edit", property_id=prop.pk)
        status = 400
    context = {
        "form": form,
        "property": prop,
        "sections": _sections(form, SECTIONS),
        "new": False,
        "can_prices": acting.may(MANAGE_RATES, prop),
    }
    return render_page(request, acting, "dashboard/properties/edit.html", context, status=status)


def _season_rows(prop: Property) -> list[SeasonalRate]:
    rows = list(SeasonalRate.objects.filter(property=prop).order_by("start", "end"))
    for rate in rows:
        rate.last_night = rate.end - timedelta(days=1)  # type: ignore[attr-defined]
    return rows


def property_prices_page(request: HttpRequest, acting: Acting, property_id: int) -> HttpResponse:
    prop = _property(acting, property_id)
    prices = PricesForm(
        request.POST if request.POST.get("form") == "prices" else None,
        instance=_property(acting, property_id),
    )
    season = SeasonForm(
        request.POST if request.POST.get("form") == "season" else None,
        instance=SeasonalRate(business=acting.business, property=prop),
        prefix="new",
    )
    status = 200
    if request.method == "POST":
        status = 400
        if prices.is_bound and prices.is_valid():
            try:
                property_update(by=acting.user, prop=prop, values=_values(prices, PRICE_FIELDS))
            except DomainError as error:
                form_add_domain_error(prices, error)
            else:
                messages.success(request, "Prices and stay rules are saved.")
                return redirect("dashboard:property-prices", property_id=prop.pk)
        elif season.is_bound and season.is_valid():
            try:
                added = seasonal_rate_save(by=acting.user, prop=prop, values=season.cleaned_data)
            except DomainError as error:
                form_add_domain_error(season, error)
            else:
                messages.success(request, f"Season {added.name} is added.")
                return redirect("dashboard:property-prices", property_id=prop.pk)
    context = {
        "property": prop,
        "prices": prices,
        "price_sections": _sections(prices, PRICE_SECTIONS),
        "season": season,
        "seasons": _season_rows(prop),
        "currency": acting.business.currency,
        "can_edit_property": acting.may(MANAGE_PROPERTIES, prop),
    }
    return render_page(request, acting, "dashboard/properties/prices.html", context, status=status)


def _rate(prop: Property, rate_id: int) -> SeasonalRate:
    rate = SeasonalRate.objects.filter(property=prop, pk=rate_id).first()
    if rate is None:
        raise Http404("No such season.")
    return rate


def season_edit_page(
    request: HttpRequest, acting: Acting, property_id: int, rate_id: int
) -> HttpResponse:
    prop = _property(acting, property_id)
    rate = _rate(prop, rate_id)
    form = SeasonForm(request.POST or None, instance=_rate(prop, rate_id))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                seasonal_rate_save(by=acting.user, prop=prop, rate=rate, values=form.cleaned_data)
            except DomainError as error:
                form_add_domain_error(form, error)
            else:
                messages.success(request, f"Season {form.cleaned_data['name']} is saved.")
                return redirect("dashboard:property-prices", property_id=prop.pk)
        status = 400
    context = {"property": prop, "rate": rate, "form": form}
    return render_page(request, acting, "dashboard/properties/season.html", context, status=status)


def season_delete_page(
    request: HttpRequest, acting: Acting, property_id: int, rate_id: int
) -> HttpResponse:
    prop = _property(acting, property_id)
    rate = _rate(prop, rate_id)
    if request.method == "POST":
        seasonal_rate_delete(by=acting.user, rate=rate)
        messages.success(request, f"Season {rate.name} is deleted.")
    return redirect("dashboard:property-prices", property_id=prop.pk)
