"""A group manager changes a price of a property of their group in headless Chromium,
at 1280 and 390 px: from the property list to the prices page, a refused season (it
partly overlaps another) shown on its field, then a season and a new nightly price
saved. The settings pages are opened too. Every page is scanned with axe (no serious
or critical violation), must not scroll sideways, and is photographed for
docs/dashboard.md (HOLIDESK_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")

from messaging.models import PropertyMessaging, Staff
from properties.models import Business, Membership, PropertyGroup, SeasonalRate
from tests.conftest import make_tenant
from tests.dashboard.test_browser import (
    CHROMIUM,
    ROOT,
    assert_accessible,
    assert_no_page_scroll,
    sign_in,
)
from tests.factories import MembershipFactory, PropertyFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]


def _look(page: Any, name: str, width: int, shots: Path, file: str) -> None:
    assert_accessible(page, name)
    assert_no_page_scroll(page, name, width)
    page.screenshot(path=str(shots / file), full_page=True)


def test_a_group_manager_edits_a_price_of_a_property_in_their_group(
    live_server: Any, browser: Any, settings: Any, tmp_path: Path
) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    tenant = make_tenant("seaside")
    business = tenant.business
    hotel_a = PropertyGroup.objects.create(business=business, name="Harbour Hotel")
    hotel_b = PropertyGroup.objects.create(business=business, name="Hill Hotel")
    room = PropertyFactory(business=business, group=hotel_a, name="Harbour Room 1")
    PropertyFactory(business=business, group=hotel_b, name="Hill Room 1")
    SeasonalRate.objects.create(
        business=business,
        property=room,
        name="Summer",
        start=date(2031, 7, 1),
        end=date(2031, 9, 1),
        nightly_price=Decimal(160),
        min_nights=3,
    )
    cleaner = Staff.objects.create(business=business, name="Anna Clean", email="anna@example.com")
    PropertyMessaging.objects.create(property=room, business=business, default_cleaner=cleaner)
    membership = MembershipFactory(business=business, role=Membership.Role.GROUP_MANAGER)
    membership.groups.set([hotel_a])
    manager = membership.user
    origin = live_server.url.replace("127.0.0.1", "localhost")
    shots = ROOT / "docs" / "img" if os.environ.get("HOLIDESK_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    prices = {"desktop": "142", "mobile": "139"}

    for label, width, height in (("desktop", 1280, 900), ("mobile", 390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, origin, manager.email)
        page.wait_for_url(f"{origin}/dashboard/")
        page.get_by_role("navigation", name="Dashboard").get_by_role(
            "link", name="Properties"
        ).click()
        page.wait_for_url("**/dashboard/properties/")
        assert "Hill Room 1" not in page.content()
        page.get_by_role("link", name="Prices of Harbour Room 1").click()
        page.wait_for_url(f"**/dashboard/properties/{room.pk}/prices/")
        _look(page, f"prices ({label})", width, shots, f"dashboard-prices-{label}.png")

        # A season partly over the summer: refused on its field, nothing saved.
        form = page.locator("#add-season")
        form.get_by_label("Name").fill("Late summer")
        form.get_by_label("First night").fill("2031-08-20")
        form.get_by_label("Until (the day after the last night)").fill("2031-09-10")
        form.get_by_label("Nightly price").fill("120")
        form.get_by_role("button", name="Add the season").click()
        page.wait_for_selector("text=Overlaps Summer")
        assert SeasonalRate.objects.filter(property=room).count() == 1
        _look(
            page,
            f"prices, refused ({label})",
            width,
            shots,
            f"dashboard-prices-refused-{label}.png",
        )

        # A new nightly price, saved.
        page.locator("#prices").get_by_label("Nightly price").fill(prices[label])
        page.get_by_role("button", name="Save prices and rules").click()
        page.wait_for_selector("text=Prices and stay rules are saved.")
        room.refresh_from_db()
        assert room.base_price == Decimal(prices[label])

        page.get_by_role("link", name="Settings", exact=True).click()
        page.wait_for_url(f"**/dashboard/properties/{room.pk}/")
        _look(page, f"property ({label})", width, shots, f"dashboard-property-{label}.png")

        page.goto(f"{origin}/dashboard/staff/{cleaner.pk}/")
        _look(page, f"staff member ({label})", width, shots, f"dashboard-staff-edit-{label}.png")
        context.close()

    # With a custom domain waiting for its DNS record: the long TXT value must wrap.
    Business.objects.filter(pk=business.pk).update(
        custom_domain="www.seaside-cottages-by-the-sea.com", languages=["en", "de"]
    )
    owner = browser.new_context(viewport={"width": 390, "height": 844})
    page = owner.new_page()
    sign_in(page, origin, tenant.owner.email)
    page.wait_for_url(f"{origin}/dashboard/")
    page.goto(f"{origin}/dashboard/settings/")
    assert page.get_by_label("Site default").input_value() == "en"
    assert "_holidesk.www.seaside-cottages-by-the-sea.com" in page.content()
    _look(page, "settings (mobile)", 390, shots, "dashboard-settings-mobile.png")
    owner.close()
