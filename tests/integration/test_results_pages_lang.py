"""The moderators' pages in German and English (?lang=en), and opening the voting from the capture page."""

from __future__ import annotations

import re

import httpx

from shared.testing import eventually
from tests.integration.selection_support import decided, make_forum, register
from tests.integration.test_results_voting_mail import voting_mails


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_capture_pages_speak_german_by_default_and_english_on_request(stack):
    with httpx.Client(timeout=30) as browser:
        stack.staff_session(browser)
        index_de, index_en = (browser.get(stack.url("results", "/moderation"), params={"forum": "themenforum-2", **p})
                              for p in ({}, {"lang": "en"}))
        assert 'lang="de"' in index_de.text and "Ergebniserfassung" in index_de.text and 'hreflang="en"' in index_de.text
        assert 'lang="en"' in index_en.text and "Results capture" in index_en.text and "Ergebniserfassung" not in index_en.text
        assert 'href="/moderation/tf2-ws1?lang=en"' in index_en.text

        page = stack.url("results", "/moderation/tf2-ws1")
        german, english = browser.get(page), browser.get(page, params={"lang": "en"})
        for text in ("Idee erfassen", "Titel der Idee", "Beteiligte Akteursgruppen", "Projektskizze erfassen", "Punkte pro Person"):
            assert text in german.text and text not in english.text, text
        for text in ("Capture an idea", "Title of the idea", "Actor groups involved", "Capture a project sketch", "Dots per person",
                     "Universities and research", "Skip to content"):
            assert text in english.text, text
        assert 'lang="en"' in english.text and 'for="title"' in english.text

        empty = browser.post(page, params={"lang": "en"}, data={"csrf_token": csrf(english.text), "action": "idea", "title": ""})
        assert empty.status_code == 422 and "Please check your entries" in empty.text and 'href="#title"' in empty.text
        saved = browser.post(page, params={"lang": "en"}, follow_redirects=False, data={
            "csrf_token": csrf(english.text), "action": "idea", "title": "Shared data space", "request_id": "lang-en-1"})
        assert saved.status_code == 303 and saved.headers["location"].endswith("ok=idee&lang=en")
        after = browser.get(stack.url("results", saved.headers["location"]))
        assert "The idea was saved." in after.text and "Shared data space" in after.text
        german_error = browser.post(page, data={"csrf_token": csrf(german.text), "action": "idea", "title": ""})
        assert german_error.status_code == 422 and "Bitte prüfen Sie Ihre Eingaben" in german_error.text

        cards_de = browser.get(stack.url("results", "/moderation/tf2-ws1/stimmkarten"))
        cards_en = browser.get(stack.url("results", "/moderation/tf2-ws1/stimmkarten"), params={"lang": "en"})
        assert "Stimmkarten: Workshop 1" in cards_de.text and "Voting cards: Workshop 1" in cards_en.text


def test_a_moderator_opens_the_voting_on_the_capture_page_and_the_link_is_mailed(stack, http):
    forum, (ws,) = make_forum(stack, http, [{"seats": 1}])
    email = f"lang.{forum}@example.org"
    reg = register(stack, http, forum, [ws], email=email)
    assert decided(http, reg)["status"] == "accepted"
    eventually(lambda: http.get(stack.url("results", f"/api/v1/workshops/{ws}/voting-links"), headers=stack.auth).json(), timeout=40)
    with httpx.Client(timeout=30) as browser:
        stack.staff_session(browser)
        page = stack.url("results", f"/moderation/{ws}")
        form = browser.get(page)
        assert "Punktabfrage öffnen und Links per E-Mail versenden" in form.text
        assert "Open dot voting and send the links by e-mail" in browser.get(page, params={"lang": "en"}).text
        opened = browser.post(page, data={"csrf_token": csrf(form.text), "action": "open_voting"}, follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"].endswith("ok=geoeffnet")
        after = browser.get(stack.url("results", opened.headers["location"]))
        assert "Die Punktabfrage ist geöffnet" in after.text and 'value="open_voting"' not in after.text
    eventually(lambda: len(voting_mails(stack, email)) == 1, timeout=60)
