"""What the properties app itself puts on the dashboard."""

from __future__ import annotations

from django.db.models import Exists, Q
from django.urls import reverse

from properties.dashboard.registry import register_nav, register_page, register_setup_step
from properties.models import Business, Property
from properties.permissions import EDIT_PROPERTIES


def _has_property(business: Business) -> Q:
    return Q(Exists(Property.objects.for_business(business)))


def register() -> None:
    from properties.photos import dashboard as photos

    register_nav("Today", "dashboard:today", order=0)
    register_page("properties/", photos.properties_page, name="properties")
    register_page(
        "properties/<int:property_id>/photos/",
        photos.photos_page,
        name="property-photos",
        action=EDIT_PROPERTIES,
    )
    register_nav("Properties", "dashboard:properties", order=45)
    register_setup_step(
        "property",
        "Add your first property",
        text="Name, photos, prices and check-in times: what guests see on your site.",
        url=lambda: reverse("admin:properties_property_add"),
        done=_has_property,
        order=10,
    )
