from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms

from properties.models import CURRENCIES
from properties.selectors import slug_unavailable_reason
from properties.validators import validate_business_slug

TIMEZONE_CHOICES = [
    (name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())
]


class BusinessCreateForm(forms.Form):
    name = forms.CharField(max_length=120, label="Business name")
    slug = forms.CharField(
        max_length=63,
        label="Site address",
        help_text=(
            "Lowercase letters, digits and hyphens; your site will be <address>.holidesk.app."
        ),
        validators=[validate_business_slug],
    )
    contact_email = forms.EmailField(label="Contact email for guests")
    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES, initial="Europe/London")
    currency = forms.ChoiceField(choices=CURRENCIES, initial="EUR")

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"].strip().lower()
        problem = slug_unavailable_reason(slug=slug)
        if problem:
            raise forms.ValidationError(problem)
        return slug

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "input")
