"""Host replies as `message.created` pushes: one push per message (never coalesced or
superseded), the same outbox as every push, and the inbox told of each outcome."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.models import Channel, PushOutbox
from integrations.services import push
from messaging.models import Conversation, ConversationMessage
from messaging.services.conversations import conversation_reply
from tests.conftest import Tenant
from tests.integrations.conftest import Partner, make_partner
from tests.messaging.inbox_world import partner_books, partner_guest_writes
from tests.support.partner_server import PartnerServer

pytestmark = pytest.mark.django_db
Status = PushOutbox.Status
Kind = PushOutbox.Kind


def later(seconds: float) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


@pytest.fixture
def thread(tenant: Tenant, partner_server: PartnerServer) -> tuple[Partner, Conversation]:
    partner = make_partner(tenant, endpoint=partner_server.url)
    partner_books(partner)
    partner_guest_writes(partner, "Hi")
    PushOutbox.objects.all().delete()  # the booking's availability push
    return partner, Conversation.objects.get()


def test_each_reply_is_its_own_push_delivered_in_turn(
    tenant: Tenant, thread: tuple[Partner, Conversation], partner_server: PartnerServer
) -> None:
    _, conversation = thread
    first = conversation_reply(conversation=conversation, user=tenant.owner, body="One")
    second = conversation_reply(conversation=conversation, user=tenant.owner, body="Two")
    rows = list(PushOutbox.objects.filter(kind=Kind.MESSAGE).order_by("id"))
    assert len(rows) == 2
    for row in rows:
        assert push.push_deliver(push_id=row.pk, now=later(1)) == "delivered"
    sent = [b["data"] for b in partner_server.bodies()]
    assert [(d["message_id"], d["body"]) for d in sent] == [
        (first.external_id, "One"),
        (second.external_id, "Two"),
    ]


def test_a_calendar_change_does_not_supersede_a_waiting_reply(
    tenant: Tenant, thread: tuple[Partner, Conversation], partner_server: PartnerServer
) -> None:
    from bookings.services.blocks import block_create

    _, conversation = thread
    partner_server.statuses = [500, 200]
    conversation_reply(conversation=conversation, user=tenant.owner, body="Hello")
    row = PushOutbox.objects.get(kind=Kind.MESSAGE)
    assert push.push_deliver(push_id=row.pk, now=later(1)) == "retry"
    start = tenant.prop.local_today() + timedelta(days=5)
    block_create(property=tenant.prop, start=start, end=start + timedelta(days=2))
    row.refresh_from_db()
    assert row.status == Status.PENDING
    assert PushOutbox.objects.filter(kind=Kind.AVAILABILITY, status=Status.PENDING).exists()
    assert push.push_deliver(push_id=row.pk, now=row.next_attempt_at) == "delivered"


def test_a_reply_to_a_channel_paused_before_delivery_is_a_dead_letter(
    tenant: Tenant, thread: tuple[Partner, Conversation]
) -> None:
    partner, conversation = thread
    message = conversation_reply(conversation=conversation, user=tenant.owner, body="Hello")
    Channel.objects.filter(pk=partner.channel.pk).update(active=False)
    row = PushOutbox.objects.get(kind=Kind.MESSAGE)
    assert push.push_deliver(push_id=row.pk, now=later(1)) == "skipped"
    row.refresh_from_db()
    assert row.status == Status.DEAD
    message.refresh_from_db()
    assert message.delivery_state == ConversationMessage.Delivery.FAILED
    assert "inactive" in message.delivery_error


def test_a_message_push_names_its_message_and_no_listing(
    tenant: Tenant, thread: tuple[Partner, Conversation]
) -> None:
    partner, _ = thread
    with pytest.raises(IntegrityError), transaction.atomic():
        PushOutbox.objects.create(
            business=tenant.business,
            channel=partner.channel,
            listing=partner.link,
            kind=Kind.MESSAGE,
            next_attempt_at=timezone.now(),
        )
