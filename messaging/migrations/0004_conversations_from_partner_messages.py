"""Partner messages received before the inbox existed become conversations.

integrations keeps `PartnerMessage` as its record of what crossed the wire; the inbox
gets one thread per (channel, reservation) with the same messages. A thread is unread
when its latest message is the guest's and came in the last 30 days (older questions
are history, not today's work).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import migrations
from django.utils import timezone

PLATFORMS = {"airbnb": "Airbnb", "booking": "Booking.com", "vrbo": "Vrbo", "other": "Other"}
UNREAD_WITHIN = timedelta(days=30)


def forwards(apps: Any, schema_editor: Any) -> None:
    PartnerMessage = apps.get_model("integrations", "PartnerMessage")
    Conversation = apps.get_model("messaging", "Conversation")
    ConversationMessage = apps.get_model("messaging", "ConversationMessage")
    Booking = apps.get_model("bookings", "Booking")
    threads = (
        PartnerMessage.objects.values_list("channel_id", "reservation_id")
        .distinct()
        .order_by("channel_id", "reservation_id")
    )
    recent = timezone.now() - UNREAD_WITHIN
    for channel_id, reservation_id in threads.iterator(chunk_size=500):
        rows = list(
            PartnerMessage.objects.filter(channel_id=channel_id, reservation_id=reservation_id)
            .select_related("channel")
            .order_by("sent_at", "id")
        )
        channel = rows[0].channel
        booking_id = next((r.booking_id for r in reversed(rows) if r.booking_id), None)
        booking = Booking.objects.filter(pk=booking_id).first() if booking_id else None
        last = rows[-1]
        conversation, created = Conversation.objects.get_or_create(
            kind="partner",
            partner_channel=channel.public_id,
            partner_reservation=reservation_id,
            defaults={
                "business_id": channel.business_id,
                "partner_name": channel.name or PLATFORMS.get(channel.platform, "Partner"),
                "booking": booking,
                "property_id": booking.property_id if booking else None,
                "guest_name": booking.guest_name if booking else "",
                "guest_email": booking.guest_email if booking else "",
                "last_message_at": last.sent_at,
                "last_preview": " ".join(last.body.split())[:140],
                "last_from_guest": last.sender == "guest",
                "unread": last.sender == "guest" and last.sent_at >= recent,
            },
        )
        if not created:
            continue
        ConversationMessage.objects.bulk_create(
            [
                ConversationMessage(
                    business_id=channel.business_id,
                    conversation=conversation,
                    direction="in" if row.sender == "guest" else "out",
                    author=(
                        (conversation.guest_name or "Guest")
                        if row.sender == "guest"
                        else f"You on {conversation.partner_name}"
                    ),
                    body=row.body,
                    created_at=row.sent_at,
                    external_id=row.message_id,
                    delivery="" if row.sender == "guest" else "sent",
                )
                for row in rows
            ]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_conversations"),
        ("integrations", "0004_message_pushes"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
