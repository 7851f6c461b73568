"""What every page of a business's site needs from payments: whether the business
takes bookings now (its Holidesk subscription lapsed beyond the grace period)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from bookings.payments.services.billing import billing_standing
from properties.models import Business


def bookings_paused(request: HttpRequest) -> dict[str, Any]:
    business = getattr(request, "business", None)
    if not isinstance(business, Business):
        return {}
    return {"bookings_paused": not billing_standing(business=business).takes_bookings}
