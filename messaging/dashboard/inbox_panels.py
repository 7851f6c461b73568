"""The inbox on Today and on a booking's page: unread conversations, a stay's thread."""

from __future__ import annotations

from datetime import date, datetime

from django.urls import reverse
from django.utils import timezone

from bookings.dashboard.slots import DetailSection
from bookings.models import Booking
from messaging.inbox_models import Conversation
from messaging.inbox_selectors import (
    stay_conversation,
    thread_messages,
    unread_conversations,
)
from messaging.services.conversations import stay_write_refusal
from properties.dashboard.access import Acting
from properties.dashboard.registry import Badge, Item, Panel
from properties.permissions import MANAGE_MESSAGES

# The booking page shows the end of its thread; the inbox shows the rest.
BOOKING_PAGE_MESSAGES = 3


def thread_url(conversation: Conversation) -> str:
    return reverse("dashboard:inbox-thread", args=[conversation.pk])


# A partner thread not linked to a stay yet is coloured by its channel's platform name.
PARTNER_CSS = {"airbnb": "src-airbnb", "booking.com": "src-booking", "vrbo": "src-vrbo"}


def source_css(conversation: Conversation) -> str:
    if conversation.kind == Conversation.Kind.DIRECT:
        return "src-direct"
    booking = conversation.booking
    if booking is not None:
        return f"src-{booking.source}"
    return PARTNER_CSS.get(conversation.partner_name.lower(), "src-api")


def stay_line(conversation: Conversation) -> str:
    """Which stay it is about, in a few words."""
    booking = conversation.booking
    if booking is not None:
        return (
            f"{booking.property.name} · {booking.check_in:%-d %b} \u2013 "
            f"{booking.check_out:%-d %b %Y}"
        )
    return f"Reservation {conversation.partner_reservation} (not on your calendar yet)"


def when(moment: datetime, today: date) -> str:
    local = timezone.localtime(moment)
    if local.date() == today:
        return f"{local:%H:%M}"
    if local.year == today.year:
        return f"{local:%-d %b}"
    return f"{local:%-d %b %Y}"


def unread_panel(acting: Acting) -> Panel:
    rows, total = unread_conversations(business=acting.business, limit=5, scope=acting.scope)
    items = [
        Item(
            title=c.display_name,
            url=thread_url(c),
            detail=c.last_preview,
            meta=when(c.last_message_at, acting.today),
            badges=(Badge(c.source_label, "neutral"),),
        )
        for c in rows
    ]
    return Panel(
        items=items,
        total=total,
        empty="No unread messages.",
        more_url=reverse("dashboard:inbox") + "?show=unread",
        more_label="All unread messages",
    )


def booking_conversation(acting: Acting, booking: Booking) -> list[DetailSection]:
    """A stay's messages on its page: the end of the thread and where to answer; for a
    direct guest without one yet, where to write first."""
    if booking.is_block:
        return []
    conversation = stay_conversation(booking)
    if conversation is None and stay_write_refusal(booking):
        return []
    latest = thread_messages(conversation, limit=BOOKING_PAGE_MESSAGES) if conversation else []
    return [
        DetailSection(
            key="conversation",
            title="Messages",
            template="dashboard/messaging/_booking_conversation.html",
            context={
                "conversation": conversation,
                "latest": latest,
                "url": (
                    thread_url(conversation)
                    if conversation
                    else reverse("dashboard:inbox-stay", args=[booking.reference])
                ),
                "can_write": acting.may(MANAGE_MESSAGES),
            },
            order=25,
        )
    ]
