"""Headless Chromium: the live dashboard shows a registration within a second of it being posted.

Runs only where Debian's chromium and Playwright for Python are installed; skipped otherwise
(the SSE endpoint itself is tested with httpx in tests/integration/test_results_live.py).
"""

from __future__ import annotations

import time

from tests.browser import chromium_page, log_in, needs_chromium
from tests.conftest import person

pytestmark = needs_chromium


def test_the_dashboard_shows_a_new_registration_within_a_second(stack, http):
    with chromium_page() as page:
        log_in(page, stack, stack.url("results", "/dashboard"))
        page.wait_for_selector("#connection:has-text('verbunden')", timeout=10_000)
        feed = page.locator("#feed li")
        before = set(feed.all_inner_texts())
        started = time.monotonic()
        assert http.post(stack.url("registration", "/api/v1/registrations"), json=person()).status_code == 202
        # Polled from Python: the page's CSP (rightly) forbids the eval that wait_for_function needs.
        # Other events (mails of earlier tests) may arrive too; wait for a new registration item.
        while not [t for t in feed.all_inner_texts() if "Neue Anmeldung" in t and t not in before]:
            assert time.monotonic() - started < 5, "no new registration in the feed"
            time.sleep(0.05)
        assert time.monotonic() - started < 1.0
        assert "@" not in page.locator("#feed").inner_text()
