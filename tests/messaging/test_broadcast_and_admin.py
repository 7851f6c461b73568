"""Broadcasts to past guests, unsubscribes, owner templates and the owner's admin pages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from psycopg.types.range import Range

from bookings.models import Booking
from messaging import links, rendering
from messaging.errors import InvalidBroadcast, NotFound
from messaging.models import (
    Broadcast,
    EmailTemplate,
    GuestOptOut,
    Kind,
    ScheduledMessage,
)
from messaging.services.broadcasts import broadcast_send
from messaging.services.key_codes import key_code_ensure_first
from messaging.services.outbox import message_row, message_schedule, outbox_dispatch
from messaging.services.sending import outbox_send
from messaging.services.settings_rows import (
    business_messaging_get_or_create,
    property_messaging_get_or_create,
)
from properties.models import Property
from tests.conftest import APP_HOST, Tenant

State = ScheduledMessage.State


def past_guests(prop: Property, emails: list[str]) -> None:
    start = prop.local_today() - timedelta(days=len(emails) + 10)
    Booking.objects.bulk_create(
        [
            Booking(
                business=prop.business,
                property=prop,
                stay=Range(start + timedelta(days=i), start + timedelta(days=i + 1), "[)"),
                guest_name=f"Guest {i}",
                guest_email=email,
                currency="EUR",
                confirmed_at=timezone.now(),
            )
            for i, email in enumerate(emails)
        ]
    )


def free_dates(prop: Property) -> tuple[date, date]:
    today = prop.local_today()
    return today + timedelta(days=30), today + timedelta(days=37)


def test_broadcast_reaches_each_past_guest_once_except_opted_out(tenant: Tenant) -> None:
    prop = tenant.prop
    emails = [f"guest{i}@example.com" for i in range(1000)]
    # Returning guests (any case) must not get two emails.
    past_guests(prop, [*emails, "GUEST1@example.com", "guest2@example.com", "Guest3@Example.com"])
    for i in (10, 20, 30):
        GuestOptOut.objects.create(business=tenant.business, email=f"guest{i}@example.com")
    start, end = free_dates(prop)
    broadcast = broadcast_send(
        business=tenant.business, property=prop, free_from=start, free_until=end
    )
    recipients = list(
        ScheduledMessage.objects.filter(broadcast=broadcast).values_list("recipient", flat=True)
    )
    assert broadcast.total == 997
    assert len(recipients) == 997
    assert len({r.lower() for r in recipients}) == 997
    assert "guest10@example.com" not in recipients


def test_broadcast_rejects_past_or_empty_ranges_and_writes_nothing(
    tenant: Tenant, outsider: Tenant
) -> None:
    today = tenant.prop.local_today()
    with pytest.raises(InvalidBroadcast):
        broadcast_send(
            business=tenant.business, property=tenant.prop, free_from=today, free_until=today
        )
    with pytest.raises(NotFound):
        broadcast_send(
            business=outsider.business,
            property=tenant.prop,
            free_from=today + timedelta(days=3),
            free_until=today + timedelta(days=5),
        )
    assert not Broadcast.objects.exists()


def test_broadcast_goes_through_the_outbox_with_progress_and_unsubscribe(
    tenant: Tenant, settings: Any, redis_prefix: str
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_RATE_PER_SECOND = 1000.0
    business = tenant.business
    BusinessMessagingQuiet = business_messaging_get_or_create(business=business)
    BusinessMessagingQuiet.quiet_hours = False
    BusinessMessagingQuiet.save()
    past_guests(tenant.prop, ["a@example.com", "b@example.com", "c@example.com"])
    start, end = free_dates(tenant.prop)
    broadcast = broadcast_send(
        business=business, property=tenant.prop, free_from=start, free_until=end
    )
    claimed: list[int] = []
    outbox_dispatch(enqueue=lambda i, p: claimed.append(i))
    first, *rest = claimed
    outbox_send(message_id=first)
    from messaging.selectors import broadcast_progress

    assert broadcast_progress(broadcast)["sent"] == 1
    response = tenant.admin_client().get(reverse("admin:messaging_broadcast_changelist"))
    assert b"1 / 3" in response.content
    # One recipient unsubscribes before their email goes: it is not sent.
    row = ScheduledMessage.objects.get(pk=rest[0])
    token = links.unsubscribe_token(business_id=business.pk, email=row.recipient)
    one_click = Client(HTTP_HOST=APP_HOST, enforce_csrf_checks=True)
    page = reverse("messaging:unsubscribe", args=[token])
    assert one_click.get(page).status_code == 200
    assert not GuestOptOut.objects.exists()  # GET changes nothing
    assert one_click.post(page, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert GuestOptOut.objects.filter(business=business, email=row.recipient).exists()
    for message_id in rest:
        outbox_send(message_id=message_id)
    row.refresh_from_db()
    assert row.state == State.CANCELLED
    assert broadcast_progress(broadcast)["sent"] == 2
    # Honoured from then on.
    later = broadcast_send(business=business, property=tenant.prop, free_from=start, free_until=end)
    assert later.total == 2


def test_forged_unsubscribe_link_is_404(tenant: Tenant, outsider: Tenant) -> None:
    token = links.unsubscribe_token(business_id=tenant.business.pk, email="a@example.com")
    page = reverse("messaging:unsubscribe", args=[token[:-2] + "xx"])
    assert outsider.admin_client().post(page).status_code == 404
    assert not GuestOptOut.objects.exists()


def test_owner_template_is_substituted_safely() -> None:
    text = "Hi {{ guest_name }} {% load static %}{{ booking.guest_user.password }} {{guest_name}}"
    assert rendering.unknown_variables(text) == []  # dotted names are not even variables
    assert rendering.substitute(text, {"guest_name": "Ada"}) == (
        "Hi Ada {% load static %}{{ booking.guest_user.password }} Ada"
    )
    assert rendering.unknown_variables("{{ secret_key }}") == ["secret_key"]


def test_template_admin_rejects_unknown_variables(tenant: Tenant) -> None:
    client = tenant.admin_client()
    response = client.post(
        reverse("admin:messaging_emailtemplate_add"),
        {
            "kind": Kind.WELCOME,
            "subject": "Hi {{ guest_name }}",
            "body": "{{ secret_key }}",
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert "Unknown variable" in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_template_preview_renders_a_sample_and_is_404_for_outsiders(
    tenant: Tenant, outsider: Tenant
) -> None:
    template = EmailTemplate.objects.create(
        business=tenant.business,
        kind=Kind.WELCOME,
        subject="Welcome {{ guest_name }} <script>",
        body="Your code: {{ key_code }}\nSee {{ trip_url }}",
    )
    url = reverse("admin:messaging_emailtemplate_preview", args=[template.pk])
    response = tenant.admin_client().get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Welcome Ada Lovelace" in content
    assert "Your code: 4821" in content
    assert "<script>" not in content
    assert outsider.admin_client().get(url).status_code == 404


def test_override_is_used_for_real_messages(tenant: Tenant) -> None:
    EmailTemplate.objects.create(
        business=tenant.business,
        kind=Kind.OWNER_CONFLICT,
        subject="Clash: {{ summary }}",
        body="Fix it: {{ summary }}",
    )
    context = rendering.sample_context(tenant.business, Kind.OWNER_CONFLICT)
    rendered = rendering.render(tenant.business, Kind.OWNER_CONFLICT, context)
    assert rendered.subject.startswith("Clash: Airbnb stay")
    assert "Fix it:" in rendered.text
    assert "Fix it:" in rendered.html


def test_outbox_admin_send_now_and_cancel_actions(tenant: Tenant, outsider: Tenant) -> None:
    now = timezone.now()
    mine = [
        message_schedule(
            message_row(
                business_id=tenant.business.pk,
                kind=Kind.OWNER_CONFLICT,
                recipient="o@example.com",
                key=f"t:{i}",
                wanted_at=now + timedelta(days=3),
                now=now,
            )
        )
        for i in range(2)
    ]
    theirs = message_schedule(
        message_row(
            business_id=outsider.business.pk,
            kind=Kind.OWNER_CONFLICT,
            recipient="x@example.com",
            key="t:other",
            wanted_at=now + timedelta(days=3),
            now=now,
        )
    )
    client = tenant.admin_client()
    changelist = reverse("admin:messaging_scheduledmessage_changelist")
    client.post(changelist, {"action": "send_now", "_selected_action": [mine[0].pk, theirs.pk]})
    client.post(changelist, {"action": "cancel", "_selected_action": [mine[1].pk, theirs.pk]})
    for row in (*mine, theirs):
        row.refresh_from_db()
    assert mine[0].send_at <= timezone.now()
    assert mine[1].state == State.CANCELLED
    assert theirs.state == State.SCHEDULED
    assert theirs.send_at > timezone.now()
    response = client.get(changelist + "?state__exact=scheduled")
    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [mine[0].pk]


def test_key_codes_admin_shows_current_code(tenant: Tenant, outsider: Tenant) -> None:
    code = key_code_ensure_first(prop=tenant.prop)
    settings_row = property_messaging_get_or_create(prop=tenant.prop)
    response = tenant.admin_client().get(
        reverse("admin:messaging_propertymessaging_change", args=[settings_row.pk])
    )
    assert code.code in response.content.decode()
    assert (
        outsider.admin_client()
        .get(reverse("admin:messaging_propertymessaging_change", args=[settings_row.pk]))
        .status_code
        == 404
    )
