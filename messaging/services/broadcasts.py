"""Broadcasts to past guests ("these dates are free") and guests unsubscribing from
them. Every rule about who may get a broadcast lives here; the admin calls these."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from bookings.models import Booking
from messaging.errors import InvalidBroadcast, NotFound
from messaging.models import KIND_PRIORITY, Broadcast, GuestOptOut, Kind, ScheduledMessage
from messaging.selectors import local_moment, timing_for
from messaging.services.outbox import message_plan, messages_cancel_pending, outbox_kick
from properties.models import Business, Property


def broadcast_send(
    *,
    business: Business,
    property: Property,
    free_from: date,
    free_until: date,
    note: str = "",
    now: datetime | None = None,
) -> Broadcast:
    """Tell every past guest of the property (once each, unsubscribed ones excluded)
    that these dates are free. Goes through the outbox and the rate limit."""
    now = now or timezone.now()
    if property.business_id != business.pk:
        raise NotFound("No such property.")
    if free_until <= free_from:
        message = "The free range must end after it starts."
        raise InvalidBroadcast(message, fields={"free_until": [message]})
    today = property.local_today()
    if free_until <= today:
        message = "These dates are in the past."
        raise InvalidBroadcast(message, fields={"free_until": [message]})
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            business=business,
            property=property,
            free_from=free_from,
            free_until=free_until,
            note=note,
        )
        guests = _past_guests(business, property, today=today)
        expires_at = local_moment(property, free_until - timedelta(days=1), property.check_in_time)
        state, send_at, reason = message_plan(
            prop=property,
            timing=timing_for(property),
            kind=Kind.BROADCAST,
            wanted_at=now,
            expires_at=expires_at,
            now=now,
        )
        rows = [
            ScheduledMessage(
                business=business,
                broadcast=broadcast,
                kind=Kind.BROADCAST,
                recipient=email,
                recipient_name=name[:150],
                key=f"broadcast:{broadcast.pk}:{email}",
                send_at=send_at,
                expires_at=expires_at,
                priority=KIND_PRIORITY[Kind.BROADCAST],
                state=state,
                last_error=reason,
            )
            for email, name in guests.items()
        ]
        ScheduledMessage.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        broadcast.total = len(rows)
        broadcast.save(update_fields=["total"])
        outbox_kick()
    return broadcast


def _past_guests(business: Business, prop: Property, *, today: date) -> dict[str, str]:
    """{address: name} of the property's past guests who did not unsubscribe, one per
    address whatever its case (the latest stay's name)."""
    opted_out = {
        e.lower()
        for e in GuestOptOut.objects.filter(business=business).values_list("email", flat=True)
    }
    guests: dict[str, str] = {}
    for email, name in (
        Booking.objects.filter(
            property=prop,
            kind=Booking.Kind.STAY,
            status=Booking.Status.CONFIRMED,
            stay__endswith__lte=today,
        )
        .exclude(guest_email="")
        .order_by("-stay")
        .values_list("guest_email", "guest_name")
    ):
        address = email.strip().lower()
        if address not in opted_out:
            guests.setdefault(address, name)
    return guests


def guest_unsubscribe(*, business_id: int, email: str) -> GuestOptOut:
    """The guest gets no more broadcasts from this business, including those pending."""
    email = email.strip().lower()
    with transaction.atomic():
        business = Business.objects.filter(pk=business_id).first()
        if business is None:
            raise NotFound("No such business.")
        opt_out, _ = GuestOptOut.objects.get_or_create(business=business, email=email)
        messages_cancel_pending(
            ScheduledMessage.objects.filter(
                business=business, kind=Kind.BROADCAST, recipient__iexact=email
            ),
            reason="The guest unsubscribed.",
        )
    return opt_out
