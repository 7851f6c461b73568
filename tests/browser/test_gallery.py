"""The property page's photo gallery in headless Chromium: the buttons appear with the
script, move one photo at a time, and the strip scrolls from the keyboard; axe finds
nothing serious."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api")

from properties.photos.processing import photo_process
from properties.photos.services import photo_add
from tests.conftest import make_tenant
from tests.properties.photos.conftest import photo_dirs  # noqa: F401
from tests.properties.photos.images import jpeg_bytes
from tests.support.browser import CHROMIUM, assert_accessible

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
]

SCROLLED = "document.querySelector('.gallery-track').scrollLeft"


def test_gallery_buttons_and_keyboard(
    live_server: Any,
    browser: Any,
    photo_dirs: tuple[Path, Path],  # noqa: F811
) -> None:
    tenant = make_tenant("seaside")
    for n, room in enumerate(["Terrace", "Kitchen", "Bedroom"]):
        image = photo_add(
            business=tenant.business,
            property=tenant.prop,
            file=io.BytesIO(jpeg_bytes(1600, 900)),
            name=f"{n}.jpg",
            alt_text=f"The {room.lower()}",
            caption=room,
            position=n,
        )
        photo_process(image_id=image.pk)
    port = live_server.url.rsplit(":", 1)[1]
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.goto(f"http://{tenant.business.slug}.localhost:{port}/p/{tenant.prop.slug}/")
    assert_accessible(page, "property with photos")

    previous = page.get_by_role("button", name="Previous photo")
    following = page.get_by_role("button", name="Next photo")
    assert following.is_visible()
    assert previous.is_disabled()
    following.click()
    wait_until(page, f"{SCROLLED} > 300")
    wait_until(page, "!document.querySelector('[data-gallery-prev]').disabled")
    following.click()
    wait_until(page, "document.querySelector('[data-gallery-next]').disabled")

    previous.click()
    previous.click()
    wait_until(page, f"{SCROLLED} === 0")
    page.focus(".gallery-track")
    page.keyboard.press("ArrowRight")
    wait_until(page, f"{SCROLLED} > 0")


def wait_until(page: Any, expression: str, timeout: float = 5.0) -> None:
    """Poll a page expression from here: the page's CSP forbids the `eval` that
    Playwright's wait_for_function runs inside the page."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)
