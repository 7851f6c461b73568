"""The business settings page: name, contact, time zone, branding, and (owners) the rule
that owners must sign in with a second factor, with which owners have set one up.

Writes go through `business_save`, the service the admin's business page calls: each
changed field asks its own permission there (the two-factor rule: owners only).
"""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from properties.dashboard.access import Acting
from properties.dashboard.views import render_page
from properties.errors import DomainError
from properties.models import Business, Membership
from properties.permissions import REQUIRE_TWO_FACTOR
from properties.services import business_save

FIELDS = ("name", "contact_email", "timezone", "about", "accent_colour")
TWO_FACTOR_FIELD = "require_owner_two_factor"


class BusinessSettingsForm(forms.ModelForm[Business]):
    class Meta:
        model = Business
        fields = (*FIELDS, TWO_FACTOR_FIELD)
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
            TWO_FACTOR_FIELD: "Every owner then signs in with a code from an authenticator "
            "app; an owner without one is asked to set it up before anything else.",
        }

    def __init__(self, *args: Any, may_two_factor: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not may_two_factor:
            del self.fields[TWO_FACTOR_FIELD]


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


def settings_page(request: HttpRequest, acting: Acting) -> HttpResponse:
    may_two_factor = acting.may(REQUIRE_TWO_FACTOR)
    business = Business.objects.get(pk=acting.business.pk)
    form = BusinessSettingsForm(
        request.POST or None, instance=business, may_two_factor=may_two_factor
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = business_save(user=acting.user, business=form.instance)
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, "The business settings are saved.")
                if saved.require_owner_two_factor and not acting.business.require_owner_two_factor:
                    messages.info(
                        request,
                        "Owners must now sign in with two-factor authentication; those "
                        "without it set it up the next time they open a page.",
                    )
                return redirect("dashboard:settings")
        status = 400
    owners = owners_two_factor(acting.business) if may_two_factor else []
    context = {
        "form": form,
        "fields": [form[name] for name in FIELDS],
        "two_factor_field": form[TWO_FACTOR_FIELD] if may_two_factor else None,
        "owners": owners,
        "required": acting.business.require_owner_two_factor,
        "me_enabled": any(o["enabled"] for o in owners if o["user"].pk == acting.user.pk),
    }
    return render_page(request, acting, "dashboard/settings.html", context, status=status)
