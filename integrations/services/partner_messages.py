"""Partner conversations on the wire: the messages a partner sends us, and the host's
replies we push back as `message.created` (docs/partner-sync.md).

`PartnerMessage` stays this app's record of what crossed the wire, both ways, unique per
(channel, message id). The owner's inbox is messaging's: the two apps speak through
`bookings.signals` (`partner_message_received`, `partner_reservation_applied`,
`partner_reply_written`, `partner_reply_delivery`), never by importing each other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookings import signals
from bookings.models import Booking
from integrations.errors import ReplyRefused
from integrations.models import Channel, PartnerMessage, PartnerReservation, PushOutbox
from properties.db import after_commit


def channel_label(channel: Channel) -> str:
    return channel.name or channel.get_platform_display()


def partner_message_receive(
    *, channel: Channel, data: dict[str, Any], booking: Booking | None
) -> PartnerMessage:
    """Record a partner's message once and announce it to the inbox, in the inbound
    event's transaction (a message the inbox could not take is not acknowledged)."""
    message, created = PartnerMessage.objects.get_or_create(
        channel=channel,
        message_id=data["message_id"],
        defaults={
            "business_id": channel.business_id,
            "reservation_id": data["reservation_id"],
            "booking": booking,
            "sender": data["sender"],
            "body": data["body"],
            "sent_at": data["sent_at"],
        },
    )
    if created:
        signals.partner_message_received.send(
            sender=PartnerMessage,
            business_id=channel.business_id,
            channel_id=channel.public_id,
            channel_name=channel_label(channel),
            reservation_id=message.reservation_id,
            message_id=message.message_id,
            role=message.sender,
            body=message.body,
            sent_at=message.sent_at,
            booking_id=booking.pk if booking else None,
        )
    return message


def partner_reservation_messages_link(
    *, channel: Channel, reservation_id: str, booking: Booking
) -> None:
    """A reservation was applied: its messages (some may have come first) belong to
    its booking, here and in the inbox."""
    PartnerMessage.objects.filter(
        channel=channel, reservation_id=reservation_id, booking__isnull=True
    ).update(booking=booking)
    signals.partner_reservation_applied.send(
        sender=PartnerReservation,
        business_id=channel.business_id,
        channel_id=channel.public_id,
        reservation_id=reservation_id,
        booking_id=booking.pk,
    )


def reply_push_enqueue(
    *,
    business_id: int,
    channel_id: str,
    reservation_id: str,
    message_id: str,
    body: str,
    sent_at: datetime,
    now: datetime | None = None,
) -> PushOutbox:
    """Queue a host's reply as a `message.created` push, in the caller's transaction
    (the inbox's reply): it is delivered, retried and dead-lettered like every push."""
    now = now or timezone.now()
    channel = Channel.objects.filter(business_id=business_id, public_id=channel_id).first()
    if channel is None:
        raise ReplyRefused("This channel was removed: reply on the partner's site.")
    if not channel.active:
        raise ReplyRefused(f"{channel_label(channel)} is paused: reply on the partner's site.")
    if not channel.endpoint_url:
        raise ReplyRefused(
            f"{channel_label(channel)} has no endpoint URL for Holidesk to send replies to: "
            "add it to the channel, or reply on the partner's site."
        )
    with transaction.atomic():
        state = PartnerReservation.objects.filter(
            channel=channel, reservation_id=reservation_id
        ).first()
        message = PartnerMessage.objects.create(
            business_id=business_id,
            channel=channel,
            reservation_id=reservation_id,
            booking=state.booking if state else None,
            message_id=message_id,
            sender=PartnerMessage.Sender.HOST,
            body=body,
            sent_at=sent_at,
        )
        push = PushOutbox.objects.create(
            business_id=business_id,
            channel=channel,
            message=message,
            kind=PushOutbox.Kind.MESSAGE,
            next_attempt_at=now,
        )
        _deliver_after_commit([push.pk])
    return push


def _deliver_after_commit(push_ids: list[int]) -> None:
    if not settings.INTEGRATIONS_KICK_PUSHES or not push_ids:
        return

    def deliver() -> None:
        from integrations.tasks import deliver_push

        for push_id in push_ids:
            deliver_push.delay(push_id)

    after_commit(deliver, what="partner reply pushes")


# --- Used by the push outbox (integrations.services.push) ------------------------------


def message_payload(push: PushOutbox) -> dict[str, Any]:
    """A host's reply: the message itself (its id is the partner's idempotency key)."""
    message = push.message
    assert message is not None
    return {
        "reservation_id": message.reservation_id,
        "message_id": message.message_id,
        "sender": message.sender,
        "body": message.body,
        "sent_at": message.sent_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def reply_announce(push: PushOutbox, state: str, error: str = "") -> None:
    """Tell the inbox what became of a reply's push (inside the push's transaction)."""
    if push.kind != PushOutbox.Kind.MESSAGE or push.message is None:
        return
    signals.partner_reply_delivery.send(
        sender=PushOutbox,
        business_id=push.business_id,
        channel_id=push.channel.public_id,
        message_id=push.message.message_id,
        state=state,
        error=error,
    )


def replies_redrive(dead: list[PushOutbox], *, now: datetime) -> int:
    """Dead reply pushes the owner sends again: a fresh pending push of each message
    (in the caller's transaction); returns how many were queued."""
    if not dead:
        return 0
    by_message = {push.message_id: push for push in dead}
    PushOutbox.objects.bulk_create(
        [
            PushOutbox(
                business_id=push.business_id,
                channel_id=push.channel_id,
                message_id=push.message_id,
                kind=PushOutbox.Kind.MESSAGE,
                next_attempt_at=now,
            )
            for push in by_message.values()
        ],
        ignore_conflicts=True,  # one is already waiting to be sent again
    )
    for push in by_message.values():
        reply_announce(push, "pending")
    fresh = list(
        PushOutbox.objects.filter(
            message_id__in=list(by_message), status=PushOutbox.Status.PENDING
        ).values_list("pk", flat=True)
    )
    _deliver_after_commit(fresh)
    return len(fresh)
