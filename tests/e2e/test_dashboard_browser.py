"""Headless Chromium: the live dashboard shows a registration within a second of it being posted.

Runs only where Debian's chromium and Playwright for Python are installed; skipped otherwise
(the SSE endpoint itself is tested with httpx in tests/integration/test_results_live.py).
"""

from __future__ import annotations

import os
import time

import pytest

from tests.conftest import person

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs /usr/bin/chromium")


def test_the_dashboard_shows_a_new_registration_within_a_second(stack, http):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page()
        page.goto(stack.url("results", "/dashboard"))
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", stack.admin_password)
        page.click("button[type=submit]")
        page.wait_for_selector("#connection:has-text('verbunden')", timeout=10_000)
        feed = page.locator("#feed li")
        before = (feed.count(), feed.first.inner_text() if feed.count() else "")
        started = time.monotonic()
        assert http.post(stack.url("registration", "/api/v1/registrations"), json=person()).status_code == 202
        # Polled from Python: the page's CSP (rightly) forbids the eval that wait_for_function needs.
        while (feed.count(), feed.first.inner_text() if feed.count() else "") == before:
            assert time.monotonic() - started < 5, "no new event in the feed"
            time.sleep(0.05)
        assert time.monotonic() - started < 1.0
        assert "Neue Anmeldung" in page.locator("#feed li").first.inner_text()
        assert "@" not in page.locator("#feed").inner_text()
        browser.close()
