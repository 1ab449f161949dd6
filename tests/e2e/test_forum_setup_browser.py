"""Headless Chromium: a staff member sets up a forum with two workshops from scratch and sees it on the public form."""

from __future__ import annotations

import uuid

from tests.browser import chromium_page, log_in, needs_chromium

pytestmark = needs_chromium


def test_staff_create_a_forum_with_two_workshops_open_it_and_see_it_on_the_public_form(stack):
    title = f"Themenforum Browser {uuid.uuid4().hex[:6]}"
    with chromium_page() as page:
        log_in(page, stack, stack.url("registration", "/staff/fora"))
        page.click("text=Neue Veranstaltung anlegen")
        page.fill("#title", title)
        page.fill("#starts_on", "2029-09-01")
        page.fill("#venue", "Dortmund")
        page.fill("#contact_email", "kein-email")
        page.click("form button[type=submit]")
        assert page.locator(".error-summary").is_visible()  # German message next to the field, then fixed
        assert "gültige E-Mail-Adresse" in page.locator("#contact_email-error").inner_text()
        page.fill("#contact_email", "team@example.org")
        page.fill("#privacy_notice_text", "Ihre Angaben dienen nur der Durchführung.")
        page.click("form button[type=submit]")
        assert page.locator("#forum-status").inner_text() == "Entwurf"

        for name, seats in (("Wasserstoff in der Logistik", "20"), ("Flächen für neue Industrie", "15")):
            page.click("text=Workshop hinzufügen")
            page.fill("#title", name)
            page.fill("#seats", seats)
            page.fill("#max_company", "8")
            page.click("form button[type=submit]")
            assert name in page.content()

        page.click("button[value=open]")
        assert page.locator("#forum-status").inner_text() == "Anmeldung offen"
        page.click("text=Öffentliches Formular")
        assert page.locator("h1").inner_text() == title
        options = page.locator("#preference_0 option").all_inner_texts()
        assert "Workshop 1: Wasserstoff in der Logistik" in options and "Workshop 2: Flächen für neue Industrie" in options
        assert page.locator("input[name=first_name]").is_visible()
        assert "Ihre Angaben dienen nur der Durchführung." in page.content()
