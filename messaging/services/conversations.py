"""The inbox: guest messages in, owner replies out, one thread per stay or reservation.

Doors in: a partner's `message.created` (integrations announces it with
`bookings.signals.partner_message_received`, inside the inbound event's transaction)
and a guest writing on their trip page. Doors out: an owner's reply, which goes as an
email through the outbox (direct guests) or as a `message.created` push through
integrations' push outbox (partner threads, via `partner_reply_written`, in the
reply's transaction). Every write locks the thread's row first, so messages of one
thread are appended one at a time and its owner digest is scheduled once.

A guest's message marks the thread unread and emails the owner: at most one digest
per thread every DIGEST_EVERY, an outbox row keyed by thread and window; a digest
still waiting covers later messages (it is rendered when sent), and one that finds the
thread read by then is skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, Subquery
from django.utils import timezone

from bookings import signals
from bookings.models import Booking
from messaging.errors import InvalidMessage, ReplyNotSent
from messaging.inbox_models import (
    MAX_BODY,
    PREVIEW_CHARS,
    Conversation,
    ConversationMessage,
    new_message_ref,
)
from messaging.models import Kind, ScheduledMessage
from messaging.selectors import TOLD
from messaging.services.outbox import message_row, message_schedule, outbox_kick
from messaging.services.stay_messages import owner_notice_schedule
from properties.db import lock_one
from properties.models import User

Direction = ConversationMessage.Direction
Delivery = ConversationMessage.Delivery
DIGEST_EVERY = timedelta(minutes=10)
# A form's one-time token (see messaging.forms): the same submission twice is one message.
NONCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def message_body_clean(raw: str) -> str:
    """The text of a message an owner or a guest writes, or InvalidMessage."""
    body = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not body:
        raise InvalidMessage("Write a message first.", fields={"body": ["This field is empty."]})
    if "\x00" in body:
        raise InvalidMessage(
            "The message contains a character that cannot be stored.",
            fields={"body": ["Remove the NUL character."]},
        )
    if len(body) > MAX_BODY:
        raise InvalidMessage(
            f"A message can be at most {MAX_BODY:,} characters; this one has {len(body):,}.",
            fields={"body": [f"At most {MAX_BODY:,} characters."]},
        )
    return body


def _ref(nonce: str) -> str:
    if nonce and len(nonce) <= 64 and set(nonce) <= NONCE_CHARS:
        return f"hdm_{nonce}"
    return new_message_ref()


def _author(user: User) -> str:
    return (user.name or user.email)[:150]


def _preview(body: str) -> str:
    return " ".join(body.split())[:PREVIEW_CHARS]


def _append(
    conversation: Conversation,
    *,
    direction: str,
    body: str,
    author: str,
    at: datetime,
    external_id: str,
    user: User | None = None,
    delivery: str = Delivery.NONE,
) -> tuple[ConversationMessage, bool]:
    """Add a message to a locked thread; (the message, whether it is new)."""
    existing = ConversationMessage.objects.filter(
        conversation=conversation, external_id=external_id
    ).first()
    if existing is not None:
        return existing, False
    message = ConversationMessage.objects.create(
        business_id=conversation.business_id,
        conversation=conversation,
        direction=direction,
        author=author[:150],
        author_user=user,
        body=body,
        created_at=at,
        external_id=external_id,
        delivery=delivery,
    )
    if at >= conversation.last_message_at or not conversation.last_preview:
        conversation.last_message_at = at
        conversation.last_preview = _preview(body)
        conversation.last_from_guest = direction == Direction.IN
    return message, True


def _guest_wrote(conversation: Conversation, now: datetime) -> None:
    conversation.unread = True
    conversation.save()
    _owner_digest_schedule(conversation, now)


def _owner_answered(conversation: Conversation, now: datetime) -> None:
    conversation.unread = False
    conversation.read_at = now
    conversation.save()


# --- In: partners and guests -----------------------------------------------------------


def _partner_thread(
    *, business_id: int, channel_id: str, channel_name: str, reservation_id: str
) -> Conversation:
    Conversation.objects.bulk_create(
        [
            Conversation(
                business_id=business_id,
                kind=Conversation.Kind.PARTNER,
                partner_channel=channel_id,
                partner_name=channel_name[:80],
                partner_reservation=reservation_id,
            )
        ],
        ignore_conflicts=True,  # the thread exists: it is locked below
    )
    return lock_one(
        Conversation.objects.select_related("business"),
        business_id=business_id,
        kind=Conversation.Kind.PARTNER,
        partner_channel=channel_id,
        partner_reservation=reservation_id,
    )


def _link_booking(conversation: Conversation, booking: Booking) -> None:
    conversation.booking = booking
    conversation.property_id = booking.property_id
    conversation.guest_name = booking.guest_name or conversation.guest_name
    conversation.guest_email = booking.guest_email or conversation.guest_email


def conversation_partner_message_record(
    *,
    business_id: int,
    channel_id: str,
    channel_name: str,
    reservation_id: str,
    message_id: str,
    role: str,
    body: str,
    sent_at: datetime,
    booking_id: int | None,
    now: datetime | None = None,
) -> ConversationMessage:
    """A partner's message, in its reservation's thread (once per message id). The
    guest's marks the thread unread; the host's (written on the partner's site) is
    shown as already delivered."""
    now = now or timezone.now()
    with transaction.atomic():
        conversation = _partner_thread(
            business_id=business_id,
            channel_id=channel_id,
            channel_name=channel_name,
            reservation_id=reservation_id,
        )
        booking = (
            Booking.objects.filter(business_id=business_id, pk=booking_id).first()
            if booking_id
            else None
        )
        if booking is not None and conversation.booking_id != booking.pk:
            _link_booking(conversation, booking)
        from_guest = role == "guest"
        message, created = _append(
            conversation,
            direction=Direction.IN if from_guest else Direction.OUT,
            body=body,
            author=conversation.display_name if from_guest else f"You on {channel_name}",
            at=sent_at,
            external_id=message_id,
            delivery=Delivery.NONE if from_guest else Delivery.SENT,
        )
        if created and from_guest:
            _guest_wrote(conversation, now)
        else:
            conversation.save()
    return message


def conversation_partner_booking_link(
    *, business_id: int, channel_id: str, reservation_id: str, booking_id: int
) -> int:
    """A reservation became a booking: its thread (if any) is linked to the stay, in
    one statement (the stay's details are read by the update itself)."""
    stay = Booking.objects.filter(business_id=business_id, pk=booking_id)
    return int(
        Conversation.objects.filter(
            business_id=business_id,
            kind=Conversation.Kind.PARTNER,
            partner_channel=channel_id,
            partner_reservation=reservation_id,
        )
        .filter(Exists(stay))
        .exclude(booking_id=booking_id)
        .update(
            booking_id=booking_id,
            property_id=Subquery(stay.values("property_id")[:1]),
            guest_name=Subquery(stay.values("guest_name")[:1]),
            guest_email=Subquery(stay.values("guest_email")[:1]),
        )
    )


def _direct_thread(booking: Booking) -> Conversation:
    Conversation.objects.bulk_create(
        [
            Conversation(
                business_id=booking.business_id,
                kind=Conversation.Kind.DIRECT,
                booking=booking,
                property_id=booking.property_id,
                guest_name=booking.guest_name,
                guest_email=booking.guest_email,
            )
        ],
        ignore_conflicts=True,
    )
    return lock_one(
        Conversation.objects.select_related("business", "booking"),
        kind=Conversation.Kind.DIRECT,
        booking=booking,
    )


def conversation_guest_write(
    *, booking: Booking, body: str, author: str = "", nonce: str = "", now: datetime | None = None
) -> ConversationMessage:
    """A direct guest's message from their trip page (the caller checked that the
    signed-in visitor owns `booking`)."""
    body = message_body_clean(body)
    now = now or timezone.now()
    with transaction.atomic():
        conversation = _direct_thread(booking)
        message, created = _append(
            conversation,
            direction=Direction.IN,
            body=body,
            author=booking.guest_name or author or "Guest",
            at=now,
            external_id=_ref(nonce),
        )
        if created:
            _guest_wrote(conversation, now)
    return message


# --- Out: the owner's replies ----------------------------------------------------------


def _reply(
    conversation: Conversation, *, user: User, body: str, nonce: str, now: datetime
) -> ConversationMessage:
    message, created = _append(
        conversation,
        direction=Direction.OUT,
        body=body,
        author=_author(user),
        at=now,
        external_id=_ref(nonce),
        user=user,
        delivery=Delivery.PENDING,
    )
    if not created:
        return message
    if conversation.kind == Conversation.Kind.PARTNER:
        answers = signals.partner_reply_written.send(
            sender=Conversation,
            business_id=conversation.business_id,
            channel_id=conversation.partner_channel,
            reservation_id=conversation.partner_reservation,
            message_id=message.external_id,
            body=body,
            sent_at=now,
        )
        if not any(answer for _, answer in answers):
            raise ReplyNotSent(
                f"Replies to {conversation.source_label} cannot be sent from here. "
                "Reply on the partner's site."
            )
    else:
        booking = conversation.booking
        address = (booking.guest_email if booking else "") or conversation.guest_email
        if not address:
            raise ReplyNotSent("This guest has no email address to reply to.")
        message.email = message_schedule(
            message_row(
                business_id=conversation.business.pk,
                kind=Kind.GUEST_REPLY,
                recipient=address,
                recipient_name=conversation.guest_name,
                key=f"conversation-message:{message.pk}:{Kind.GUEST_REPLY}:{address.lower()}",
                wanted_at=now,
                now=now,
                booking=booking,
                conversation=conversation,
            )
        )
        message.save(update_fields=["email"])
        outbox_kick()
    _owner_answered(conversation, now)
    return message


def conversation_reply(
    *,
    conversation: Conversation,
    user: User,
    body: str,
    nonce: str = "",
    now: datetime | None = None,
) -> ConversationMessage:
    """The owner's reply: emailed to a direct guest, pushed to a partner. The reply and
    its email or push commit together; a repeated submission (same `nonce`) is one."""
    body = message_body_clean(body)
    now = now or timezone.now()
    with transaction.atomic():
        locked = lock_one(
            Conversation.objects.select_related("business", "booking"),
            pk=conversation.pk,
            business_id=conversation.business_id,
        )
        return _reply(locked, user=user, body=body, nonce=nonce, now=now)


# Stays made on a platform: their guests are written to there (a partner thread starts
# when the guest writes), never at an address the platform may only relay.
PLATFORM_SOURCES = (
    Booking.Source.AIRBNB,
    Booking.Source.BOOKING,
    Booking.Source.VRBO,
    Booking.Source.ICAL,
)


def stay_write_refusal(booking: Booking) -> str:
    """Why the owner may not start a thread with this stay's guest ("" when they may)."""
    if booking.is_block:
        return "A block has no guest to write to."
    if booking.source in PLATFORM_SOURCES:
        return (
            f"Write to this guest on {booking.get_source_display()}; their messages "
            "arrive here as soon as they write."
        )
    if not booking.guest_email:
        return "This guest has no email address to write to."
    return ""


def stay_conversation_reply(
    *, booking: Booking, user: User, body: str, nonce: str = "", now: datetime | None = None
) -> ConversationMessage:
    """The owner writes first to a direct guest: the stay's thread begins with it."""
    body = message_body_clean(body)
    now = now or timezone.now()
    refusal = stay_write_refusal(booking)
    if refusal:
        raise ReplyNotSent(refusal)
    with transaction.atomic():
        return _reply(_direct_thread(booking), user=user, body=body, nonce=nonce, now=now)


def conversation_mark_read(*, conversation: Conversation, now: datetime | None = None) -> bool:
    """The owner opened the thread."""
    return bool(
        Conversation.objects.filter(pk=conversation.pk, unread=True).update(
            unread=False, read_at=now or timezone.now()
        )
    )


def conversation_reply_delivery(
    *, business_id: int, channel_id: str, message_id: str, state: str, error: str = ""
) -> int:
    """What became of a reply's push (integrations reports it)."""
    if state not in (Delivery.PENDING, Delivery.SENT, Delivery.FAILED):
        raise ValueError(f"Unknown delivery state {state!r}.")
    return int(
        ConversationMessage.objects.filter(
            business_id=business_id,
            conversation__partner_channel=channel_id,
            external_id=message_id,
            direction=Direction.OUT,
        ).update(delivery=state, delivery_error=error[:500])
    )


# --- The owner's digest ----------------------------------------------------------------


def _owner_digest_schedule(conversation: Conversation, now: datetime) -> ScheduledMessage:
    """One digest per thread and window of DIGEST_EVERY: a digest still waiting covers
    this message too; otherwise the next one is due DIGEST_EVERY after the last one
    that went out (at once if that was long enough ago). Its key names its window, so
    two windows never share a row, and a row skipped because the owner had read the
    thread is simply scheduled again."""
    digests = ScheduledMessage.objects.filter(
        conversation=conversation, kind=Kind.OWNER_GUEST_MESSAGE
    )
    waiting = digests.filter(state=ScheduledMessage.State.SCHEDULED).first()
    if waiting is not None:
        return waiting
    at = now
    told = digests.filter(TOLD).order_by("-send_at").first()
    if told is not None:
        at = max(now, max(told.send_at, told.sent_at or told.send_at) + DIGEST_EVERY)
    window = int(at.timestamp() // DIGEST_EVERY.total_seconds())
    row = owner_notice_schedule(
        business=conversation.business,
        kind=Kind.OWNER_GUEST_MESSAGE,
        key=f"conversation:{conversation.pk}:{window}",
        now=at,
        booking=conversation.booking,
        conversation=conversation,
    )
    outbox_kick()
    return row
