"""Headless Chromium: the selection console's fill bars, counters and waiting list follow new registrations without a reload.

Runs only where Debian's chromium and Playwright for Python are installed; skipped otherwise
(the stream itself is tested with httpx in tests/integration/test_console_live.py).
"""

from __future__ import annotations

import time

from tests.browser import chromium_page, log_in, needs_chromium
from tests.integration.selection_support import make_forum, register

pytestmark = needs_chromium


def wait_until(check, timeout=5.0):
    # Polled from Python: the page's CSP (rightly) forbids the eval that wait_for_function needs.
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the console did not change"
        time.sleep(0.05)


def test_the_console_shows_a_new_registration_in_fill_bar_counter_and_waiting_list_without_reload(stack, http):
    forum, (ws,) = make_forum(stack, http, [{"seats": 1, "quotas": {"municipality": {"min": 0, "max": 1}}}])
    with chromium_page() as page:
        log_in(page, stack, stack.url("registration", f"/staff/fora/{forum}"))
        page.wait_for_selector("#live-status:has-text('Live')", timeout=10_000)
        navigations = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        cell, meter = page.locator(f'[data-group="{ws}:municipality"]'), page.locator(f'[data-meter="{ws}:municipality"]')
        assert cell.inner_text() == "0" and page.locator(f'[data-waitlist="{ws}"] li').count() == 0

        started = time.monotonic()
        register(stack, http, forum, [ws], first_name="Mara", last_name="Meter", municipality="Herne")
        wait_until(lambda: cell.inner_text() == "1")
        seconds = time.monotonic() - started
        assert meter.get_attribute("value") == "1"
        assert page.locator(f'[data-accepted="{ws}"]').inner_text() == "1"
        assert "Herne: 1" in page.locator(f'[data-municipalities="{ws}"]').text_content()  # inside a closed <details>
        assert "Workshop 1: 1 von 1 Plätzen vergeben" in page.locator("#live-announce").text_content()

        register(stack, http, forum, [ws], first_name="Wanda", last_name="Warteliste", organisation="Stadt Herne")
        wait_until(lambda: page.locator(f'[data-waitlist="{ws}"] li').count() == 1)
        assert page.locator(f'[data-waitlist="{ws}"]').inner_text() == "Wanda Warteliste, Stadt Herne (Kommunen und Verwaltung)"
        assert page.locator(f'[data-waitlist-count="{ws}"]').inner_text() == "1"
        assert page.locator('[data-total="waitlisted"]').inner_text() == "1"
        assert not page.locator("#new-registrations").is_hidden()  # the table offers a reload for the new rows
        assert navigations == [], "the page reloaded"
        assert seconds < 3, f"the fill bar took {seconds:.1f} s"
