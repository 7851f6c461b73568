"""An owner's look back and ahead in headless Chromium: the year's reports, then free
nights offered to past guests and the broadcast watched as it goes out. Each page is
scanned with axe, fits a 390 px phone without sideways scrolling of the page, and is
photographed for docs/dashboard.md (HOLIDESK_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bookings.models import Booking
from bookings.reports import add_months
from bookings.services.blocks import block_create
from bookings.services.stays import booking_create
from messaging.models import Broadcast, ScheduledMessage
from properties.models import Property
from tests.conftest import Tenant, make_tenant
from tests.dashboard.test_browser import (  # skips the module without Playwright
    ROOT,
    assert_accessible,
    assert_no_page_scroll,
    populate,
    sign_in,
)

pytestmark = [pytest.mark.browser]
expect = pytest.importorskip("playwright.sync_api").expect

SOURCES = ["direct", "airbnb", "booking", "vrbo", "direct", "airbnb", "owner"]
GUESTS = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Margaret Hamilton",
    "Claude Shannon",
    "Frances Allen",
    "John McCarthy",
]


def free(prop: Property, start: date, end: date) -> bool:
    return not Booking.objects.filter(property=prop).active().overlapping(start, end).exists()


def history(tenant: Tenant, today: date) -> None:
    """Eleven months of stays before this one, busier in summer, from every source."""
    first = add_months(today.replace(day=1), -11)
    properties = list(Property.objects.filter(business=tenant.business).order_by("name"))
    for m in range(11):
        month = add_months(first, m)
        busy = 3 + (4 if month.month in (6, 7, 8) else 0) + (1 if month.month in (4, 5, 9) else 0)
        for p, prop in enumerate(properties):
            day = month + timedelta(days=(p * 2) % 5)
            for i in range(busy - p % 3):
                nights = 2 + (i + p + m) % 4
                end = day + timedelta(days=nights)
                if end > add_months(month, 1) + timedelta(days=3):
                    break
                if free(prop, day, end):
                    name = GUESTS[(i + p + m) % len(GUESTS)]
                    booking_create(
                        property=prop,
                        check_in=day,
                        check_out=end,
                        source=SOURCES[(i + p) % len(SOURCES)],
                        guest_name=name,
                        guest_email=f"{name.split()[1].lower()}{m}@example.com",
                        total=Decimal(95 + 15 * (p % 3)) * nights + Decimal(40),
                    )
                day = end + timedelta(days=1 + (i + m) % 3)
        maintenance = add_months(first, 2) + timedelta(days=20)
        if m == 2 and free(properties[0], maintenance, maintenance + timedelta(days=4)):
            block_create(
                property=properties[0],
                start=maintenance,
                end=maintenance + timedelta(days=4),
                kind="maintenance",
            )


def test_owner_reads_the_year_and_offers_free_nights(
    live_server: Any,
    browser: Any,
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    tenant = make_tenant("seaside")
    populate(tenant)
    today = tenant.prop.local_today()
    history(tenant, today)
    origin = live_server.url.replace("127.0.0.1", "localhost")
    shots = ROOT / "docs" / "img" if os.environ.get("HOLIDESK_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)

    for label, width, height in (("desktop", 1280, 900), ("mobile", 390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, origin, tenant.owner.email)
        page.wait_for_url(f"{origin}/dashboard/")

        page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Reports").click()
        page.wait_for_url("**/dashboard/reports/")
        assert page.get_by_role("img", name="Occupancy by month").is_visible()
        assert page.get_by_role("img", name="Revenue by month and source").is_visible()
        assert_accessible(page, f"reports ({label})")
        assert_no_page_scroll(page, f"reports ({label})", width)
        page.screenshot(path=str(shots / f"dashboard-reports-{label}.png"), full_page=True)

        page.get_by_role("navigation", name="Dashboard").get_by_role(
            "link", name="Broadcasts"
        ).click()
        page.wait_for_url("**/dashboard/broadcasts/")
        assert_accessible(page, f"broadcasts ({label})")
        assert_no_page_scroll(page, f"broadcasts ({label})", width)
        page.screenshot(path=str(shots / f"dashboard-broadcasts-{label}.png"), full_page=True)

        page.locator(".run a.button").first.click()
        page.wait_for_url("**/dashboard/broadcasts/new/?*")
        page.fill("#id_note", "Ten per cent off if you book this week.")
        page.get_by_role("button", name="Preview again").click()
        page.wait_for_load_state()
        assert page.get_by_text("Ten per cent off if you book this week.").first.is_visible()
        assert_accessible(page, f"broadcast preview ({label})")
        assert_no_page_scroll(page, f"broadcast preview ({label})", width)
        page.screenshot(path=str(shots / f"dashboard-broadcast-new-{label}.png"), full_page=True)

        page.get_by_role("button", name="Send to").click()
        page.wait_for_url("**/dashboard/broadcasts/*/")
        broadcast = Broadcast.objects.order_by("-id").first()
        assert broadcast is not None
        assert broadcast.total > 0
        assert page.locator('[data-count="queued"]').inner_text() == str(broadcast.total)
        # No worker runs here: play the outbox, and watch the page follow by itself.
        rows = ScheduledMessage.objects.filter(broadcast=broadcast)
        first = rows.order_by("id").first()
        assert first is not None
        rows.exclude(pk=first.pk).update(state=ScheduledMessage.State.SENT)
        rows.filter(pk=first.pk).update(
            state=ScheduledMessage.State.FAILED, last_error="550 mailbox unavailable"
        )
        # (Locators, not an evaluated string: the content security policy forbids eval.)
        expect(page.locator('[data-count="queued"]')).to_have_text("0", timeout=15000)
        assert page.locator('[data-count="failed"]').inner_text() == "1"
        assert page.locator("[data-summary]").inner_text().startswith("Done:")
        page.reload()
        assert_accessible(page, f"broadcast progress ({label})")
        assert_no_page_scroll(page, f"broadcast progress ({label})", width)
        page.screenshot(
            path=str(shots / f"dashboard-broadcast-progress-{label}.png"), full_page=True
        )
        context.close()
