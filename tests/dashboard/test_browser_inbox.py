"""The inbox in headless Chromium at 1280 and 390 px: Today's unread panel, the list,
a thread and a reply sent with the form; and the guest's trip page with its messages.
Every page is scanned with axe (no serious or critical violation), must not scroll
sideways, and is photographed for docs/dashboard.md (HOLIDESK_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")

from django.utils import timezone

from bookings.models import Booking
from integrations.models import Channel
from messaging.models import Conversation, ConversationMessage
from messaging.services.conversations import (
    conversation_guest_write,
    conversation_partner_message_record,
    conversation_reply,
)
from tests.conftest import Tenant, make_tenant
from tests.dashboard.conftest import make_busy_day, stay
from tests.dashboard.test_browser import (
    CHROMIUM,
    ROOT,
    assert_accessible,
    assert_no_page_scroll,
    sign_in,
)
from tests.factories import PropertyFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]


def populate(tenant: Tenant) -> tuple[Conversation, Booking]:
    """A week of guest messages: partner threads (one about a reservation not arrived
    yet), direct guests, replies delivered and one that was not. Returns the busiest
    thread and a direct stay whose guest has a visitor account."""
    day = make_busy_day(tenant)
    channel: Channel = day.channel
    Channel.objects.filter(pk=channel.pk).update(endpoint_url="https://partner.example.com/hook")
    now = timezone.now()
    business = tenant.business
    hill = PropertyFactory(business=business, name="Orchard House")
    guests = [
        ("Katherine Johnson", "airbnb", "HMKJ2026", 14),
        ("Barbara Liskov", "booking", "BK-884120", 21),
        ("Tim Berners-Lee", "vrbo", "VR-1190", 28),
    ]
    threads = []
    for offset, (name, source, reservation, days) in enumerate(guests):
        booking = stay(hill, day.today + timedelta(days=days), 3, name=name, source=source)
        threads.append(
            conversation_partner_message_record(
                business_id=business.pk,
                channel_id=channel.public_id,
                channel_name=str(
                    {"airbnb": "Airbnb", "booking": "Booking.com", "vrbo": "Vrbo"}[source]
                ),
                reservation_id=reservation,
                message_id=f"m-{reservation}",
                role="guest",
                body=(
                    "Hi! We land at 22:40 — is a late check-in possible? We would also love "
                    "a cot for our one-year-old, if you have one."
                    if offset == 0
                    else f"Thanks {business.name}, see you soon."
                ),
                sent_at=now - timedelta(hours=offset * 7 + 1),
                booking_id=booking.pk,
            ).conversation
        )
    conversation_partner_message_record(
        business_id=business.pk,
        channel_id=channel.public_id,
        channel_name="Airbnb",
        reservation_id="HMNOTYET01",
        message_id="m-early",
        role="guest",
        body="Before I book: is the garden fenced? Our dog is small but quick.",
        sent_at=now - timedelta(minutes=25),
        booking_id=None,
    )
    busy = threads[0]
    conversation_reply(
        conversation=busy,
        user=tenant.owner,
        body="Of course! The key box code comes the day before; a cot will be made up.",
        now=now - timedelta(minutes=50),
    )
    ConversationMessage.objects.filter(direction="out").update(delivery="sent")
    conversation_partner_message_record(
        business_id=business.pk,
        channel_id=channel.public_id,
        channel_name="Airbnb",
        reservation_id="HMKJ2026",
        message_id="m-HMKJ2026-2",
        role="guest",
        body="Wonderful, thank you so much!",
        sent_at=now - timedelta(minutes=10),
        booking_id=None,
    )
    conversation_reply(conversation=threads[1], user=tenant.owner, body="Looking forward to it.")
    ConversationMessage.objects.filter(conversation=threads[1], direction="out").update(
        delivery="failed", delivery_error="HTTP 503: Service Unavailable"
    )
    visitor = UserFactory(email="grace@example.com", name="Grace Hopper")
    direct = stay(tenant.prop, day.today + timedelta(days=30), 5, name="Grace Hopper")
    Booking.objects.filter(pk=direct.pk).update(guest_user=visitor)
    direct.refresh_from_db()
    conversation_guest_write(
        booking=direct,
        body="Hello! Is there a supermarket within walking distance?",
        now=now - timedelta(days=2),
    )
    conversation_reply(
        conversation=Conversation.objects.get(booking=direct),
        user=tenant.owner,
        body="Yes, five minutes down the hill, open until 20:00.",
        now=now - timedelta(days=2) + timedelta(hours=1),
    )
    Conversation.objects.filter(booking=direct).update(unread=False)
    busy.refresh_from_db()
    return busy, direct


def test_the_inbox_reads_and_answers_on_desktop_and_phone(
    live_server: Any,
    browser: Any,
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    tenant = make_tenant("seaside")
    busy, direct = populate(tenant)
    origin = live_server.url.replace("127.0.0.1", "localhost")
    site = f"http://{tenant.business.slug}.localhost:{live_server.url.rsplit(':', 1)[1]}"
    shots = ROOT / "docs" / "img" if os.environ.get("HOLIDESK_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)

    for label, width, height in (("desktop", 1280, 900), ("mobile", 390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, origin, tenant.owner.email)
        page.wait_for_url(f"{origin}/dashboard/")
        panel = page.locator("#panel-inbox").locator("xpath=ancestor::section[1]")
        assert panel.get_by_role("link", name="Katherine Johnson").is_visible()

        page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Inbox").click()
        page.wait_for_url("**/dashboard/inbox/")
        assert page.get_by_role("heading", name="Inbox").is_visible()
        assert_accessible(page, f"inbox ({label})")
        assert_no_page_scroll(page, f"inbox ({label})", width)
        page.screenshot(path=str(shots / f"dashboard-inbox-{label}.png"), full_page=True)

        page.locator(".inbox-link", has_text="Katherine Johnson").click()
        page.wait_for_url(f"**/dashboard/inbox/{busy.pk}/")
        assert page.get_by_text("Wonderful, thank you so much!").is_visible()
        assert_accessible(page, f"thread ({label})")
        assert_no_page_scroll(page, f"thread ({label})", width)
        page.screenshot(path=str(shots / f"dashboard-thread-{label}.png"), full_page=True)

        text = f"See you on Friday ({label})."
        page.get_by_label("Reply to Katherine Johnson").fill(text)
        page.get_by_role("button", name="Send reply").click()
        page.wait_for_url(f"**/dashboard/inbox/{busy.pk}/#latest")
        assert page.locator("#latest").get_by_text(text).is_visible()
        assert page.locator("#latest .badge").inner_text() == "Sending"
        assert_no_page_scroll(page, f"thread after reply ({label})", width)

        page.get_by_label("Reply to Katherine Johnson").fill("   ")
        page.get_by_role("button", name="Send reply").click()
        assert page.get_by_text("Write a message first.").is_visible()
        assert_accessible(page, f"thread with an error ({label})")
        context.close()
        conversation_partner_message_record(  # the guest answers: unread again
            business_id=tenant.business.pk,
            channel_id=busy.partner_channel,
            channel_name="Airbnb",
            reservation_id=busy.partner_reservation,
            message_id=f"m-answer-{label}",
            role="guest",
            body="Perfect, thanks!",
            sent_at=timezone.now(),
            booking_id=None,
        )

        guest = browser.new_context(viewport={"width": width, "height": height})
        page = guest.new_page()
        sign_in(page, site, "grace@example.com")
        page.goto(f"{site}/trips/{direct.reference}/#messages")
        assert page.get_by_text("open until 20:00").is_visible()
        assert_accessible(page, f"trip messages ({label})")
        assert_no_page_scroll(page, f"trip messages ({label})", width)
        if label == "mobile":
            page.locator("#messages").screenshot(path=str(shots / "site-trip-messages-mobile.png"))
        guest.close()
    assert ConversationMessage.objects.filter(conversation=busy, direction="out").count() == 3
