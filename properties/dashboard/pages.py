"""What the properties app itself puts on the dashboard."""

from __future__ import annotations

from django.urls import reverse

from properties.dashboard.registry import register_nav, register_setup_step
from properties.models import Business, Property
from properties.permissions import USE_ADMIN


def _has_property(business: Business) -> bool:
    return Property.objects.for_business(business).exists()


def register() -> None:
    register_nav("Today", "dashboard:today", order=0)
    register_setup_step(
        "property",
        "Add your first property",
        text="Name, photos, prices and check-in times: what guests see on your site.",
        url=lambda: reverse("admin:properties_property_add"),
        done=_has_property,
        order=10,
        action=USE_ADMIN,
    )
