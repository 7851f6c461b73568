"""Broadcasts to past guests ("these dates are free") and guests unsubscribing from
them. Every rule about when a broadcast may go lives here, and who gets it in
`messaging.audience`; the admin and the dashboard call these."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from bookings.models import Booking
from messaging.audience import broadcast_audience
from messaging.errors import BroadcastDatesTaken, InvalidBroadcast, NotFound
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
    that these dates are free. Goes through the outbox and the rate limit.

    The calendar is read again here, whatever the page showed: a night booked, held or
    blocked since refuses the broadcast (BroadcastDatesTaken). A booking that lands
    after this is caught when each email is sent (messaging.services.sending)."""
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
    taken = list(
        Booking.objects.filter(property=property)
        .active(now=now)
        .overlapping(free_from, free_until)
        .order_by("stay")[:4]
    )
    if taken:
        message = (
            f"Not free any more: {_nights_words(taken, free_from, free_until)}. "
            "Pick free nights again."
        )
        raise BroadcastDatesTaken(message, fields={"free_from": [message]})
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            business=business,
            property=property,
            free_from=free_from,
            free_until=free_until,
            note=note,
        )
        guests = broadcast_audience(property=property, today=today)
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


def _nights_words(taken: list[Booking], start: date, end: date) -> str:
    """'the nights of 12-13 Sep and 20 Sep': what is taken within [start, end)."""
    spans = []
    for booking in taken[:3]:
        first = max(booking.check_in, start)
        last = min(booking.check_out, end) - timedelta(days=1)
        if first == last:
            spans.append(f"{first.day} {first:%b}")
        elif first.month == last.month:
            spans.append(f"{first.day}\u2013{last.day} {last:%b}")
        else:
            spans.append(f"{first.day} {first:%b}\u2013{last.day} {last:%b}")
    more = " and more" if len(taken) > 3 else ""
    word = "night" if len(spans) == 1 and "\u2013" not in spans[0] else "nights"
    return f"the {word} of {', '.join(spans)}{more}"


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
