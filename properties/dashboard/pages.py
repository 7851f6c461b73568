"""What the properties app itself puts on the dashboard."""

from __future__ import annotations

from django.db.models import Exists, Q
from django.urls import reverse

from properties.dashboard.registry import register_nav, register_setup_step
from properties.models import Business, Property


def _has_property(business: Business) -> Q:
    return Q(Exists(Property.objects.for_business(business)))


def register() -> None:
    register_nav("Today", "dashboard:today", order=0)
    register_setup_step(
        "property",
        "Add your first property",
        text="Name, photos, prices and check-in times: what guests see on your site.",
        url=lambda: reverse("admin:properties_property_add"),
        done=_has_property,
        order=10,
    )
