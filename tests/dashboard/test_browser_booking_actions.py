"""An owner changes a paid stay's dates and then cancels it, in headless Chromium: the
booking page, the new dates with the price difference, the confirmation, the booking
with what is now due, the refund and offline-payment forms, the cancellation with its
refund preview and confirmation. Each page is scanned with axe, fits a 390 px phone
without sideways scrolling of the page, and is photographed for docs/dashboard.md
(HOLIDESK_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bookings.models import Booking
from bookings.payments.models import Refund
from tests.conftest import make_tenant
from tests.dashboard.conftest import business_today, paid, stay
from tests.dashboard.test_browser import (  # skips the module without Playwright
    ROOT,
    assert_accessible,
    assert_no_page_scroll,
    populate,
    sign_in,
)

pytestmark = [pytest.mark.browser]
expect = pytest.importorskip("playwright.sync_api").expect


def check(page: Any, name: str, width: int, shots: Path, shot: str | None) -> None:
    assert_accessible(page, name)
    assert_no_page_scroll(page, name, width)
    if shot:
        page.screenshot(path=str(shots / shot), full_page=True)


def test_owner_changes_dates_then_cancels_with_refund(
    live_server: Any, browser: Any, settings: Any, tmp_path: Path
) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    settings.PAYMENTS_BACKEND = "fake"
    tenant = make_tenant("seaside")
    populate(tenant)
    origin = live_server.url.replace("127.0.0.1", "localhost")
    shots = ROOT / "docs" / "img" if os.environ.get("HOLIDESK_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    start = business_today(tenant.business) + timedelta(days=40)

    for n, (label, width, height) in enumerate((("desktop", 1280, 900), ("mobile", 390, 844))):
        check_in = start + timedelta(days=10 * n)
        booking = stay(tenant.prop, check_in, 3, name="Mary Somerville" if n else "Ada Byron")
        paid(booking)  # 350.00 by card
        new_check_out = check_in + timedelta(days=4)

        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, origin, tenant.owner.email)
        page.wait_for_url(f"{origin}/dashboard/")
        page.goto(f"{origin}/dashboard/bookings/{booking.reference}/")

        page.get_by_role("link", name="Change dates…").click()
        page.wait_for_url(f"**/dashboard/bookings/{booking.reference}/change-dates/")
        check(page, f"change dates ({label})", width, shots, None)
        page.get_by_label("New check-out").fill(new_check_out.isoformat())
        page.get_by_role("button", name="See the price").click()
        page.wait_for_url("**/change-dates/?check_in=*")
        expect(page.get_by_text("To pay: €100.00.")).to_be_visible()
        expect(page.get_by_role("row", name="Difference +€100.00")).to_be_visible()
        check(
            page,
            f"change dates preview ({label})",
            width,
            shots,
            f"dashboard-change-dates-{label}.png",
        )

        page.get_by_role("button", name="Change the dates").click()
        page.wait_for_url(f"**/dashboard/bookings/{booking.reference}/")
        expect(page.get_by_text("€100.00 is due from the guest.")).to_be_visible()
        expect(page.get_by_role("row", name="Due from the guest €100.00")).to_be_visible()
        check(
            page,
            f"booking after the change ({label})",
            width,
            shots,
            f"dashboard-booking-actions-{label}.png",
        )
        booking.refresh_from_db()
        assert booking.check_out == new_check_out

        # The other two forms, looked at (and left) on the way.
        page.get_by_role("link", name="Record a payment…").click()
        page.wait_for_url("**/offline-payment/")
        expect(page.get_by_label("Amount received")).to_have_value("100.00")
        check(
            page,
            f"offline payment ({label})",
            width,
            shots,
            f"dashboard-offline-payment-{label}.png" if label == "desktop" else None,
        )
        page.go_back()
        page.get_by_role("link", name="Refund part…").click()
        page.wait_for_url("**/refund/")
        page.get_by_label("Amount to refund").fill("0")
        page.get_by_label("Reason (kept with the refund)").fill("Checking the form")
        page.get_by_role("button", name="Refund").click()
        expect(page.locator(".field-amount .error")).to_be_visible()
        check(
            page,
            f"refund with an error ({label})",
            width,
            shots,
            f"dashboard-refund-{label}.png" if label == "desktop" else None,
        )
        assert not Refund.objects.filter(booking=booking).exists()
        page.goto(f"{origin}/dashboard/bookings/{booking.reference}/")

        page.get_by_role("link", name="Cancel booking…").click()
        page.wait_for_url(f"**/dashboard/bookings/{booking.reference}/cancel/")
        expect(page.get_by_text("€350.00 — everything paid")).to_be_visible()
        check(page, f"cancel ({label})", width, shots, None)
        page.get_by_label("€350.00 — everything paid").check()
        page.get_by_role("button", name="Cancel the booking and refund").click()
        page.wait_for_url(f"**/dashboard/bookings/{booking.reference}/")
        expect(page.get_by_text("€350.00 is on its way back to the guest.")).to_be_visible()
        check(page, f"cancelled ({label})", width, shots, None)
        booking.refresh_from_db()
        assert booking.status == Booking.Status.CANCELLED
        assert Refund.objects.get(booking=booking).status == Refund.Status.SUCCEEDED
        context.close()
