"""The public pages without JavaScript: form, German errors next to the field, confirmation, status and cancel; staff console."""

from __future__ import annotations

import re

import httpx

from shared.testing import eventually


def _form(client: httpx.Client, stack, lang: str = "de") -> str:
    page = client.get(stack.url("registration", f"/?lang={lang}"))
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _fields(csrf: str, **overrides: str) -> dict[str, str]:
    return {"csrf_token": csrf, "forum_id": "themenforum-2", "first_name": "Greta", "last_name": "Formular",
            "email": f"greta.{id(overrides)}@example.org", "organisation": "Hochschule Ruhr West", "actor_group": "research",
            "municipality": "Mülheim an der Ruhr", "preference_0": "tf2-ws2", "consent": "true", **overrides}


def test_the_form_has_labelled_fields_in_german_and_english(stack, http):
    german = http.get(stack.url("registration", "/")).text
    for label in ("Vorname", "E-Mail-Adresse", "Akteursgruppe", "Workshop-Wünsche", "Datenschutzhinweise"):
        assert label in german
    assert '<label for="email">' in german and 'lang="de"' in german
    assert "Stakeholder group" in http.get(stack.url("registration", "/?lang=en")).text


def test_an_invalid_form_answers_in_german_next_to_the_field_and_keeps_the_input(stack):
    with httpx.Client(timeout=30) as browser:
        csrf = _form(browser, stack)
        answer = browser.post(stack.url("registration", "/"), data=_fields(csrf, email="keine-adresse", last_name=""))
    assert answer.status_code == 422
    assert 'class="error-summary" role="alert"' in answer.text
    assert re.search(r'id="email-error">[^<]*E-Mail', answer.text), "German message next to the e-mail field"
    assert 'id="last_name-error">Pflichtfeld fehlt.' in answer.text or 'id="last_name-error">Zu kurz.' in answer.text
    assert 'value="Greta"' in answer.text and 'aria-describedby="email-error"' in answer.text


def test_a_valid_form_confirms_and_the_status_page_lets_the_person_cancel(stack):
    with httpx.Client(timeout=30) as browser:
        csrf = _form(browser, stack)
        confirmation = browser.post(stack.url("registration", "/"), data=_fields(csrf))
        assert confirmation.status_code == 202 and "Vielen Dank für Ihre Anmeldung" in confirmation.text
        link = re.search(r'href="([^"]+/status/[^"]+)"', confirmation.text).group(1).replace("&amp;", "&")
        status = eventually(lambda: "Sie sind angenommen" in (p := browser.get(link).text) and p)
        assert "Workshop 2" in status and "Anmeldung stornieren" in status
        action = re.search(r'<form method="post" action="([^"]+)"', status).group(1).replace("&amp;", "&")
        cancelled = browser.post(stack.url("registration", action))
        assert cancelled.status_code == 200 and "Ihre Anmeldung ist storniert" in cancelled.text


def test_the_honeypot_and_a_missing_csrf_token_protect_the_form(stack):
    with httpx.Client(timeout=30) as browser:
        csrf = _form(browser, stack)
        bot = browser.post(stack.url("registration", "/"), data=_fields(csrf, website="http://spam.example"))
        assert bot.status_code == 202 and "/status/" not in bot.text  # looks accepted, stores nothing
        forged = browser.post(stack.url("registration", "/"), data=_fields("wrong"))
        assert forged.status_code == 400


def test_the_staff_console_needs_a_log_in_and_shows_fill_waitlists_and_export(stack):
    with httpx.Client(timeout=30) as browser:
        console = browser.get(stack.url("registration", "/staff/fora/themenforum-2"), follow_redirects=False)
        assert console.status_code == 303 and "/staff/login" in console.headers["location"]
        stack.staff_session(browser)
        page = browser.get(stack.url("registration", "/staff/fora/themenforum-2"))
        assert page.status_code == 200 and "Belegung nach Akteursgruppe" in page.text and "Probelauf berechnen" in page.text
        assert "<script>" not in page.text  # CSP-friendly: no inline script
        exported = browser.get(stack.url("registration", "/api/v1/fora/themenforum-2/participants.csv"))
        assert exported.status_code == 200 and exported.text.lstrip("\ufeff").startswith("id;status;workshop_id")
        excel = browser.get(stack.url("registration", "/api/v1/fora/themenforum-2/participants.xlsx"))
        assert excel.status_code == 200 and excel.content[:2] == b"PK"
        dry = browser.post(stack.url("registration", "/staff/fora/themenforum-2/dry-run"), data={"csrf": "wrong"})
        assert dry.status_code == 403
    assert httpx.get(stack.url("registration", "/api/v1/fora/themenforum-2/participants.csv")).status_code == 401
