"""The visitor's whole journey in headless Chromium against a live server: pick free
dates, sign up, pay with the fake gateway, see the confirmation and My trips; a second
visitor is told the dates are taken. Pages are scanned with axe on the way."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")
axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")


from bookings.models import Booking  # noqa: E402
from tests.conftest import make_tenant  # noqa: E402
from tests.support.browser import CHROMIUM, assert_accessible  # noqa: E402

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]


def sign_up(page: Any, origin: str, email: str, next_path: str) -> None:
    page.goto(f"{origin}/accounts/signup/?next={next_path}")
    page.fill("#id_email", email)
    page.fill("#id_password1", "a-long-holiday-passphrase")
    page.fill("#id_password2", "a-long-holiday-passphrase")
    page.locator("main form button[type=submit]").click()


def test_visitor_books_pays_and_finds_the_trip(
    live_server: Any, browser: Any, settings: Any
) -> None:
    settings.PAYMENTS_BACKEND = "fake"
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    tenant = make_tenant("seaside")
    prop = tenant.prop
    port = live_server.url.rsplit(":", 1)[1]
    origin = f"http://{tenant.business.slug}.localhost:{port}"
    check_in = prop.local_today() + timedelta(days=21)
    check_out = check_in + timedelta(days=3)

    page = browser.new_page()
    page.goto(f"{origin}/")
    assert_accessible(page, "home")
    page.get_by_role("link", name=prop.name).click()
    page.wait_for_url(f"**/p/{prop.slug}/")
    assert_accessible(page, "property")

    page.fill("#check_in", check_in.isoformat())
    page.fill("#check_out", check_out.isoformat())
    page.get_by_role("button", name="Check price").click()
    page.wait_for_selector("text=€350.00")
    page.get_by_role("link", name="Book these dates").click()
    page.wait_for_url("**/accounts/login/**")
    next_path = page.url.split("next=", 1)[1]
    sign_up(page, origin, "ada@example.com", next_path)
    page.wait_for_url(f"**/book/{prop.slug}/**")
    assert_accessible(page, "checkout")

    page.fill("#id_guest_name", "Ada Lovelace")
    page.fill("#id_guest_phone", "+44 20 7946 0000")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url("**/checkout/fake/**")
    assert_accessible(page, "fake checkout")
    page.get_by_role("button", name="Pay €350.00").click()
    page.wait_for_url("**/confirmation/")
    booking = Booking.objects.get()
    assert booking.status == Booking.Status.CONFIRMED
    assert page.get_by_role("heading", name="You're booked").is_visible()
    assert booking.reference in page.content()
    page.get_by_role("link", name="All my trips").click()
    page.wait_for_url("**/trips/")
    assert page.get_by_role("link", name=booking.reference).is_visible()

    second = browser.new_context().new_page()
    sign_up(second, origin, "bob@example.com", "/")
    second.wait_for_url(f"{origin}/")
    second.goto(f"{origin}/p/{prop.slug}/?check_in={check_in}&check_out={check_out}&guests=2")
    assert "already booked" in second.locator("#quote-result").inner_text()
    second.goto(f"{origin}/book/{prop.slug}/?check_in={check_in}&check_out={check_out}&guests=2")
    assert "already booked" in second.locator("main").inner_text()
    assert Booking.objects.count() == 1
