"""Headless Chromium: staff log in, add an item that double-books a room, see the conflict, fix it, publish.

Runs only where Debian's chromium and Playwright for Python are installed; skipped otherwise.
"""

from __future__ import annotations

from tests.browser import chromium_page, log_in, needs_chromium

pytestmark = needs_chromium


def test_staff_double_book_a_room_in_the_editor_fix_it_and_publish(stack):
    with chromium_page() as page:
        log_in(page, stack, stack.url("agenda", "/staff/agenda/themenforum-2"))
        page.wait_for_selector("h1:has-text('Agenda bearbeiten')")

        page.select_option("#f-workshop_id", "tf2-ws1")
        page.select_option("#f-kind", "input")
        page.fill("#f-start", "11:00")
        page.fill("#f-end", "11:30")
        page.fill("#f-title", "Kurzvortrag im falschen Raum")
        page.select_option("#f-room", "raum-ruhr")
        page.click("#formular button[type=submit]")
        alert = page.locator("#konflikte .error-summary")
        assert "Raum doppelt belegt" in alert.inner_text()
        slot = page.locator("article#" + page.url.split("#")[1])  # the editor jumps to the saved item
        assert "conflict" in slot.get_attribute("class") and "Kurzvortrag im falschen Raum" in slot.inner_text()

        item_id = slot.get_attribute("id")
        slot.get_by_role("link", name="Bearbeiten").click()
        page.select_option("#f-room", "raum-zeche")
        page.click("#formular button[type=submit]")
        assert "Raum „Raum Ruhr“" not in page.locator("body").inner_text()

        page.goto(stack.url("agenda", "/staff/agenda/themenforum-2/publish"))
        assert "Kurzvortrag im falschen Raum" in page.locator("main").inner_text()
        page.click("button:has-text('Jetzt veröffentlichen')")
        assert "Veröffentlicht" in page.locator("[role=status]").first.inner_text()

        # Leave the draft as it was for the other tests.
        page.goto(stack.url("agenda", "/staff/agenda/themenforum-2"))
        page.locator(f"article#{item_id}").get_by_role("button", name="löschen").click()
        assert "Kurzvortrag im falschen Raum" not in page.locator("main").inner_text()
