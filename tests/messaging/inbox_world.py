"""Guests who write: a partner's guest through a signed webhook, a direct guest from
their trip page. Shared by the inbox's dashboard, messaging and integrations tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client

from bookings.models import Booking
from bookings.services.stays import booking_create
from properties.models import User
from tests.conftest import Tenant, site_host
from tests.factories import UserFactory
from tests.integrations.conftest import Partner, event, post

RESERVATION = "HMABCD1234"


def partner_books(partner: Partner, event_id: str = "e_res", **data: Any) -> str:
    """The partner's reservation (HMABCD1234 by default); returns its booking reference."""
    answer = post(partner.url, event(event_id, **data), partner.inbound)
    assert answer.status_code == 200, answer.content
    return str(answer.json()["booking"])


def partner_guest_writes(
    partner: Partner,
    body: str = "Is there parking?",
    *,
    message_id: str = "msg_1",
    event_id: str | None = None,
    sender: str = "guest",
    reservation_id: str = RESERVATION,
    sent_at: str = "2031-11-22T10:00:00Z",
) -> Any:
    payload = event(
        event_id or f"e_{message_id}",
        "message.created",
        message_id=message_id,
        body=body,
        sender=sender,
        reservation_id=reservation_id,
        sent_at=sent_at,
    )
    answer = post(partner.url, payload, partner.inbound)
    assert answer.status_code == 200, answer.content
    return answer


def direct_stay(
    tenant: Tenant,
    guest: User | None = None,
    *,
    days_ahead: int = 20,
    name: str = "Ada Lovelace",
) -> Booking:
    """A confirmed direct stay booked by `guest` (a visitor account) on the site."""
    guest = guest or UserFactory(email="ada@example.com", name=name)
    start = tenant.prop.local_today() + timedelta(days=days_ahead)
    booking = booking_create(
        property=tenant.prop,
        check_in=start,
        check_out=start + timedelta(days=4),
        guests=2,
        source=Booking.Source.DIRECT,
        guest_name=name,
        guest_email=guest.email,
    )
    Booking.objects.filter(pk=booking.pk).update(guest_user=guest)
    booking.refresh_from_db()
    return booking


def visitor(tenant: Tenant, user: User) -> Client:
    client = Client(HTTP_HOST=site_host(tenant.business))
    client.force_login(user)
    return client
