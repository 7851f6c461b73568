from __future__ import annotations

from datetime import date
from typing import Any

from bookings.models import Booking
from bookings.services.stays import booking_create
from messaging.models import ScheduledMessage, Staff
from messaging.services import settings_rows as services
from properties.models import Property


def stay(
    prop: Property,
    check_in: date,
    check_out: date,
    *,
    email: str = "guest@example.com",
    name: str = "Grace Guest",
    source: str = Booking.Source.AIRBNB,
    **kwargs: Any,
) -> Booking:
    return booking_create(
        property=prop,
        check_in=check_in,
        check_out=check_out,
        guests=2,
        source=source,
        guest_name=name,
        guest_email=email,
        **kwargs,
    )


def rows(booking: Booking) -> dict[str, ScheduledMessage]:
    return {m.kind: m for m in ScheduledMessage.objects.filter(booking=booking)}


def with_cleaner(prop: Property, email: str = "cleaner@example.com") -> Staff:
    cleaner = services.staff_create(business=prop.business, name="Sam Cleaner", email=email)
    services.property_set_default_cleaner(prop=prop, cleaner=cleaner)
    return cleaner
