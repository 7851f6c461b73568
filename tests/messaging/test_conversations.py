"""Conversations from the guest's side: writing from the trip page on the business's
site, the owner's digest (at most one per thread every 10 minutes, through the outbox
to a real SMTP server), who may write, and the threads partners start."""

from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header
from typing import Any

import pytest
import time_machine
from django.apps import apps as django_apps
from django.test import Client
from django.utils import timezone

from bookings.models import Booking
from bookings.services.cancellation import booking_cancel_without_refund
from integrations.models import PartnerMessage
from messaging.models import Conversation, ConversationMessage, Kind, ScheduledMessage
from messaging.services.conversations import conversation_reply
from messaging.services.sending import outbox_send
from tests.conftest import APP_HOST, Tenant, site_host
from tests.factories import UserFactory
from tests.integrations.conftest import Partner, make_partner
from tests.messaging.inbox_world import (
    direct_stay,
    partner_books,
    partner_guest_writes,
    visitor,
)
from tests.support.smtp import Sink

pytestmark = pytest.mark.django_db
State = ScheduledMessage.State


@pytest.fixture
def partner(tenant: Tenant) -> Partner:
    return make_partner(tenant)


@pytest.fixture
def fast(settings: Any, redis_prefix: str) -> None:
    settings.EMAIL_RATE_PER_SECOND = 1000.0


def write(client: Client, booking: Booking, body: str, nonce: str = "") -> Any:
    return client.post(f"/trips/{booking.reference}/messages/", {"body": body, "nonce": nonce})


def digests() -> list[ScheduledMessage]:
    return list(
        ScheduledMessage.objects.filter(kind=Kind.OWNER_GUEST_MESSAGE).order_by("send_at", "id")
    )


def send(row: ScheduledMessage) -> str:
    return outbox_send(message_id=row.pk)


def test_guest_answers_from_the_trip_page_into_the_owners_thread(
    tenant: Tenant, smtp_sink: Sink, fast: None
) -> None:
    booking = direct_stay(tenant)
    owner = tenant.admin_client()
    owner.post(
        f"/dashboard/inbox/stay/{booking.reference}/",
        {"body": "Hello Ada, do you need a cot?", "nonce": "o1"},
    )
    conversation = Conversation.objects.get()
    assert booking.guest_user is not None
    guest = visitor(tenant, booking.guest_user)

    trip = guest.get(f"/trips/{booking.reference}/").content.decode()
    section = trip.split('id="messages"', 1)[1]
    assert f"Messages with {tenant.business.name}" in trip
    assert "Hello Ada, do you need a cot?" in section
    assert tenant.owner.email not in section  # the business answers, not a person's address
    assert f'action="/trips/{booking.reference}/messages/"' in section

    response = write(guest, booking, "Yes please, and a high chair.", nonce="g1")
    assert response.status_code == 302
    assert response["Location"] == f"/trips/{booking.reference}/#messages"
    assert Conversation.objects.get() == conversation
    conversation.refresh_from_db()
    assert conversation.unread
    assert [m.direction for m in conversation.messages.order_by("created_at")] == ["out", "in"]
    assert (
        "Yes please, and a high chair."
        in guest.get(f"/trips/{booking.reference}/").content.decode()
    )

    [digest] = digests()
    assert digest.conversation == conversation
    assert digest.recipient == tenant.business.contact_email
    assert send(digest) == "sent"
    [mail] = smtp_sink.to(tenant.business.contact_email)
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject.startswith("New message from Ada Lovelace (Direct")
    plain = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    text = plain.get_payload(decode=True).decode()
    assert "Yes please, and a high chair." in text
    assert f"/dashboard/inbox/{conversation.pk}/" in text
    assert "Yes please" in owner.get(f"/dashboard/inbox/{conversation.pk}/").content.decode()


def test_owner_gets_at_most_one_digest_per_thread_every_ten_minutes(
    tenant: Tenant, smtp_sink: Sink, fast: None
) -> None:
    booking = direct_stay(tenant)
    assert booking.guest_user is not None
    guest = visitor(tenant, booking.guest_user)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        write(guest, booking, "First question")
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        write(guest, booking, "Second question")
        [first] = digests()  # the waiting digest covers the second message too
        assert send(first) == "sent"
        first.refresh_from_db()
        assert first.sent_at is not None
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        write(guest, booking, "Third question")
        write(guest, booking, "Fourth question")
        _, second = digests()
        assert second.send_at == first.sent_at + timedelta(minutes=10)
        assert send(second) == "not-due"
    with time_machine.travel(first.sent_at + timedelta(minutes=10, seconds=1), tick=False):
        assert send(second) == "sent"
    mails = smtp_sink.to(tenant.business.contact_email)
    assert len(mails) == 2
    texts = [
        next(p for p in m.walk() if p.get_content_type() == "text/plain")
        .get_payload(decode=True)
        .decode()
        for m in mails
    ]
    assert "First question" in texts[0]
    assert "Second question" in texts[0]
    assert "Third question" in texts[1]
    assert "Fourth question" in texts[1]
    assert len(digests()) == 2


def test_a_digest_is_skipped_when_the_owner_has_read_the_thread(
    tenant: Tenant, smtp_sink: Sink, fast: None
) -> None:
    booking = direct_stay(tenant)
    assert booking.guest_user is not None
    write(visitor(tenant, booking.guest_user), booking, "Are towels provided?")
    conversation = Conversation.objects.get()
    tenant.admin_client().get(f"/dashboard/inbox/{conversation.pk}/")
    [digest] = digests()
    assert send(digest) == "skipped"
    assert not smtp_sink.messages


