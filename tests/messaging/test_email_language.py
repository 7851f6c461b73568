"""Guest emails speak the language the guest booked in, whenever they go out; owners
and staff read English; an owner's own template text is sent as they wrote it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

import time_machine
from django.utils import translation

from bookings.models import Booking
from messaging.models import EmailTemplate, Kind, ScheduledMessage
from messaging.rendering import build_email
from messaging.services.outbox import outbox_dispatch
from messaging.services.sending import outbox_send
from tests.conftest import Tenant
from tests.messaging.conftest import stay
from tests.support.smtp import Sink

NOW = datetime(2031, 1, 10, 12, 0, tzinfo=UTC)


def part(message: Message, content_type: str) -> str:
    [found] = [p for p in message.walk() if p.get_content_type() == content_type]
    payload = found.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(found.get_content_charset() or "utf-8")


def german_stay(tenant: Tenant) -> Booking:
    tenant.business.languages = ["en", "de"]
    tenant.business.save()
    booking = stay(tenant.prop, date(2031, 2, 10), date(2031, 2, 14), source=Booking.Source.DIRECT)
    booking.language = "de"
    booking.save(update_fields=["language"])
    return booking


def send_due() -> None:
    claimed: list[int] = []
    outbox_dispatch(enqueue=lambda i, p: claimed.append(i))
    for message_id in claimed:
        outbox_send(message_id=message_id)


@time_machine.travel(NOW, tick=False)
def test_a_german_booking_gets_its_confirmation_in_german(
    tenant: Tenant, smtp_sink: Sink, settings: Any, redis_prefix: str
) -> None:
    settings.EMAIL_RATE_PER_SECOND = 1000.0
    booking = german_stay(tenant)
    send_due()
    [mail] = smtp_sink.to("guest@example.com")
    assert str(make_header(decode_header(mail["Subject"]))) == (
        f"Ihr Aufenthalt in {tenant.prop.name} ist bestätigt ({booking.reference})"
    )
    text = part(mail, "text/plain")
    html = part(mail, "text/html")
    assert "Hallo Grace Guest," in text
    assert "Montag, 10. Februar 2031" in text
    assert "4 Nächte, 2 Gäste" in text
    assert f"/de/trips/{booking.reference}/" in text
    assert '<html lang="de">' in html
    assert "Ihre Buchung ansehen" in html
    assert "Check-in" not in html


@time_machine.travel(NOW, tick=False)
def test_an_email_scheduled_for_later_is_still_in_the_guest_language(tenant: Tenant) -> None:
    """The worker that renders the reminder days later runs in English; the email
    follows the booking, not the worker."""
    booking = german_stay(tenant)
    row = ScheduledMessage.objects.get(booking=booking, kind=Kind.REMINDER)
    with translation.override("en"):
        email, _told = build_email(row, now=NOW)
    assert email.subject == f"Bis bald in {tenant.prop.name}"
    assert "Anreise:  Montag, 10. Februar 2031, ab" in email.body
    assert translation.get_language() != "de"


@time_machine.travel(NOW, tick=False)
def test_owner_emails_about_a_german_booking_stay_english(tenant: Tenant) -> None:
    booking = german_stay(tenant)
    row = ScheduledMessage.objects.filter(booking=booking, kind=Kind.OWNER_NEW_BOOKING).first()
    if row is None:  # owners of this business are not told of new bookings by email
        row = ScheduledMessage.objects.create(
            business=tenant.business,
            booking=booking,
            kind=Kind.OWNER_NEW_BOOKING,
            recipient=tenant.owner.email,
            key=f"test:{booking.pk}:owner",
            send_at=NOW,
        )
    email, _told = build_email(row, now=NOW)
    assert email.subject.startswith(f"New booking {booking.reference}")


@time_machine.travel(NOW, tick=False)
def test_an_owner_template_is_sent_as_written_with_german_dates(tenant: Tenant) -> None:
    EmailTemplate.objects.create(
        business=tenant.business,
        kind=Kind.CONFIRMATION,
        subject="Booked: {{ property_name }}",
        body="Dear {{ guest_name }}, see you on {{ check_in_date }}.",
    )
    booking = german_stay(tenant)
    row = ScheduledMessage.objects.get(booking=booking, kind=Kind.CONFIRMATION)
    email, _told = build_email(row, now=NOW)
    assert email.subject == f"Booked: {tenant.prop.name}"
    assert email.body == "Dear Grace Guest, see you on Montag, 10. Februar 2031.\n"
