"""Staff and key codes in headless Chromium at 1280 and 390 px: the owner opens the
page from the navigation, corrects a box's code (a refused code first, with its
reason), then confirms the planned code they set themselves. Every state is scanned
with axe (no serious or critical violation), must not scroll sideways, and is
photographed for docs/dashboard.md (HOLIDESK_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")

from messaging.models import KeyBox, KeyCodeConfirmation
from tests.conftest import make_tenant
from tests.dashboard.test_browser import (
    CHROMIUM,
    ROOT,
    assert_accessible,
    assert_no_page_scroll,
    sign_in,
)
from tests.dashboard.test_staff_keys import key_world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]


def test_the_owner_corrects_and_confirms_key_codes_on_desktop_and_phone(
    live_server: Any, browser: Any, settings: Any, tmp_path: Path
) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    tenant = make_tenant("seaside")
    keys = key_world(tenant)
    origin = live_server.url.replace("127.0.0.1", "localhost")
    shots = ROOT / "docs" / "img" if os.environ.get("HOLIDESK_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    corrections = {"desktop": "86420", "mobile": "97531"}

    for label, width, height in (("desktop", 1280, 900), ("mobile", 390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        sign_in(page, origin, tenant.owner.email)
        page.wait_for_url(f"{origin}/dashboard/")
        page.get_by_role("navigation", name="Dashboard").get_by_role(
            "link", name="Staff and keys"
        ).click()
        page.wait_for_url("**/dashboard/staff/")
        assert page.get_by_role("heading", name="Staff and key codes").is_visible()
        card = page.locator(f"#keys-{keys.sea.pk}")
        assert card.get_by_role("heading", name="Sea View").is_visible()
        assert page.get_by_role("heading", name="Anna Clean").is_visible()
        assert page.get_by_text("The boiler is leaking.").is_visible()
        assert_accessible(page, f"staff and keys ({label})")
        assert_no_page_scroll(page, f"staff and keys ({label})", width)
        page.screenshot(path=str(shots / f"dashboard-staff-keys-{label}.png"), full_page=True)

        # Another code: confirmed, recorded as the owner's, shown at the top of the card.
        before = KeyBox.objects.get(property=keys.sea).key_code.code
        code = corrections[label]
        card.get_by_label("Another code is on the box of Sea View").fill(code)
        card.get_by_role("button", name="Confirm this code for Sea View").click()
        page.wait_for_selector(f"text={code} is confirmed on the box of Sea View")
        card = page.locator(f"#keys-{keys.sea.pk}")
        assert card.locator(".key-code").first.inner_text() == code
        assert f"by {tenant.owner.name} (owner)" in card.inner_text()
        assert before in card.locator(".key-history").inner_text()
        confirmation = KeyCodeConfirmation.objects.filter(property=keys.sea).first()
        assert confirmation is not None
        assert confirmation.key_code.code == code
        assert confirmation.confirmed_by_user == tenant.owner
        assert_accessible(page, f"staff and keys, corrected ({label})")
        assert_no_page_scroll(page, f"staff and keys, corrected ({label})", width)
        if label == "desktop":
            card.screenshot(path=str(shots / "dashboard-key-box-corrected-desktop.png"))

        # The code the box had just before: refused with the reason, nothing changes.
        card.get_by_label("Another code is on the box of Sea View").fill(before)
        card.get_by_role("button", name="Confirm this code for Sea View").click()
        page.wait_for_selector("text=past guests know it")
        card = page.locator(f"#keys-{keys.sea.pk}")
        assert card.get_by_role("alert").is_visible()
        assert KeyBox.objects.get(property=keys.sea).key_code.code == code
        assert_accessible(page, f"staff and keys, refused ({label})")
        assert_no_page_scroll(page, f"staff and keys, refused ({label})", width)
        if label == "mobile":
            card.screenshot(path=str(shots / "dashboard-key-box-refused-mobile.png"))
        context.close()

    # Last, the owner set the planned code themselves and says so.
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, origin, tenant.owner.email)
    page.wait_for_url(f"{origin}/dashboard/")
    page.goto(f"{origin}/dashboard/staff/")
    planned = keys.next_code.code
    page.locator(f"#keys-{keys.sea.pk}").get_by_role(
        "button", name=f"I set it: {planned} is on the box of Sea View"
    ).click()
    page.wait_for_selector(f"text={planned} is confirmed on the box of Sea View")
    assert KeyBox.objects.get(property=keys.sea).key_code.code == planned
    assert_accessible(page, "staff and keys, planned code confirmed")
    context.close()