def test_visitors_write_only_about_their_own_trips(tenant: Tenant, outsider: Tenant) -> None:
    booking = direct_stay(tenant)
    someone_else = visitor(tenant, UserFactory())
    assert write(someone_else, booking, "Let me in").status_code == 404
    assert someone_else.get(f"/trips/{booking.reference}/").status_code == 404

    anonymous = Client(HTTP_HOST=site_host(tenant.business))
    response = write(anonymous, booking, "Hello")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]

    assert booking.guest_user is not None
    on_another_site = Client(HTTP_HOST=site_host(outsider.business))
    on_another_site.force_login(booking.guest_user)
    assert write(on_another_site, booking, "Hello").status_code == 404
    on_the_app_host = Client(HTTP_HOST=APP_HOST)
    on_the_app_host.force_login(booking.guest_user)
    assert write(on_the_app_host, booking, "Hello").status_code == 404
    assert not ConversationMessage.objects.exists()
    assert not Conversation.objects.exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [("", "Write a message first."), ("  \n ", "Write a message first."), ("y" * 5001, "5,000")],
)
def test_a_bad_message_from_the_trip_page_is_a_form_error(
    tenant: Tenant, body: str, error: str
) -> None:
    booking = direct_stay(tenant)
    assert booking.guest_user is not None
    response = write(visitor(tenant, booking.guest_user), booking, body)
    assert response.status_code == 400
    html = response.content.decode()
    assert error in html
    assert 'aria-invalid="true"' in html
    assert not Conversation.objects.exists()
    assert not ScheduledMessage.objects.filter(kind=Kind.OWNER_GUEST_MESSAGE).exists()


def test_the_same_message_posted_twice_is_recorded_once(tenant: Tenant) -> None:
    booking = direct_stay(tenant)
    assert booking.guest_user is not None
    guest = visitor(tenant, booking.guest_user)
    write(guest, booking, "Hello", nonce="twice")
    write(guest, booking, "Hello", nonce="twice")
    assert ConversationMessage.objects.count() == 1


def test_a_reply_reaches_a_guest_whose_stay_was_cancelled(
    tenant: Tenant, smtp_sink: Sink, fast: None
) -> None:
    booking = direct_stay(tenant)
    assert booking.guest_user is not None
    write(visitor(tenant, booking.guest_user), booking, "We had to cancel, sorry.")
    booking_cancel_without_refund(booking=booking, reason="Guest asked")
    conversation_reply(
        conversation=Conversation.objects.get(), user=tenant.owner, body="No problem, take care."
    )
    row = ScheduledMessage.objects.get(kind=Kind.GUEST_REPLY)
    assert send(row) == "sent"
    assert smtp_sink.to(booking.guest_email)


def test_partner_message_before_its_reservation_is_linked_when_it_arrives(
    partner: Partner,
) -> None:
    partner_guest_writes(partner, "Can we arrive early?")
    conversation = Conversation.objects.get()
    assert conversation.booking is None
    assert conversation.unread
    assert conversation.display_name == "Guest of HMABCD1234"
    reference = partner_books(partner)
    conversation.refresh_from_db()
    assert conversation.booking is not None
    assert conversation.booking.reference == reference
    assert conversation.guest_name == "Ada Lovelace"
    assert conversation.property_id == partner.link.property_id


def test_partner_events_delivered_twice_make_one_message(partner: Partner) -> None:
    partner_books(partner)
    partner_guest_writes(partner, "Hi", message_id="m1", event_id="e1")
    partner_guest_writes(partner, "Hi", message_id="m1", event_id="e1")  # duplicate event
    partner_guest_writes(partner, "Hi", message_id="m1", event_id="e2")  # same message again
    assert ConversationMessage.objects.count() == 1
    assert ScheduledMessage.objects.filter(kind=Kind.OWNER_GUEST_MESSAGE).count() == 1


def test_the_hosts_own_message_on_the_partner_site_is_not_unread(partner: Partner) -> None:
    partner_books(partner)
    partner_guest_writes(partner, "See you Friday!", sender="host")
    conversation = Conversation.objects.get()
    assert not conversation.unread
    message = conversation.messages.get()
    assert message.direction == "out"
    assert message.delivery_state == ConversationMessage.Delivery.SENT
    assert not ScheduledMessage.objects.filter(kind=Kind.OWNER_GUEST_MESSAGE).exists()


def test_partner_messages_stored_before_the_inbox_become_conversations(partner: Partner) -> None:
    from importlib import import_module

    partner_books(partner)
    PartnerMessage.objects.all().delete()
    Conversation.objects.all().delete()
    booking = Booking.objects.get()
    now = timezone.now()
    for n, (sender, body) in enumerate([("guest", "Hi"), ("host", "Hello"), ("guest", "Thanks")]):
        PartnerMessage.objects.create(
            business=partner.channel.business,
            channel=partner.channel,
            reservation_id="HMABCD1234",
            booking=booking,
            message_id=f"old{n}",
            sender=sender,
            body=body,
            sent_at=now - timedelta(minutes=10 - n),
        )
    migration = import_module("messaging.migrations.0004_conversations_from_partner_messages")
    migration.forwards(django_apps, None)
    conversation = Conversation.objects.get()
    assert conversation.booking == booking
    assert conversation.unread  # the guest's was last, and recent
    assert conversation.last_preview == "Thanks"
    assert [(m.direction, m.body) for m in conversation.messages.order_by("created_at")] == [
        ("in", "Hi"),
        ("out", "Hello"),
        ("in", "Thanks"),
    ]
    migration.forwards(django_apps, None)  # run twice: nothing doubles
    assert ConversationMessage.objects.count() == 3
