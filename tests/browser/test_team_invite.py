"""A hotel chain's owner invites a hotel manager in headless Chromium: invite on the
team page -> the email's link -> create an account and accept -> sign in as the group
manager -> only their hotel's rooms and bookings are there. Pages are scanned with axe
and fit a 390 px phone without sideways page scrolling."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api")

from django.core import mail

from bookings.services.stays import booking_create
from properties.models import Membership, PropertyGroup
from tests.conftest import make_tenant
from tests.factories import PropertyFactory
from tests.support.browser import CHROMIUM, assert_accessible

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory
NEW_PASSWORD = "a-long-new-passphrase-42"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
]


def _fits(page: Any, name: str, width: int) -> None:
    scroll = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll <= width, f"{name}: the page scrolls sideways ({scroll}px > {width}px)"


def _sign_in(page: Any, origin: str, email: str, password: str) -> None:
    page.goto(f"{origin}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", password)
    page.locator("main form button[type=submit]").click()


def test_invite_accept_and_work_as_a_group_manager(
    live_server: Any, browser: Any, settings: Any, tmp_path: Path
) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    tenant = make_tenant("chain")
    business = tenant.business
    hotel_a = PropertyGroup.objects.create(business=business, name="Hotel Atlantic")
    hotel_b = PropertyGroup.objects.create(business=business, name="Hotel Baltic")
    room_a = PropertyFactory(business=business, group=hotel_a, name="Atlantic 101")
    room_b = PropertyFactory(business=business, group=hotel_b, name="Baltic 201")
    for room, guest in ((room_a, "Grace Hopper"), (room_b, "Alan Turing")):
        start = room.local_today() + timedelta(days=3)
        booking_create(
            property=room,
            check_in=start,
            check_out=start + timedelta(days=2),
            source="direct",
            guest_name=guest,
            guest_email="guest@example.com",
        )
    origin = live_server.url.replace("127.0.0.1", "localhost")

    # The owner invites a hotel manager for Hotel Atlantic.
    owner = browser.new_context(viewport={"width": 1280, "height": 900})
    page = owner.new_page()
    _sign_in(page, origin, tenant.owner.email, PASSWORD)
    page.wait_for_url(f"{origin}/dashboard/")
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Team").click()
    page.wait_for_url("**/dashboard/team/")
    assert_accessible(page, "team")
    page.fill("#id_email", "hana@example.com")
    page.select_option("#id_role", "group_manager")
    page.get_by_label("Hotel Atlantic").check()
    page.get_by_role("button", name="Send the invitation").click()
    page.wait_for_url("**/dashboard/team/")
    assert page.get_by_text("Invitation sent to hana@example.com").is_visible()
    page.screenshot(path=str(tmp_path / "team.png"), full_page=True)
    owner.close()

    assert len(mail.outbox) == 1
    found = re.search(r"https?://[^/\s]+(/invite/[^/\s]+/)", mail.outbox[0].body)
    assert found
    link = f"{origin}{found.group(1)}"

    for label, width, height in (("mobile", 390, 844),):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(link)
        assert page.get_by_role("heading", name="Join Chain").is_visible()
        assert_accessible(page, f"invitation ({label})")
        _fits(page, f"invitation ({label})", width)
        page.get_by_role("link", name="New to Holidesk? Create an account").click()
        page.wait_for_url("**/accounts/signup/**")
        page.fill("#id_email", "hana@example.com")
        page.fill("#id_password1", NEW_PASSWORD)
        page.fill("#id_password2", NEW_PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()
        if "/invite/" not in page.url:
            page.goto(link)
        page.get_by_role("button", name="Accept and join").click()
        page.wait_for_url(f"{origin}/dashboard/")
        context.close()

    membership = Membership.objects.get(business=business, user__email="hana@example.com")
    assert membership.role == Membership.Role.GROUP_MANAGER
    assert list(membership.groups.all()) == [hotel_a]

    # Hana signs in again later and sees Hotel Atlantic only.
    for label, width, height in (("desktop", 1280, 900), ("mobile", 390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        _sign_in(page, origin, "hana@example.com", NEW_PASSWORD)
        page.wait_for_url(f"{origin}/dashboard/")
        nav = page.get_by_role("navigation", name="Dashboard")
        assert nav.get_by_role("link", name="Calendar").is_visible()
        assert nav.get_by_role("link", name="Channels").count() == 0
        assert nav.get_by_role("link", name="Team").count() == 0
        page.goto(f"{origin}/dashboard/calendar/")
        body = page.locator("main").inner_text()
        assert "Atlantic 101" in body
        assert "Baltic 201" not in body
        assert_accessible(page, f"group manager calendar ({label})")
        _fits(page, f"group manager calendar ({label})", width)
        page.goto(f"{origin}/dashboard/bookings/?when=all")
        body = page.locator("main").inner_text()
        assert "Grace Hopper" in body
        assert "Alan Turing" not in body
        page.screenshot(path=str(tmp_path / f"group-manager-{label}.png"), full_page=True)
        context.close()
