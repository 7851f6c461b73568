"""The business settings page: name, contact, time zone, branding (logo, accent colour),
currency and site languages, (owners) the custom domain with its DNS proof, and
(owners) the rule that owners must sign in with a second factor, with which owners have
set one up.

Writes go through `business_save`, the service the admin's business page calls: each
changed field asks its own permission there (the custom domain and the two-factor rule:
owners only), a logo must pass the photos' check, and the currency stays while stays
priced in it are still to come. The custom domain has a form of its own, posted to
`settings/domain/`, a page for those the permission module lets set it; its "check now"
asks the DNS through `custom_domain_verify`.
"""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from properties.dashboard.access import Acting
from properties.dashboard.views import render_page
from properties.errors import DomainError
from properties.models import Business, Membership
from properties.permissions import REQUIRE_TWO_FACTOR, SET_CUSTOM_DOMAIN
from properties.photos.validation import ACCEPTED_DESCRIPTION, CONTENT_TYPES
from properties.selectors import currency_lock_reason
from properties.services import (
    DOMAIN_CHECK_TEXT,
    DomainCheck,
    business_save,
    custom_domain_verify,
    verification_record,
)

FIELDS = ("name", "contact_email", "timezone", "about", "accent_colour")
BRANDING_FIELDS = ("logo",)
LOCALE_FIELDS = ("currency", "languages")
TWO_FACTOR_FIELD = "require_owner_two_factor"


LANGUAGE_CHOICES = [("", "—"), *settings.LANGUAGES]


def _position(i: int) -> str:
    if i == 0:
        return "Site default"
    return {1: "Second", 2: "Third", 3: "Fourth"}.get(i, f"Language {i + 1}")


class LanguagesWidget(forms.MultiWidget):
    """One select per position: the first is the site's default, the others follow in
    the order chosen (plain selects, so ordering needs no JavaScript). The page draws
    them itself (`language_slots`), each with its own label."""

    def __init__(self) -> None:
        widgets = [forms.Select(choices=LANGUAGE_CHOICES) for _ in settings.LANGUAGES]
        super().__init__(widgets)

    def decompress(self, value: Any) -> list[str]:
        return list(value or [])


class LanguagesField(forms.MultiValueField):
    """The chosen codes in order, empty positions left out. Whether they are known and
    each chosen once is the model's rule (`validate_languages`), asked when the form
    checks the business."""

    widget = LanguagesWidget

    def __init__(self, **kwargs: Any) -> None:
        fields = [forms.CharField(required=False) for _ in settings.LANGUAGES]
        kwargs.setdefault(
            "error_messages",
            {"required": "Choose at least one language: the first is your site's default."},
        )
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, data_list: list[str]) -> list[str]:
        return [code for code in data_list if code]


