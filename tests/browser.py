"""Headless Chromium for page tests: Debian's browser driven by Playwright for Python."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's /usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling out of a closed network.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A fresh page in a fresh headless browser."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def log_in(page: Any, stack: Any, url: str) -> None:
    """Open a staff page and log in as the admin on the form it redirects to."""
    page.goto(url)
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", stack.admin_password)
    page.click("button[type=submit]")
