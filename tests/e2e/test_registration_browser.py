"""Headless Chromium fills in the registration form as a new user would."""

from __future__ import annotations

import uuid

from tests.browser import chromium_page, needs_chromium

pytestmark = needs_chromium


def test_fill_in_submit_and_see_the_confirmation_then_an_invalid_form_shows_the_german_error(stack):
    with chromium_page() as page:
        page.goto(stack.url("registration", "/"))
        for field, value in {"first_name": "Bruno", "last_name": "Browser", "email": f"bruno.{uuid.uuid4().hex[:8]}@example.org",
                             "organisation": "IHK zu Essen"}.items():
            page.fill(f"#{field}", value)
        page.select_option("#actor_group", "chamber")
        page.select_option("#municipality", label="Essen")
        page.select_option("select[name=preference_0]", "tf2-ws1")
        page.check("input[name=consent]")
        page.click("form button[type=submit]")
        assert "Vielen Dank für Ihre Anmeldung" in page.content()

        page.goto(stack.url("registration", "/"))
        page.fill("#email", "keine-adresse")
        page.click("form button[type=submit]")
        assert page.locator(".error-summary").is_visible()
        assert page.locator("#email-error").inner_text()
        assert page.locator("#email").get_attribute("aria-invalid") == "true"
