"""The inbox through its doors: a partner's signed webhook and the owner's dashboard
pages, with the reply's push delivered to a real local HTTP server and the reply's
email to a real local SMTP server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations import signatures
from integrations.models import Channel, PartnerMessage, PushOutbox
from integrations.services import push
from messaging.models import Conversation, ConversationMessage, Kind, ScheduledMessage
from messaging.services.outbox import outbox_dispatch
from messaging.services.sending import outbox_send
from tests.conftest import Tenant
from tests.integrations.conftest import Partner, make_partner
from tests.messaging.inbox_world import (
    RESERVATION,
    direct_stay,
    partner_books,
    partner_guest_writes,
)
from tests.support.partner_server import PartnerServer
from tests.support.smtp import Sink

pytestmark = pytest.mark.django_db
INBOX = "/dashboard/inbox/"


def thread_url(conversation: Conversation) -> str:
    return f"{INBOX}{conversation.pk}/"


def reply(client: Client, conversation: Conversation, body: str, nonce: str = "n-1") -> Any:
    return client.post(thread_url(conversation), {"body": body, "nonce": nonce})


def later(seconds: float) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


def written() -> tuple[int, int, int, int]:
    return (
        ConversationMessage.objects.count(),
        PushOutbox.objects.filter(kind=PushOutbox.Kind.MESSAGE).count(),
        PartnerMessage.objects.count(),
        ScheduledMessage.objects.filter(kind=Kind.GUEST_REPLY).count(),
    )


@pytest.fixture
def connected(tenant: Tenant, partner_server: PartnerServer) -> Partner:
    return make_partner(tenant, endpoint=partner_server.url)


@pytest.fixture
def partner_thread(connected: Partner) -> Conversation:
    partner_books(connected)
    partner_guest_writes(connected, "Hello! Is there parking for two cars?")
    return Conversation.objects.get()


def test_partner_message_is_an_unread_conversation_on_today(
    tenant: Tenant, connected: Partner
) -> None:
    reference = partner_books(connected)
    partner_guest_writes(connected, "Hello! Is there parking for two cars?")
    conversation = Conversation.objects.get()
    assert conversation.kind == Conversation.Kind.PARTNER
    assert conversation.unread
    assert conversation.booking is not None
    assert conversation.booking.reference == reference
    assert conversation.guest_name == "Ada Lovelace"
    assert conversation.partner_name == "Airbnb"

    owner = tenant.admin_client()
    today = owner.get("/dashboard/").content.decode()
    panel = today.split('id="panel-inbox"', 1)[1].split("</section>", 1)[0]
    assert "Unread guest messages" in today
    assert "Ada Lovelace" in panel
    assert "Is there parking for two cars?" in panel
    assert f'href="{thread_url(conversation)}"' in panel
    assert ">1<" in panel  # the count

    listing = owner.get(INBOX + "?show=unread").content.decode()
    assert "Ada Lovelace" in listing
    assert "Unread" in listing

    page = owner.get(thread_url(conversation))
    assert page.status_code == 200
    assert "Is there parking for two cars?" in page.content.decode()
    conversation.refresh_from_db()
    assert not conversation.unread
    assert 'id="panel-inbox"' not in owner.get("/dashboard/").content.decode()
    assert "No unread messages" in owner.get(INBOX + "?show=unread").content.decode()


def test_reply_to_a_partner_thread_is_pushed_signed_to_the_partner(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer, partner_thread: Conversation
) -> None:
    owner = tenant.admin_client()
    response = reply(owner, partner_thread, "Yes, two spaces behind the house.")
    assert response.status_code == 302
    message = ConversationMessage.objects.get(direction="out")
    assert message.delivery_state == ConversationMessage.Delivery.PENDING
    row = PushOutbox.objects.get(kind=PushOutbox.Kind.MESSAGE)
    assert row.listing is None

    assert push.push_deliver(push_id=row.pk, now=later(1)) == "delivered"
    [sent] = [
        r for r in partner_server.posts() if json.loads(r["body"])["type"] != "availability.updated"
    ]
    signatures.verify(sent["headers"]["Holidesk-Signature"], sent["body"], [connected.outbound])
    envelope = json.loads(sent["body"])
    assert envelope["id"] == row.push_id
    assert envelope["type"] == "message.created"
    data = envelope["data"]
    assert data == {
        "reservation_id": RESERVATION,
        "message_id": message.external_id,
        "sender": "host",
        "body": "Yes, two spaces behind the house.",
        "sent_at": data["sent_at"],
    }
    assert data["sent_at"].endswith("Z")
    assert datetime.fromisoformat(data["sent_at"]) == message.created_at
    message.refresh_from_db()
    assert message.delivery_state == ConversationMessage.Delivery.SENT
    assert "Delivered to Airbnb" in owner.get(thread_url(partner_thread)).content.decode()
    assert PartnerMessage.objects.get(sender="host").message_id == message.external_id


def test_a_reply_that_never_gets_through_is_shown_and_can_be_sent_again(
    tenant: Tenant, connected: Partner, partner_server: PartnerServer, partner_thread: Conversation
) -> None:
    partner_server.statuses = [503]
    owner = tenant.admin_client()
    reply(owner, partner_thread, "Yes.")
    row = PushOutbox.objects.get(kind=PushOutbox.Kind.MESSAGE)
    clock = later(1)
    outcomes = []
    for _ in range(8):
        outcomes.append(push.push_deliver(push_id=row.pk, now=clock))
        row.refresh_from_db()
        clock = row.next_attempt_at + timedelta(seconds=1)
        if outcomes[-1] == "retry":
            assert "Retrying" in owner.get(thread_url(partner_thread)).content.decode()
    assert outcomes == ["retry"] * 7 + ["dead"]
    page = owner.get(thread_url(partner_thread)).content.decode()
    assert "Not delivered" in page
    assert "HTTP 503" in page
    channels = owner.get("/dashboard/channels/").content.decode()
    assert f"Reply about reservation {RESERVATION}" in channels
    assert "Send the replies again" in channels

    partner_server.statuses = [200]
    assert owner.post("/dashboard/channels/redrive/", {"push": [row.pk]}).status_code == 302
    assert "Sending" in owner.get(thread_url(partner_thread)).content.decode()
    fresh = PushOutbox.objects.get(kind=PushOutbox.Kind.MESSAGE, status=PushOutbox.Status.PENDING)
    assert fresh.message_id == row.message_id
    assert push.push_deliver(push_id=fresh.pk, now=later(1)) == "delivered"
    assert ConversationMessage.objects.get(direction="out").delivery_state == "sent"
    bodies = [b for b in partner_server.bodies() if b["type"] == "message.created"]
    assert len({b["data"]["message_id"] for b in bodies}) == 1  # the same message each time


def test_reply_to_a_direct_guest_is_emailed_through_the_outbox(
    tenant: Tenant, smtp_sink: Sink, settings: Any, redis_prefix: str
) -> None:
    settings.EMAIL_RATE_PER_SECOND = 1000.0
    booking = direct_stay(tenant)
    owner = tenant.admin_client()
    start = owner.get(f"{INBOX}stay/{booking.reference}/")
    assert start.status_code == 200
    assert "Write to Ada Lovelace" in start.content.decode()
    assert not Conversation.objects.exists()  # no empty thread is stored

    response = owner.post(
        f"{INBOX}stay/{booking.reference}/",
        {"body": "Hello Ada,\nthe cot is ready for you.", "nonce": "first"},
    )
    assert response.status_code == 302
    conversation = Conversation.objects.get()
    assert conversation.kind == Conversation.Kind.DIRECT
    assert response["Location"] == thread_url(conversation) + "#latest"
    assert owner.get(f"{INBOX}stay/{booking.reference}/")["Location"] == thread_url(conversation)
    row = ScheduledMessage.objects.get(kind=Kind.GUEST_REPLY)
    assert row.conversation == conversation

    claimed: list[int] = []
    outbox_dispatch(enqueue=lambda message_id, priority: claimed.append(message_id))
    assert row.pk in claimed
    assert outbox_send(message_id=row.pk) == "sent"
    [mail] = smtp_sink.to("ada@example.com")
    assert tenant.business.name in mail["From"]
    assert mail["Reply-To"] == tenant.business.contact_email
    assert tenant.business.name in mail["Subject"]
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    plain = text.get_payload(decode=True).decode()
    assert "the cot is ready for you." in plain
    assert f"/trips/{booking.reference}/" in plain
    assert "Emailed" in owner.get(thread_url(conversation)).content.decode()


def test_the_reply_form_refuses_empty_and_oversized_messages(
    tenant: Tenant, partner_thread: Conversation
) -> None:
    owner = tenant.admin_client()
    before = written()
    for body, error in (
        ("", "Write a message first."),
        ("   \n\t ", "Write a message first."),
        ("x" * 5001, "at most 5,000 characters"),
    ):
        response = reply(owner, partner_thread, body)
        assert response.status_code == 400
        assert error in response.content.decode()
        assert 'aria-invalid="true"' in response.content.decode()
    assert written() == before
    booking = direct_stay(tenant, days_ahead=40)
    response = owner.post(f"{INBOX}stay/{booking.reference}/", {"body": ""})
    assert response.status_code == 400
    assert not Conversation.objects.filter(booking=booking).exists()


def test_the_same_reply_submitted_twice_is_sent_once(
    tenant: Tenant, partner_thread: Conversation
) -> None:
    owner = tenant.admin_client()
    reply(owner, partner_thread, "On our way.", nonce="same")
    reply(owner, partner_thread, "On our way.", nonce="same")
    assert ConversationMessage.objects.filter(direction="out").count() == 1
    assert PushOutbox.objects.filter(kind=PushOutbox.Kind.MESSAGE).count() == 1


def test_a_reply_to_a_channel_that_cannot_send_is_a_form_error(
    tenant: Tenant, connected: Partner, partner_thread: Conversation
) -> None:
    Channel.objects.filter(pk=connected.channel.pk).update(endpoint_url="")
    before = written()
    response = reply(tenant.admin_client(), partner_thread, "Hello")
    assert response.status_code == 409
    assert "no endpoint URL" in response.content.decode()
    assert written() == before


def test_another_business_cannot_see_or_answer_a_conversation(
    tenant: Tenant, outsider: Tenant, partner_thread: Conversation
) -> None:
    booking = direct_stay(tenant, days_ahead=40)
    stranger = outsider.admin_client()
    before = written()
    for url in (thread_url(partner_thread), f"{INBOX}stay/{booking.reference}/"):
        assert stranger.get(url).status_code == 404, url
        assert stranger.post(url, {"body": "Hi", "nonce": "x"}).status_code == 404, url
    assert written() == before
    assert "Ada Lovelace" not in stranger.get(INBOX).content.decode()
    assert stranger.get("/dashboard/").status_code == 200
    partner_thread.refresh_from_db()
    assert partner_thread.unread  # looking from outside marks nothing read


def test_inbox_lists_both_kinds_and_filters_unread(
    tenant: Tenant, partner_thread: Conversation
) -> None:
    booking = direct_stay(tenant, days_ahead=40, name="Grace Hopper")
    owner = tenant.admin_client()
    owner.post(f"{INBOX}stay/{booking.reference}/", {"body": "Welcome!", "nonce": "w"})
    html = owner.get(INBOX).content.decode()
    assert "Ada Lovelace" in html
    assert "Grace Hopper" in html
    assert "Airbnb" in html
    assert "Direct" in html
    assert "You:</span> Welcome!" in html
    unread = owner.get(INBOX + "?show=unread").content.decode()
    assert "Ada Lovelace" in unread
    assert "Grace Hopper" not in unread
    assert 'Unread <span class="count">1</span>' in unread


def test_the_booking_page_shows_the_thread_and_links_to_it(
    tenant: Tenant, partner_thread: Conversation
) -> None:
    assert partner_thread.booking is not None
    owner = tenant.admin_client()
    html = owner.get(f"/dashboard/bookings/{partner_thread.booking.reference}/").content.decode()
    section = html.split('id="conversation"', 1)[1].split("</section>", 1)[0]
    assert "Is there parking for two cars?" in section
    assert f'href="{thread_url(partner_thread)}"' in section
    assert "Read and reply" in section


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_inbox_and_today_cost_the_same_queries_for_one_or_many_conversations(
    tenant: Tenant, connected: Partner
) -> None:
    partner_books(connected)
    partner_guest_writes(connected, "First")
    owner = tenant.admin_client()
    owner.get("/dashboard/")  # warm the session: its first request binds it to the host
    small = (_queries(owner, INBOX), _queries(owner, "/dashboard/"))
    for n in range(2, 9):
        reservation = f"HM{n:08d}"
        partner_books(
            connected,
            event_id=f"e_r{n}",
            reservation_id=reservation,
            check_in=f"2032-01-{n * 3:02d}",
            check_out=f"2032-01-{n * 3 + 2:02d}",
        )
        partner_guest_writes(
            connected, f"Message {n}", message_id=f"m{n}", reservation_id=reservation
        )
    assert Conversation.objects.count() == 8
    assert (_queries(owner, INBOX), _queries(owner, "/dashboard/")) == small


def test_a_platform_guest_is_not_emailed_behind_the_platform(
    tenant: Tenant, connected: Partner
) -> None:
    reference = partner_books(connected)
    owner = tenant.admin_client()
    url = f"{INBOX}stay/{reference}/"
    page = owner.get(url).content.decode()
    assert "Write to this guest on Airbnb" in page
    assert "<textarea" not in page
    before = written()
    assert owner.post(url, {"body": "Hello", "nonce": "p"}).status_code == 409
    assert written() == before
    assert not Conversation.objects.exists()
    detail = owner.get(f"/dashboard/bookings/{reference}/").content.decode()
    assert 'id="conversation"' not in detail
