"""Headless Chromium for browser tests (a pytest plugin): the binary, its flags, the
`browser` fixture against the live server, and an axe check. Test modules mark
themselves `browser`, skip without CHROMIUM, and import `assert_accessible`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python import sync_playwright as axe_sync
from django.db import connections
from playwright import sync_api as playwright_sync

CHROMIUM = next(
    (p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if Path(p).exists()), None
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test
    # makes around it are plain synchronous code. Only for this test, never the process.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Live-server request threads must not keep persistent connections open past the
    # test, or the test database cannot be dropped afterwards.
    db_settings = connections["default"].settings_dict
    max_age = db_settings["CONN_MAX_AGE"]
    db_settings["CONN_MAX_AGE"] = 0
    try:
        with playwright_sync.sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            yield chromium
            chromium.close()
            # ORM calls made while Playwright's loop runs get their own connection.
            connections.close_all()
    finally:
        db_settings["CONN_MAX_AGE"] = max_age


def assert_accessible(page: Any, name: str) -> None:
    results = axe_sync.Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"
