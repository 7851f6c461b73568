"""The whole visitor journey in headless Chromium, on a desktop and on a 390 px phone:
search by dates -> the place's page with the dates kept -> book -> sign up -> pay ->
My trips -> extend (pay the difference) -> cancel, seeing the refund first. Every page
is scanned with axe and checked for sideways scrolling; screenshots go to
bench-results/screens/ for a person to look at."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")

from bookings.models import Booking  # noqa: E402
from tests.conftest import make_tenant  # noqa: E402
from tests.support.browser import CHROMIUM, assert_accessible  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]

SCREENS = Path(__file__).resolve().parents[2] / "bench-results" / "screens"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


def check(page: Any, name: str, viewport: str) -> None:
    """axe finds nothing serious, the page does not scroll sideways; a screenshot."""
    assert_accessible(page, name)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} scrolls {overflow}px sideways at {viewport}"
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{viewport}-{name}.png"), full_page=False)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_search_book_extend_and_cancel(
    live_server: Any, browser: Any, settings: Any, viewport: str
) -> None:
    settings.PAYMENTS_BACKEND = "fake"
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    tenant = make_tenant("seaside")
    prop = tenant.prop
    port = live_server.url.rsplit(":", 1)[1]
    origin = f"http://{tenant.business.slug}.localhost:{port}"
    check_in = prop.local_today() + timedelta(days=21)
    check_out = check_in + timedelta(days=3)
    width, height = VIEWPORTS[viewport]
    page = browser.new_page(viewport={"width": width, "height": height})

    # Search from the home page.
    page.goto(f"{origin}/")
    check(page, "home", viewport)
    page.fill("#search-check-in", check_in.isoformat())
    page.fill("#search-check-out", check_out.isoformat())
    page.fill("#search-guests", "2")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search/**")
    assert "1 place free" in page.locator("main").inner_text()
    check(page, "search", viewport)
    page.get_by_role("link", name=prop.name).click()
    page.wait_for_url(f"**/p/{prop.slug}/?check_in={check_in}**")

    # The place's page: dates kept, the calendar above the fold.
    check(page, "property", viewport)
    calendar_top = page.locator("#calendar").bounding_box()
    assert calendar_top is not None
    assert calendar_top["y"] < height
    page.get_by_role("link", name="Book these dates").click()
    page.wait_for_url("**/accounts/login/**")
    check(page, "sign-in", viewport)
    page.get_by_role("main").get_by_role("link", name="sign up").first.click()
    page.wait_for_url("**/accounts/signup/**")
    check(page, "sign-up", viewport)
    page.fill("#id_email", f"{viewport}@example.com")
    page.fill("#id_password1", "a-long-holiday-passphrase")
    page.fill("#id_password2", "a-long-holiday-passphrase")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/book/{prop.slug}/**")
    check(page, "checkout", viewport)
    page.fill("#id_guest_name", "Ada Lovelace")
    page.fill("#id_guest_phone", "+44 20 7946 0000")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url("**/checkout/fake/**")
    check(page, "payment", viewport)
    page.get_by_role("button", name="Pay €350.00").click()
    page.wait_for_url("**/confirmation/")
    booking = Booking.objects.get()

    # My trips, then two more nights.
    page.get_by_role("link", name="All my trips").click()
    page.wait_for_url("**/trips/")
    check(page, "trips", viewport)
    page.get_by_role("link", name=booking.reference).click()
    page.wait_for_url(f"**/trips/{booking.reference}/")
    check(page, "trip", viewport)
    page.fill("#ext_check_out", (check_out + timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Price the extra nights").click()
    page.wait_for_url("**/extend/**")
    check(page, "extend", viewport)
    page.get_by_role("button", name="Pay €200.00").click()
    page.wait_for_url("**/checkout/fake/**")
    page.get_by_role("button", name="Pay €200.00").click()
    page.wait_for_url(f"**/trips/{booking.reference}/")
    booking.refresh_from_db()
    assert booking.check_out == check_out + timedelta(days=2)

    # Cancel: the refund is shown and confirmed first.
    page.get_by_role("link", name="Cancel this booking").click()
    page.wait_for_url(f"**/trips/{booking.reference}/cancel/")
    check(page, "cancel", viewport)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    page.get_by_role("button", name="Yes, cancel").click()
    page.wait_for_url(f"**/trips/{booking.reference}/")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert "on its way back" in page.locator("main").inner_text()
