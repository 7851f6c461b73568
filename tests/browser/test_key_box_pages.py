"""The key box in headless Chromium against a live server, on a 390 px phone screen:
the cleaner confirms the code on the done page of their job link, and the owner
corrects the code on the admin's key box page. Screenshots of each step are saved
(HOLIDESK_SCREENSHOTS=dir keeps them) and the pages are scanned with axe."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")
axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")

from django.conf import settings as django_settings  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from messaging import links  # noqa: E402
from messaging.models import KeyBox, KeyCodeConfirmation, PropertyMessaging, Turnover  # noqa: E402
from messaging.services.key_box import key_code_confirm  # noqa: E402
from tests.conftest import Tenant, make_tenant  # noqa: E402
from tests.messaging.conftest import stay, with_cleaner  # noqa: E402
from tests.support.browser import CHROMIUM, assert_accessible  # noqa: E402

PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    kept = os.environ.get("HOLIDESK_SCREENSHOTS")
    folder = Path(kept) if kept else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def harbour(tenant: Tenant) -> Turnover:
    """A cleaning job tomorrow week, with a guest arriving two days later; the box
    holds 1357."""
    prop = tenant.prop
    PropertyMessaging.objects.update_or_create(
        property=prop,
        defaults={"business": tenant.business, "key_box_location": "left of the blue front door"},
    )
    with_cleaner(prop)
    today = prop.local_today()
    first = stay(prop, today + timedelta(days=4), today + timedelta(days=8))
    stay(prop, today + timedelta(days=10), today + timedelta(days=13), email="ada@example.com")
    key_code_confirm(property=prop, code="1357", by=tenant.owner, source="owner")
    return Turnover.objects.select_related("key_code").get(booking=first)


def test_cleaner_confirms_the_code_on_the_done_page(
    live_server: Any, browser: Any, shots: Path
) -> None:
    tenant = make_tenant("seaside")
    job = harbour(tenant)
    code = job.key_code.code
    token = links.staff_token(
        turnover_id=job.pk,
        action="done",
        revision=job.revision,
        expires=timezone.now() + timedelta(days=30),
    )
    page = browser.new_page(viewport=PHONE, device_scale_factor=2)
    page.goto(live_server.url + reverse("messaging:staff-action", args=[token]))
    assert page.get_by_role("heading", name="Job done: the key box").is_visible()
    assert code in page.locator(".key-digits").inner_text().replace("\n", "")
    assert "left of the blue front door" in page.content()
    set_it = page.get_by_role("button", name=f"I set it to {code}")
    could_not = page.get_by_role("button", name="I could not change it")
    assert set_it.is_visible()
    assert could_not.is_visible()
    # Both answers fit the phone's width and are big enough to tap.
    for button in (set_it, could_not):
        box = button.bounding_box()
        assert box["width"] >= 300
        assert box["height"] >= 48
        assert box["x"] + box["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page, "done page")
    page.screenshot(path=str(shots / "cleaner-done-page.png"), full_page=True)

    set_it.click()
    page.wait_for_selector("text=The key box is confirmed at")
    assert_accessible(page, "done page, confirmed")
    page.screenshot(path=str(shots / "cleaner-done-confirmed.png"), full_page=True)
    assert KeyBox.objects.get(property=tenant.prop).key_code.code == code
    confirmation = KeyCodeConfirmation.objects.first()
    assert confirmation is not None
    assert confirmation.confirmed_by_staff == job.cleaner
    # Opening the link again shows what was confirmed, without the buttons.
    page.goto(live_server.url + reverse("messaging:staff-action", args=[token]))
    assert "Nothing more to do" in page.content()
    assert page.get_by_role("button", name="I could not change it").count() == 0


def test_owner_corrects_the_code_in_the_admin(live_server: Any, browser: Any, shots: Path) -> None:
    tenant = make_tenant("seaside")
    outsider = make_tenant("alpine")
    harbour(tenant)
    signed_in = Client()
    signed_in.force_login(tenant.owner)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    cookie = signed_in.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    page = context.new_page()
    page.goto(live_server.url + reverse("admin:messaging_keycode_box", args=[tenant.prop.pk]))
    assert page.get_by_role("heading", name="On the box now").is_visible()
    assert "1357" in page.locator("#content-main").inner_text()
    arrivals = page.locator("table.key-box-table").first.inner_text()
    assert "not confirmed yet" in arrivals  # the second guest's new code
    page.screenshot(path=str(shots / "owner-key-box.png"), full_page=True)

    page.get_by_label("Code on the box").fill("86420")
    page.get_by_role("button", name="Confirm this code").click()
    page.wait_for_selector("text=86420 is confirmed on the box")
    assert_accessible(page, "key box page")
    page.screenshot(path=str(shots / "owner-key-box-corrected.png"), full_page=True)
    assert KeyBox.objects.get(property=tenant.prop).key_code.code == "86420"
    confirmation = KeyCodeConfirmation.objects.first()
    assert confirmation is not None
    assert confirmation.confirmed_by_user == tenant.owner

    # A code the box had recently is refused with the reason, and nothing changes.
    page.get_by_label("Code on the box").fill("1357")
    page.get_by_role("button", name="Confirm this code").click()
    page.wait_for_selector("text=past guests know it")
    page.screenshot(path=str(shots / "owner-key-box-refused.png"), full_page=True)
    assert KeyBox.objects.get(property=tenant.prop).key_code.code == "86420"
    # Another business's property is not there for this owner.
    response = page.goto(
        live_server.url + reverse("admin:messaging_keycode_box", args=[outsider.prop.pk])
    )
    assert response is not None
    assert response.status == 404