class BusinessSettingsForm(forms.ModelForm[Business]):
    # A plain file field: `business_save` checks the image as the photos are checked
    # (Django's image field would first hand the file to every decoder Pillow has).
    logo = forms.FileField(
        label="Logo image",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(CONTENT_TYPES)}),
        help_text=f"{ACCEPTED_DESCRIPTION}; shown at the top of your site and your emails.",
    )
    languages = LanguagesField(
        label="Site languages",
        help_text="The first is your site's default, served without a language in its "
        "address (/p/…); each other one lives under its code (/de/p/…). Guests' emails "
        "are written in the language they booked in.",
    )

    class Meta:
        model = Business
        fields = (*FIELDS, *BRANDING_FIELDS, *LOCALE_FIELDS, TWO_FACTOR_FIELD)
        widgets = {
            "about": forms.Textarea(attrs={"rows": 4}),
            "accent_colour": forms.TextInput(attrs={"type": "color"}),
        }
        labels = {
            "contact_email": "Contact email",
            "timezone": "Time zone",
            "about": "About the business",
            TWO_FACTOR_FIELD: "Owners must use two-factor sign-in",
        }
        help_texts = {
            "timezone": "e.g. Europe/Lisbon. Times on the dashboard are shown in it.",
            "about": "Shown on your site's home page.",
            "currency": "Prices, fees and seasons are not converted: they keep their "
            "numbers, read in the new currency. Past stays keep the currency they were "
            "paid in (reports count their nights, not their revenue).",
            TWO_FACTOR_FIELD: "Every owner then signs in with a code from an authenticator "
            "app; an owner without one is asked to set it up before anything else.",
        }

    def __init__(
        self, *args: Any, may_two_factor: bool, currency_locked: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not may_two_factor:
            del self.fields[TWO_FACTOR_FIELD]
        if currency_locked:
            # Shown, not editable, with the reason; `business_save` refuses it anyway.
            self.fields["currency"].disabled = True
            self.fields["currency"].help_text = currency_locked


class DomainForm(forms.Form):
    custom_domain = forms.CharField(
        label="Custom domain",
        required=False,
        max_length=253,
        help_text="e.g. www.seaside-cottages.com, without https://. Leave empty to serve "
        "your site at its Holidesk address only.",
    )


def owners_two_factor(business: Business) -> list[dict[str, Any]]:
    """Each owner with whether they sign in with a second factor (two queries)."""
    owners = list(
        Membership.objects.for_business(business)
        .filter(role=Membership.Role.OWNER)
        .select_related("user")
        .order_by("user__email")
    )
    enabled = set(
        Authenticator.objects.filter(user_id__in=[m.user_id for m in owners])
        .exclude(type=Authenticator.Type.RECOVERY_CODES)
        .values_list("user_id", flat=True)
    )
    return [{"user": m.user, "enabled": m.user_id in enabled} for m in owners]


def _add_errors(form: forms.BaseForm, error: ValidationError | DomainError) -> None:
    if isinstance(error, DomainError):
        form.add_error(None, error.message)
        return
    for field, problems in error.message_dict.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


def language_slots(form: BusinessSettingsForm) -> list[dict[str, str]]:
    """The language selects in order, each with its label and chosen code (the
    input when the form comes back with errors, the stored list otherwise)."""
    field = form["languages"]
    chosen = list(field.value() or [])
    chosen += [""] * (len(settings.LANGUAGES) - len(chosen))
    return [
        {
            "name": f"{field.html_name}_{i}",
            "id": f"{field.auto_id}_{i}",
            "label": _position(i),
            "value": code or "",
        }
        for i, code in enumerate(chosen[: len(settings.LANGUAGES)])
    ]


def _domain_state(business: Business) -> dict[str, Any]:
    name, value = verification_record(business)
    return {
        "domain": business.custom_domain,
        "verified_at": business.domain_verified_at,
        "checked_at": business.domain_checked_at,
        "record_name": name,
        "record_value": value,
    }


def _render(
    request: HttpRequest,
    acting: Acting,
    form: BusinessSettingsForm,
    domain_form: DomainForm | None,
    *,
    business: Business,
    status: int = 200,
) -> HttpResponse:
    may_two_factor = TWO_FACTOR_FIELD in form.fields
    owners = owners_two_factor(acting.business) if may_two_factor else []
    context = {
        "form": form,
        "fields": [form[name] for name in FIELDS],
        "branding_fields": [form[name] for name in BRANDING_FIELDS],
        "currency_field": form["currency"],
        "languages_field": form["languages"],
        "language_slots": language_slots(form),
        "language_choices": LANGUAGE_CHOICES,
        "logo_url": business.logo.url if business.logo else "",
        "two_factor_field": form[TWO_FACTOR_FIELD] if may_two_factor else None,
        "owners": owners,
        "required": acting.business.require_owner_two_factor,
        "me_enabled": any(o["enabled"] for o in owners if o["user"].pk == acting.user.pk),
        "domain_form": domain_form,
        "domain": _domain_state(business) if domain_form is not None else None,
    }
    return render_page(request, acting, "dashboard/settings.html", context, status=status)


def _settings_form(
    acting: Acting, business: Business, data: Any = None, files: Any = None
) -> BusinessSettingsForm:
    return BusinessSettingsForm(
        data,
        files,
        instance=business,
        may_two_factor=acting.may(REQUIRE_TWO_FACTOR),
        currency_locked=currency_lock_reason(business=business),
    )


def _domain_form(acting: Acting, business: Business, data: Any = None) -> DomainForm | None:
    if not acting.may(SET_CUSTOM_DOMAIN):
        return None
    return DomainForm(data, initial={"custom_domain": business.custom_domain or ""})


def settings_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    business = Business.objects.get(pk=acting.business.pk)
    posted = request.method == "POST"
    form = _settings_form(
        acting, business, request.POST if posted else None, request.FILES if posted else None
    )
    if posted:
        if form.is_valid():
            try:
                saved = business_save(user=acting.user, business=form.instance)
            except (ValidationError, DomainError) as error:
                _add_errors(form, error)
            else:
                messages.success(request, "The business settings are saved.")
                if saved.require_owner_two_factor and not acting.business.require_owner_two_factor:
                    messages.info(
                        request,
                        "Owners must now sign in with two-factor authentication; those "
                        "without it set it up the next time they open a page.",
                    )
                return redirect("dashboard:settings")
        # What is shown beside the form (logo, domain) is what is stored, not the input.
        stored = Business.objects.get(pk=business.pk)
        return _render(
            request, acting, form, _domain_form(acting, stored), business=stored, status=400
        )
    return _render(request, acting, form, _domain_form(acting, business), business=business)


_CHECK_LEVEL = {
    DomainCheck.VERIFIED: messages.SUCCESS,
    DomainCheck.MISSING: messages.WARNING,
    DomainCheck.UNKNOWN: messages.WARNING,
    DomainCheck.TAKEN: messages.ERROR,
}


def domain_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    """POST: save the custom domain (`action=save`, empty clears it) or check its TXT
    record now (`action=verify`). Owners only (`business.set_domain`, the shell asks)."""
    if request.method != "POST":
        return redirect("dashboard:settings")
    business = Business.objects.get(pk=acting.business.pk)
    if request.POST.get("action") == "verify":
        if not business.custom_domain:
            messages.warning(request, "Set a custom domain first.")
        else:
            outcome = custom_domain_verify(business=business)
            text = DOMAIN_CHECK_TEXT[outcome].format(domain=business.custom_domain)
            messages.add_message(request, _CHECK_LEVEL[outcome], text)
        return redirect("dashboard:settings")
    domain_form = DomainForm(request.POST)
    if domain_form.is_valid():
        business.custom_domain = domain_form.cleaned_data["custom_domain"] or None
        try:
            saved = business_save(user=acting.user, business=business)
        except (ValidationError, DomainError) as error:
            _add_errors(domain_form, error)
        else:
            if saved.custom_domain:
                messages.success(
                    request,
                    f"{saved.custom_domain} is saved. Add the TXT record shown below, then "
                    "check it: the domain serves your site once its record is seen.",
                )
            else:
                messages.success(
                    request, "The custom domain is removed: your site is at its Holidesk address."
                )
            return redirect("dashboard:settings")
    stored = Business.objects.get(pk=business.pk)
    form = _settings_form(acting, stored)
    return _render(request, acting, form, domain_form, business=stored, status=400)
