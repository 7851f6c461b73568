"""An owner's morning in headless Chromium: sign in, land on Today, open the calendar,
open a stay. Every page is scanned with axe, fits a 390 px phone without sideways
scrolling of the page, and is photographed for docs/dashboard.md."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")
axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")

from django.utils import timezone  # noqa: E402

from bookings.models import Booking  # noqa: E402
from bookings.services.blocks import block_create  # noqa: E402
from bookings.services.stays import booking_hold  # noqa: E402
from integrations.models import BookingConflict, IcalFeed  # noqa: E402
from properties.models import Property, PropertyGroup  # noqa: E402
from tests.conftest import Tenant, make_tenant  # noqa: E402
from tests.dashboard.conftest import make_busy_day, paid, stay, with_cleaner  # noqa: E402
from tests.factories import PropertyFactory  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
from tests.support.browser import CHROMIUM, assert_accessible  # noqa: E402

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]


WIDER_THAN_VIEWPORT = """(width) => Array.from(document.querySelectorAll('body *'))
  .filter((el) => el.getBoundingClientRect().right > width + 0.5)
  .filter((el) => !el.closest('.cal-frame, .table-frame'))
  .slice(0, 5)
  .map((el) => el.tagName + '.' + el.className + ' ' + Math.round(el.getBoundingClientRect().right))"""


def assert_no_page_scroll(page: Any, name: str, width: int) -> None:
    scroll = page.evaluate("document.scrollingElement.scrollWidth")
    wide = page.evaluate(WIDER_THAN_VIEWPORT, width) if scroll > width else []
    assert scroll <= width, f"{name}: the page scrolls sideways ({scroll}px > {width}px): {wide}"


def populate(tenant: Tenant) -> Booking:
    """A small business's month: two groups of cottages, guests from every source, a
    hold, blocks and one double booking. Returns a stay worth opening."""
    day = make_busy_day(tenant)
    business, today = tenant.business, day.today
    coast = PropertyGroup.objects.create(business=business, name="Coast")
    hills = PropertyGroup.objects.create(business=business, name="Hills")
    Property.objects.filter(pk=tenant.prop.pk).update(group=coast)
    Property.objects.filter(name="Hill Barn").update(group=hills)
    harbour = PropertyFactory(business=business, name="Harbour Loft", group=coast)
    dune = PropertyFactory(business=business, name="Dune Cottage", group=coast)
    orchard = PropertyFactory(business=business, name="Orchard House", group=hills)
    with_cleaner(harbour, "Sam Sweep")
    start = today.replace(day=1)
    guests = [
        (harbour, 1, 5, "Marie Curie", "booking"),
        (harbour, 7, 3, "Niels Bohr", "direct"),
        (harbour, 12, 6, "Lise Meitner", "airbnb"),
        (harbour, 21, 4, "Emmy Noether", "vrbo"),
        (dune, 2, 7, "Rosalind Franklin", "direct"),
        (dune, 14, 2, "Carl Sagan", "owner"),
        (dune, 18, 8, "Katherine Johnson", "airbnb"),
        (orchard, 3, 4, "Tim Berners-Lee", "vrbo"),
        (orchard, 9, 9, "Barbara Liskov", "booking"),
        (orchard, 23, 5, "Edsger Dijkstra", "direct"),
    ]
    for prop, offset, nights, name, source in guests:
        check_in = start + timedelta(days=offset)
        if (
            Booking.objects.filter(property=prop)
            .active()
            .overlapping(check_in, check_in + timedelta(days=nights))
            .exists()
        ):
            continue
        booking = stay(prop, check_in, nights, name=name, source=source)
        if source == "direct":
            paid(booking)
    free = start + timedelta(days=26)
    if (
        not Booking.objects.filter(property=dune)
        .active()
        .overlapping(free, free + timedelta(days=3))
        .exists()
    ):
        booking_hold(
            property=dune,
            check_in=free,
            check_out=free + timedelta(days=3),
            guests=2,
            guest_name="Hedy Lamarr",
            guest_email="hedy@example.com",
        )
    block = start + timedelta(days=29)
    if (
        not Booking.objects.filter(property=orchard)
        .active()
        .overlapping(block, block + timedelta(days=2))
        .exists()
    ):
        block_create(
            property=orchard, start=block, end=block + timedelta(days=2), kind="maintenance"
        )
    IcalFeed.objects.filter(pk=day.feed.pk).update(last_fetch_at=timezone.now())
    BookingConflict.objects.filter(pk=day.conflict.pk).update(
        channel=day.channel, check_in=today, check_out=today + timedelta(days=2)
    )
    arriving = day.arriving
    paid(arriving, Decimal(arriving.total))
    return arriving


def sign_in(page: Any, origin: str, email: str) -> None:
    page.goto(f"{origin}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()


def test_owner_signs_in_and_runs_the_day(
    live_server: Any, browser: Any, settings: Any, tmp_path: Path
) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    tenant = make_tenant("seaside")
    booking = populate(tenant)
    origin = live_server.url.replace("127.0.0.1", "localhost")
    # HOLIDESK_SCREENSHOTS=1 refreshes the pictures in docs/img; otherwise they are
    # taken all the same, into the test's own directory, and the tree stays clean.
    shots = ROOT / "docs" / "img" if os.environ.get("HOLIDESK_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)

    for label, width, height in (("desktop", 1280, 900), ("mobile", 390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, origin, tenant.owner.email)
        page.wait_for_url(f"{origin}/dashboard/")
        assert page.get_by_role("heading", name="Today", exact=True).is_visible()
        assert page.get_by_text("Double bookings to resolve").is_visible()
        assert_accessible(page, f"today ({label})")
        assert_no_page_scroll(page, f"today ({label})", width)
        page.screenshot(path=str(shots / f"dashboard-today-{label}.png"), full_page=True)

        page.get_by_role("navigation", name="Dashboard").get_by_role(
            "link", name="Calendar"
        ).click()
        page.wait_for_url("**/dashboard/calendar/")
        assert_accessible(page, f"calendar ({label})")
        assert_no_page_scroll(page, f"calendar ({label})", width)
        if label == "desktop":
            frame = page.evaluate(
                "(() => { const f = document.querySelector('.cal-frame');"
                " return [f.scrollWidth, f.clientWidth]; })()"
            )
            assert frame[0] <= frame[1], f"the calendar does not fit 1280px: {frame}"
        page.screenshot(path=str(shots / f"dashboard-calendar-{label}.png"), full_page=True)

        page.locator(".cal-stay a", has_text=booking.guest_name).first.click()
        page.wait_for_url(f"**/dashboard/bookings/{booking.reference}/")
        assert page.get_by_role("heading", name=booking.guest_name).is_visible()
        assert_accessible(page, f"booking ({label})")
        assert_no_page_scroll(page, f"booking ({label})", width)
        page.screenshot(path=str(shots / f"dashboard-booking-{label}.png"), full_page=True)

        page.get_by_role("link", name="Cancel booking…").click()
        page.wait_for_url(f"**/dashboard/bookings/{booking.reference}/cancel/")
        assert_accessible(page, f"cancel ({label})")
        assert_no_page_scroll(page, f"cancel ({label})", width)
        if label == "desktop":
            page.screenshot(path=str(shots / "dashboard-cancel-desktop.png"), full_page=True)

        conflict = BookingConflict.objects.get()
        for name, path in (
            ("bookings", "/dashboard/bookings/"),
            ("conflict", f"/dashboard/conflicts/{conflict.public_id}/"),
            ("channels", "/dashboard/channels/"),
        ):
            page.goto(f"{origin}{path}")
            assert_accessible(page, f"{name} ({label})")
            assert_no_page_scroll(page, f"{name} ({label})", width)
            if label == "desktop":
                page.screenshot(path=str(shots / f"dashboard-{name}-desktop.png"), full_page=True)
        context.close()
