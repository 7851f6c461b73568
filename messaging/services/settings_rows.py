"""Settings rows and staff: a business's and a property's message settings (created
lazily, on first use), staff members, and a property's default cleaner."""

from __future__ import annotations

from messaging.errors import NotFound
from messaging.models import BusinessMessaging, PropertyMessaging, Staff
from properties.models import Business, Property


def business_messaging_get_or_create(*, business: Business) -> BusinessMessaging:
    found, _ = BusinessMessaging.objects.get_or_create(business=business)
    return found


def property_messaging_get_or_create(*, prop: Property) -> PropertyMessaging:
    found, _ = PropertyMessaging.objects.get_or_create(
        property=prop, defaults={"business_id": prop.business_id}
    )
    return found


def staff_create(
    *,
    business: Business,
    name: str,
    email: str,
    kind: str = Staff.StaffKind.CLEANER,
    phone: str = "",
) -> Staff:
    return Staff.objects.create(business=business, name=name, email=email, kind=kind, phone=phone)


def property_set_default_cleaner(*, prop: Property, cleaner: Staff | None) -> PropertyMessaging:
    if cleaner is not None and cleaner.business_id != prop.business_id:
        raise NotFound("No such staff member.")
    settings_row = property_messaging_get_or_create(prop=prop)
    settings_row.default_cleaner = cleaner
    settings_row.save(update_fields=["default_cleaner"])
    return settings_row
