"""Who a broadcast reaches: the property's past guests, once per address whatever its
case, and never one who unsubscribed from the business. `broadcast_send` sends to
exactly `broadcast_audience`; the dashboard counts and previews the same set."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, QuerySet
from django.db.models.functions import Lower, Trim

from bookings.models import Booking
from messaging.models import GuestOptOut
from properties.models import Business, Property


def past_guest_stays(*, business: Business, today: date) -> QuerySet[Booking]:
    """Confirmed guest stays over by `today` with an email address whose guest did not
    unsubscribe, each annotated with `address` (trimmed, lowercased)."""
    opted_out = (
        GuestOptOut.objects.filter(business=business).annotate(low=Lower("email")).values("low")
    )
    return (
        Booking.objects.filter(
            business=business,
            kind=Booking.Kind.STAY,
            status=Booking.Status.CONFIRMED,
            stay__endswith__lte=today,
        )
        .exclude(guest_email="")
        .annotate(address=Lower(Trim("guest_email")))
        .exclude(address__in=opted_out)
    )


def broadcast_audience(*, property: Property, today: date) -> dict[str, str]:
    """{address: name} of the property's past guests who may be told, the name from
    their latest stay."""
    guests: dict[str, str] = {}
    rows = (
        past_guest_stays(business=property.business, today=today)
        .filter(property=property)
        .order_by("-stay", "-id")
        .values_list(Lower(Trim("guest_email")), "guest_name")
    )
    for address, name in rows:
        guests.setdefault(address, name)
    return guests


def audience_counts(*, business: Business, today: date) -> dict[int, int]:
    """How many guests a broadcast would reach, by property id. One query."""
    rows = (
        past_guest_stays(business=business, today=today)
        .order_by()
        .values("property_id")
        .annotate(guests=Count("address", distinct=True))
    )
    return {row["property_id"]: row["guests"] for row in rows}
