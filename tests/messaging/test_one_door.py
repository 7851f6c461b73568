"""Broadcast and opt-out rules hold through every door: the service, and the owner's
admin forms, which call it. And the dispatcher is woken only once a write commits."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse

from messaging.errors import InvalidBroadcast
from messaging.models import Broadcast, GuestOptOut, Kind, ScheduledMessage
from messaging.services import outbox
from messaging.services.broadcasts import broadcast_send, guest_unsubscribe
from messaging.services.stay_messages import conflict_notice_schedule
from tests.conftest import Tenant
from tests.messaging.test_broadcast_and_admin import free_dates, past_guests

State = ScheduledMessage.State


def bad_ranges(today: date) -> dict[str, tuple[date, date, str]]:
    later = today + timedelta(days=30)
    return {
        "empty": (later, later, "The free range must end after it starts."),
        "backwards": (later, later - timedelta(days=2), "The free range must end after it starts."),
        "past": (today - timedelta(days=9), today, "These dates are in the past."),
    }


@pytest.mark.parametrize("case", ["empty", "backwards", "past"])
def test_broadcast_range_rule_through_the_service(tenant: Tenant, case: str) -> None:
    start, end, message = bad_ranges(tenant.prop.local_today())[case]
    with pytest.raises(InvalidBroadcast) as refused:
        broadcast_send(
            business=tenant.business, property=tenant.prop, free_from=start, free_until=end
        )
    assert refused.value.fields == {"free_until": [message]}
    assert not Broadcast.objects.exists()


@pytest.mark.parametrize("case", ["empty", "backwards", "past"])
def test_broadcast_range_rule_through_the_admin(tenant: Tenant, case: str) -> None:
    past_guests(tenant.prop, ["a@example.com"])
    start, end, message = bad_ranges(tenant.prop.local_today())[case]
    response = tenant.admin_client().post(
        reverse("admin:messaging_broadcast_add"),
        {"property": tenant.prop.pk, "free_from": start, "free_until": end, "note": ""},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Broadcast.objects.exists()
    assert not ScheduledMessage.objects.filter(kind=Kind.BROADCAST).exists()


def test_admin_broadcast_goes_out_through_the_service(tenant: Tenant) -> None:
    past_guests(tenant.prop, ["a@example.com", "B@example.com", "out@example.com"])
    guest_unsubscribe(business_id=tenant.business.pk, email="out@example.com")
    start, end = free_dates(tenant.prop)
    response = tenant.admin_client().post(
        reverse("admin:messaging_broadcast_add"),
        {"property": tenant.prop.pk, "free_from": start, "free_until": end, "note": "Hi!"},
    )
    assert response.status_code == 302
    broadcast = Broadcast.objects.get()
    assert (broadcast.business, broadcast.total, broadcast.note) == (tenant.business, 2, "Hi!")
    recipients = set(
        ScheduledMessage.objects.filter(broadcast=broadcast).values_list("recipient", flat=True)
    )
    assert recipients == {"a@example.com", "b@example.com"}


def _pending_broadcast_to(tenant: Tenant, email: str) -> ScheduledMessage:
    past_guests(tenant.prop, [email])
    start, end = free_dates(tenant.prop)
    broadcast = broadcast_send(
        business=tenant.business, property=tenant.prop, free_from=start, free_until=end
    )
    row = ScheduledMessage.objects.get(broadcast=broadcast)
    assert row.state == State.SCHEDULED
    return row


def test_opt_out_rule_through_the_service(tenant: Tenant) -> None:
    row = _pending_broadcast_to(tenant, "ada@example.com")
    guest_unsubscribe(business_id=tenant.business.pk, email="  Ada@Example.COM ")
    guest_unsubscribe(business_id=tenant.business.pk, email="ada@example.com")
    assert list(GuestOptOut.objects.values_list("email", flat=True)) == ["ada@example.com"]
    row.refresh_from_db()
    assert row.state == State.CANCELLED


def test_opt_out_rule_through_the_admin(tenant: Tenant, outsider: Tenant) -> None:
    row = _pending_broadcast_to(tenant, "ada@example.com")
    theirs = _pending_broadcast_to(outsider, "ada@example.com")
    client = tenant.admin_client()
    add = reverse("admin:messaging_guestoptout_add")
    assert client.post(add, {"email": "Ada@Example.COM"}).status_code == 302
    # The same guest again, in another case: no error, still one opt-out.
    assert client.post(add, {"email": "ada@EXAMPLE.com"}).status_code == 302
    opt_out = GuestOptOut.objects.get()
    assert (opt_out.business, opt_out.email) == (tenant.business, "ada@example.com")
    row.refresh_from_db()
    assert row.state == State.CANCELLED
    theirs.refresh_from_db()
    assert theirs.state == State.SCHEDULED  # another business's guest list is its own


class FakeBroker:
    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[str] = []

    def send_task(self, name: str, *args: Any, **kwargs: Any) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append(name)


def test_dispatcher_is_woken_after_commit_and_a_broker_failure_is_not_raised(
    tenant: Tenant,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.MESSAGING_KICK_DISPATCHER = True
    broker = FakeBroker()
    monkeypatch.setattr(outbox, "current_app", broker)
    with django_capture_on_commit_callbacks(execute=True):
        conflict_notice_schedule(business_id=tenant.business.pk, conflict_id=1, summary="Clash")
        assert broker.sent == []  # not before the commit
    assert broker.sent == [outbox.DISPATCH_TASK]

    broker.fail = True
    with django_capture_on_commit_callbacks(execute=True):
        row = conflict_notice_schedule(
            business_id=tenant.business.pk, conflict_id=2, summary="Clash"
        )
    assert row is not None
    assert ScheduledMessage.objects.get(pk=row.pk).state == State.SCHEDULED  # the beat finds it

    settings.MESSAGING_KICK_DISPATCHER = False
    broker.fail = False
    with django_capture_on_commit_callbacks(execute=True):
        conflict_notice_schedule(business_id=tenant.business.pk, conflict_id=3, summary="Clash")
    assert broker.sent == [outbox.DISPATCH_TASK]
