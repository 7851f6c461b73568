"""Factories of this app's tenant-owned admin models, for the generic admin isolation
tests (tests/properties/test_admin.py). Register each with @register(Model)."""

from __future__ import annotations

from datetime import timedelta

from bookings.models import Booking
from bookings.services import booking_create
from properties.models import Business
from tests.factories import PropertyFactory
from tests.tenant_objects import register


@register(Booking)
def make_booking(business: Business) -> Booking:
    prop = PropertyFactory(business=business)
    check_in = prop.local_today() + timedelta(days=30)
    return booking_create(
        property=prop, check_in=check_in, check_out=check_in + timedelta(days=2), source="direct"
    )
