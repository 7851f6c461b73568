"""The whole visitor journey in headless Chromium, on a desktop and on a 390 px phone,
in English and on the German version of a site that offers both: search by dates ->
the place's page with the dates kept -> book -> sign up -> pay -> My trips -> extend
(pay the difference) -> cancel, seeing the refund first. Every page is scanned with axe
and checked for sideways scrolling; screenshots go to bench-results/screens/ for a
person to look at."""

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
# What the visitor reads and clicks, per language (the German site lives under /de/).
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "prefix": "",
        "search": "Search",
        "found": "1 place free",
        "book": "Book these dates",
        "continue": "Continue to payment",
        "pay": "Pay {}",
        "350": "€350.00",
        "200": "€200.00",
        "all_trips": "All my trips",
        "price_extra": "Price the extra nights",
        "cancel": "Cancel this booking",
        "yes_cancel": "Yes, cancel",
        "refunded": "on its way back",
    },
    "de": {
        "prefix": "/de",
        "search": "Suchen",
        "found": "1 Unterkunft frei",
        "book": "Diese Daten buchen",
        "continue": "Weiter zur Zahlung",
        "pay": "{} bezahlen",
        "350": "350,00 €",
        "200": "200,00 €",
        "all_trips": "Alle meine Reisen",
        "price_extra": "Preis der zusätzlichen Nächte berechnen",
        "cancel": "Diese Buchung stornieren",
        "yes_cancel": "Ja, stornieren",
        "refunded": "werden Ihnen zurückerstattet",
    },
}


def check(page: Any, name: str, viewport: str) -> None:
    """axe finds nothing serious, the page does not scroll sideways; a screenshot."""
    assert_accessible(page, name)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name} scrolls {overflow}px sideways at {viewport}"
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{viewport}-{name}.png"), full_page=False)


@pytest.mark.parametrize("language", list(TEXTS))
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_search_book_extend_and_cancel(
    live_server: Any, browser: Any, settings: Any, viewport: str, language: str
) -> None:
    settings.PAYMENTS_BACKEND = "fake"
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    text = TEXTS[language]
    tenant = make_tenant("seaside")
    tenant.business.languages = ["en", "de"]
    tenant.business.save()
    prop = tenant.prop
    port = live_server.url.rsplit(":", 1)[1]
    origin = f"http://{tenant.business.slug}.localhost:{port}"
    prefix = text["prefix"]
    shot = f"{viewport}-{language}" if language != "en" else viewport
    check_in = prop.local_today() + timedelta(days=21)
    check_out = check_in + timedelta(days=3)
    width, height = VIEWPORTS[viewport]
    page = browser.new_page(viewport={"width": width, "height": height})

    # Search from the home page.
    page.goto(f"{origin}{prefix}/")
    assert page.locator("html").get_attribute("lang") == language
    check(page, "home", shot)
    page.fill("#search-check-in", check_in.isoformat())
    page.fill("#search-check-out", check_out.isoformat())
    page.fill("#search-guests", "2")
    page.get_by_role("button", name=text["search"]).click()
    page.wait_for_url(f"**{prefix}/search/**")
    assert text["found"] in page.locator("main").inner_text()
    check(page, "search", shot)
    page.get_by_role("link", name=prop.name).click()
    page.wait_for_url(f"**{prefix}/p/{prop.slug}/?check_in={check_in}**")

    # The place's page: dates kept, the calendar above the fold.
    check(page, "property", shot)
    calendar_top = page.locator("#calendar").bounding_box()
    assert calendar_top is not None
    assert calendar_top["y"] < height
    page.get_by_role("link", name=text["book"]).click()
    page.wait_for_url(f"**{prefix}/accounts/login/**")
    check(page, "sign-in", shot)
    page.locator("main a[href*='/accounts/signup/']").first.click()
    page.wait_for_url(f"**{prefix}/accounts/signup/**")
    check(page, "sign-up", shot)
    page.fill("#id_email", f"{viewport}@example.com")
    page.fill("#id_password1", "a-long-holiday-passphrase")
    page.fill("#id_password2", "a-long-holiday-passphrase")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**{prefix}/book/{prop.slug}/**")
    check(page, "checkout", shot)
    page.fill("#id_guest_name", "Ada Lovelace")
    page.fill("#id_guest_phone", "+44 20 7946 0000")
    page.get_by_role("button", name=text["continue"]).click()
    page.wait_for_url(f"**{prefix}/checkout/fake/**")
    check(page, "payment", shot)
    page.get_by_role("button", name=text["pay"].format(text["350"])).click()
    page.wait_for_url(f"**{prefix}/trips/*/confirmation/")
    booking = Booking.objects.get()
    assert booking.language == language

    # My trips, then two more nights.
    page.get_by_role("link", name=text["all_trips"]).click()
    page.wait_for_url(f"**{prefix}/trips/")
    check(page, "trips", shot)
    page.get_by_role("link", name=booking.reference).click()
    page.wait_for_url(f"**{prefix}/trips/{booking.reference}/")
    check(page, "trip", shot)
    page.fill("#ext_check_out", (check_out + timedelta(days=2)).isoformat())
    page.get_by_role("button", name=text["price_extra"]).click()
    page.wait_for_url(f"**{prefix}/trips/*/extend/**")
    check(page, "extend", shot)
    page.get_by_role("button", name=text["pay"].format(text["200"])).click()
    page.wait_for_url(f"**{prefix}/checkout/fake/**")
    page.get_by_role("button", name=text["pay"].format(text["200"])).click()
    page.wait_for_url(f"**{prefix}/trips/{booking.reference}/")
    booking.refresh_from_db()
    assert booking.check_out == check_out + timedelta(days=2)

    # Cancel: the refund is shown and confirmed first.
    page.get_by_role("link", name=text["cancel"]).click()
    page.wait_for_url(f"**{prefix}/trips/{booking.reference}/cancel/")
    check(page, "cancel", shot)
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
    page.get_by_role("button", name=text["yes_cancel"]).click()
    page.wait_for_url(f"**{prefix}/trips/{booking.reference}/")
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert text["refunded"] in page.locator("main").inner_text()
