"""An owner adds photos in headless Chromium: choose several files, watch each upload's
progress bar and each photo's processing state, reorder, describe, publish. The page
is scanned with axe and fits a 390 px phone without sideways scrolling; screenshots go
to docs/img (with HOLIDESK_SCREENSHOTS=1) for docs/photos.md."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright.sync_api")
pytest.importorskip("axe_playwright_python.sync_playwright")

from properties.models import PropertyImage
from properties.photos.demo import SCENES, demo_picture
from properties.photos.processing import photo_process
from tests.conftest import make_tenant
from tests.dashboard.test_browser import assert_no_page_scroll, sign_in
from tests.properties.photos.conftest import temporary_photo_storages
from tests.support.browser import CHROMIUM, assert_accessible

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]


def test_owner_uploads_reorders_and_publishes_photos(
    live_server: Any, browser: Any, settings: Any, tmp_path: Path
) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    temporary_photo_storages(tmp_path, settings)
    # Upload tickets name the app host's own upload URL: the live server here.
    settings.HOLIDESK_URL_PORT = int(live_server.url.rsplit(":", 1)[1])
    tenant = make_tenant("seaside")
    prop = tenant.prop
    files = []
    for scene in SCENES:
        path = tmp_path / f"{scene.caption.lower().replace(' ', '-')}.jpg"
        path.write_bytes(
            demo_picture(name=prop.name, accent_hex="#0e7490", scene=scene, seed=scene.caption)
        )
        files.append(str(path))
    origin = live_server.url.replace("127.0.0.1", "localhost")
    shots = ROOT / "docs" / "img" if os.environ.get("HOLIDESK_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    photos_url = f"{origin}/dashboard/properties/{prop.pk}/photos/"

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, origin, tenant.owner.email)
    page.wait_for_url(f"{origin}/dashboard/")
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Properties").click()
    page.wait_for_url("**/dashboard/properties/")
    assert_accessible(page, "properties (desktop)")
    page.get_by_role("link", name=f"Photos of {prop.name}").click()
    page.wait_for_url(photos_url)
    assert_accessible(page, "empty photo page (desktop)")

    # Several files at once: one progress bar each, then a row each, "Uploaded".
    page.set_input_files("#photo-files", files)
    assert page.locator(".upload-item progress").count() == 3
    rows = page.locator("[data-photo-list] > li")
    rows.nth(2).wait_for()
    page.get_by_text("Uploaded; processing").nth(2).wait_for()
    assert rows.count() == 3
    page.locator("[data-progress]", has_text="0 of 3 ready").wait_for()
    page.screenshot(path=str(shots / "dashboard-photos-uploading-desktop.png"), full_page=True)
    # The worker's part, done here: the page follows the states by itself.
    photos = list(PropertyImage.objects.order_by("position"))
    assert [p.state for p in photos] == ["uploaded"] * 3
    for photo in photos:
        assert photo_process(image_id=photo.pk) == "ready"
    page.locator("[data-progress]", has_text="3 of 3 ready").wait_for(timeout=15_000)
    page.locator(".photo-thumb img").nth(2).wait_for()
    assert page.locator("[data-badge]", has_text="Ready").count() == 3
    assert_accessible(page, "photo page after uploads (desktop)")

    # Reorder: the third photo first (buttons), then the second before the first (drag).
    first, second, third = (p.pk for p in photos)
    page.locator(f'[data-photo-id="{third}"] [data-move="-1"]').click()
    page.locator(f'[data-photo-id="{third}"] [data-move="-1"]').click()
    assert page.locator("[data-move-status]").inner_text().startswith("Moved to position 1 of 3")
    page.locator(f'[data-photo-id="{second}"] [data-thumb]').drag_to(
        page.locator(f'[data-photo-id="{first}"] [data-thumb]'),
        target_position={"x": 10, "y": 5},
    )
    order = page.eval_on_selector_all(
        "[data-photo-list] > li", "(rows) => rows.map((r) => Number(r.dataset.photoId))"
    )
    assert order == [third, second, first]

    # Publishing without alt text is refused and names the photos; nothing is saved.
    page.get_by_role("button", name="Publish photos", exact=True).click()
    page.get_by_text("Describe every photo before publishing").wait_for()
    assert page.locator("p.error").count() == 3
    assert_accessible(page, "refused publish (desktop)")
    # Uploads finish in any order: each photo is told apart by its size in bytes.
    scene_of = {Path(path).stat().st_size: scene for path, scene in zip(files, SCENES, strict=True)}
    assert len(scene_of) == len(SCENES)
    for photo in photos:
        scene = scene_of[photo.original_bytes]
        page.fill(f"#alt-{photo.pk}", scene.alt.format(name=prop.name))
        page.fill(f"#caption-{photo.pk}", scene.caption)
    page.get_by_role("button", name="Publish photos", exact=True).click()
    page.get_by_text("3 photos on your site now").wait_for()
    published = list(PropertyImage.objects.order_by("position"))
    assert [p.pk for p in published] == [third, second, first]
    assert all(p.is_public() for p in published)
    assert page.locator("[data-progress]").inner_text() == "3 of 3 ready · 3 on your site"
    assert_accessible(page, "published photos (desktop)")
    assert_no_page_scroll(page, "photos (desktop)", 1280)
    page.screenshot(path=str(shots / "dashboard-photos-desktop.png"), full_page=True)
    context.close()

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, origin, tenant.owner.email)
    page.wait_for_url(f"{origin}/dashboard/")
    page.goto(f"{origin}/dashboard/properties/")
    assert_accessible(page, "properties (mobile)")
    assert_no_page_scroll(page, "properties (mobile)", 390)
    page.goto(photos_url)
    assert_accessible(page, "photos (mobile)")
    assert_no_page_scroll(page, "photos (mobile)", 390)
    page.screenshot(path=str(shots / "dashboard-photos-mobile.png"), full_page=True)
    context.close()
