"""Forum set-up against the real servers: a second forum beside Themenforum 2, windows on a controllable clock,
refused and confirmed reductions, invitations on reserved seats, clone, archive, validation and staff pages."""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.testing import eventually
from tests.conftest import person
from tests.integration.selection_support import decided
from tests.kafka import events, read_topic

# The registration service reads its clock from this file (tests only); set before the session stack starts.
os.environ.setdefault("REGISTRATION_CLOCK_FILE", str(Path(tempfile.gettempdir()) / f"themenforum-clock-{os.getpid()}.txt"))
CLOCK = Path(os.environ["REGISTRATION_CLOCK_FILE"])


def api(stack: Any, http: Any, method: str, path: str, **kwargs: Any) -> Any:
    return http.request(method, stack.url("registration", path), headers=stack.auth, **kwargs)


def new_forum(stack: Any, http: Any, title: str, workshops: list[dict[str, Any]], *, open_now: bool = True,
              **fields: Any) -> tuple[str, list[str]]:
    """A forum made through the set-up API (starting after Themenforum 2, so it never becomes the default)."""
    forum_id = f"setup-{uuid.uuid4().hex[:8]}"
    body = {"forum_id": forum_id, "title": title, "starts_on": "2029-05-01", "venue": "Bochum",
            "organiser": "Innovationsagentur", "contact_email": "team@example.org", "privacy_notice_version": "2029-01",
            "privacy_notice_text": "Wir verarbeiten Ihre Angaben nur für die Veranstaltung.", **fields}
    answer = api(stack, http, "POST", "/api/v1/fora", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "draft"
    ids = []
    for n, ws in enumerate(workshops, start=1):
        created = api(stack, http, "POST", f"/api/v1/fora/{forum_id}/workshops", json={"title": f"Workshop {n} zu {title}", **ws})
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    if open_now:
        assert api(stack, http, "POST", f"/api/v1/fora/{forum_id}/open").json()["status"] == "open"
    return forum_id, ids


def register(stack: Any, http: Any, body: dict[str, Any]) -> Any:
    return http.post(stack.url("registration", "/api/v1/registrations"), json=body)


def fill(stack: Any, http: Any, forum_id: str) -> dict[str, dict[str, Any]]:
    return {w["id"]: w for w in http.get(stack.url("registration", "/api/v1/workshops"), params={"forum_id": forum_id}).json()}


def test_a_second_forum_runs_beside_themenforum_2_with_separate_quotas_lists_and_its_own_titles(stack, http):
    title = "Themenforum 7: Wasserstoff im Revier"
    forum, (ws1, ws2) = new_forum(stack, http, title, [
        {"seats": 4, "quotas": {"municipality": {"min": 0, "max": 1}}}, {"seats": 5}])
    tf2_before = fill(stack, http, "themenforum-2")["tf2-ws3"]["accepted"].get("municipality", 0)
    ours = [person(forum_id=forum, preferences=[ws1]) for _ in range(3)]
    theirs = [person(preferences=["tf2-ws3"]) for _ in range(3)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda b: register(stack, http, b), ours + theirs))
    assert [a.status_code for a in answers] == [202] * 6
    states = [decided(http, a.json()) for a in answers]
    assert sorted(s["status"] for s in states[:3]) == ["accepted", "waitlisted", "waitlisted"]  # our quota: 1 municipality
    assert all(s["forum_id"] == forum for s in states[:3]) and all(s["forum_id"] == "themenforum-2" for s in states[3:])
    ours_fill = fill(stack, http, forum)
    assert ours_fill[ws1]["accepted"]["municipality"] == 1 and ours_fill[ws1]["waitlisted"] == 2
    assert ours_fill[ws2]["accepted_total"] == 0
    tf2_accepted = sum(s["status"] == "accepted" for s in states[3:])
    assert fill(stack, http, "themenforum-2")["tf2-ws3"]["accepted"]["municipality"] == tf2_before + tf2_accepted
    listed = {r["id"] for r in api(stack, http, "GET", f"/api/v1/fora/{forum}/registrations").json()}
    assert listed == {a.json()["id"] for a in answers[:3]}

    # The other services know the new forum's titles from the catalogue events alone.
    participation = eventually(lambda: (r := http.get(stack.url("agenda", f"/api/v1/workshops/{ws1}/participation"),
                                                      headers=stack.auth)).status_code == 200 and r.json())
    assert participation["title"] == f"Workshop 1 zu {title}" and participation["forum_id"] == forum
    report = eventually(lambda: (r := http.get(stack.url("results", f"/api/v1/reports/{forum}"))).status_code == 200
                        and r.json()["forum"]["title"] == title and r.json())
    assert [w["title"] for w in report["workshops"]] == [f"Workshop 1 zu {title}", f"Workshop 2 zu {title}"]
    mail = eventually(lambda: [m for m in stack.mails(to=ours[0]["email"]) if m["X-Themenforum-Template"] == "acknowledgement"])
    assert title in str(mail[0]["Subject"])


def test_registration_opens_and_closes_by_itself_at_the_configured_times_on_the_controllable_clock(stack, http):
    t0 = datetime.now(UTC).replace(microsecond=0)
    opens, closes = t0 + timedelta(days=1), t0 + timedelta(days=2)
    forum, (ws,) = new_forum(stack, http, "Themenforum 9: Fenster", [{"seats": 10}], open_now=False,
                             registration_opens_at=opens.isoformat(), registration_closes_at=closes.isoformat())
    body = person(forum_id=forum, preferences=[ws])
    try:
        early = register(stack, http, body)
        assert early.status_code == 422
        assert early.json()["errors"][0]["field"] == "forum_id" and early.json()["errors"][0]["reason"] == "registration_not_open"
        page = http.get(stack.url("registration", "/"), params={"forum": forum}).text
        assert "Die Anmeldung öffnet am" in page and 'name="first_name"' not in page

        CLOCK.write_text((opens + timedelta(seconds=1)).isoformat())
        assert eventually(lambda: http.get(stack.url("registration", f"/api/v1/fora/{forum}")).json()["status"] == "open",
                          timeout=15)
        assert register(stack, http, body).status_code == 202
        assert 'name="first_name"' in http.get(stack.url("registration", "/"), params={"forum": forum}).text

        CLOCK.write_text((closes + timedelta(seconds=1)).isoformat())
        assert eventually(lambda: http.get(stack.url("registration", f"/api/v1/fora/{forum}")).json()["status"] == "closed",
                          timeout=15)
        late = register(stack, http, person(forum_id=forum, preferences=[ws]))
        assert late.status_code == 422 and late.json()["errors"][0]["reason"] == "registration_closed"
        assert "Die Anmeldung für diese Veranstaltung ist geschlossen." in http.get(
            stack.url("registration", "/"), params={"forum": forum}).text
        time.sleep(2.5)  # more scheduler rounds: each switch still happened exactly once
    finally:
        CLOCK.unlink(missing_ok=True)

    def switches(ms: list[Any]) -> list[dict[str, Any]]:
        return [e for e in {e["id"]: e for e in events(ms)}.values()
                if e.get("subject") == forum and e["type"].startswith("forum.registration_")]

    seen = switches(read_topic(stack.bootstrap, "forum.catalogue", until=lambda ms: len(switches(ms)) >= 2, timeout=15))
    at = [(e["type"], datetime.fromisoformat(e["data"].get("opened_at") or e["data"]["closed_at"])) for e in seen]
    assert at == [("forum.registration_opened", opens + timedelta(seconds=1)),
                  ("forum.registration_closed", closes + timedelta(seconds=1))]


def test_a_reduction_that_invalidates_decisions_is_refused_until_confirmed_and_then_waitlists_the_latest(stack, http, staff):
    quotas = {"company": {"min": 0, "max": 3}, "municipality": {"min": 0, "max": 3}}
    forum, (ws,) = new_forum(stack, http, "Themenforum 11: Quoten", [{"seats": 4, "quotas": quotas}])
    people = [person(forum_id=forum, preferences=[ws], actor_group=g) for g in ("company", "municipality", "company", "company")]
    accepted, people_answers = [], []
    for body in people:  # one after the other: the acceptance order is known
        people_answers.append(register(stack, http, body).json())
        accepted.append(decided(http, people_answers[-1]))
    assert [a["status"] for a in accepted] == ["accepted"] * 4
    waiting = decided(http, register(stack, http, person(forum_id=forum, preferences=[ws])).json())
    assert waiting["status"] == "waitlisted"
    path = f"/api/v1/fora/{forum}/workshops/{ws}"
    base = {"title": "Workshop 1 zu Themenforum 11: Quoten", "seats": 4, "quotas": quotas}

    fewer = api(stack, http, "PUT", path, json={**base, "seats": 3})
    assert fewer.status_code == 409 and fewer.json()["confirmable"] is True
    assert fewer.json()["conflicts"][0]["field"] == "seats" and "4 angenommene Personen" in fewer.json()["detail"]
    reserved = api(stack, http, "PUT", path, json={**base, "reserved_seats": 2})
    assert reserved.status_code == 409 and reserved.json()["conflicts"][0]["field"] == "seats"
    lower = {**base, "quotas": {**quotas, "company": {"min": 0, "max": 2}}}
    refused = api(stack, http, "PUT", path, json=lower)
    assert refused.status_code == 409 and refused.json()["conflicts"][0]["field"] == "quotas.company.max"
    assert "Gruppe Unternehmen sind 3 Personen angenommen" in refused.json()["detail"]
    page_url = stack.url("registration", f"/staff/fora/{forum}/workshops/{ws}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', staff.get(page_url).text).group(1)
    form = {"csrf": csrf, "title": base["title"], "seats": "4", "max_company": "2", "max_municipality": "3"}
    page = staff.post(page_url, data=form)
    assert page.status_code == 409 and "Die Änderung macht bestehende Entscheidungen ungültig" in page.text
    assert 'name="confirm"' in page.text and "Gruppe Unternehmen sind 3 Personen angenommen" in page.text
    assert all(http.get(a["status_url"]).json()["status"] == "accepted" for a in people_answers)  # nothing changed yet

    done = api(stack, http, "PUT", path, params={"confirm": "true"}, json=lower)
    assert done.status_code == 200, done.text
    latest_company = accepted[3]["id"]
    assert done.json()["displaced"] == [latest_company] and done.json()["moved_up"] == [waiting["id"]]
    registrations = {r["id"]: r for r in api(stack, http, "GET", f"/api/v1/fora/{forum}/registrations").json()}
    assert registrations[latest_company]["status"] == "waitlisted"
    assert registrations[waiting["id"]]["status"] == "accepted"
    assert [registrations[a["id"]]["status"] for a in accepted[:3]] == ["accepted"] * 3
    status = api(stack, http, "GET", f"/api/v1/registrations/{latest_company}").json()
    assert status["reasons"] == ["workshop_reduced", "group_full"] and "verkleinert" in status["explanation"]
    assert "Platz 1 der Warteliste" in status["explanation"]
    mails = eventually(lambda: [m for m in stack.mails(to=people[3]["email"]) if m["X-Themenforum-Template"] == "waitlisted"])
    assert len(mails) == 1
    decisions = [e for e in events(read_topic(stack.bootstrap, "forum.selection", until=lambda ms: any(
        e.get("subject") == latest_company and e["data"]["status"] == "waitlisted" for e in events(ms))))
        if e.get("subject") == latest_company]
    assert [e["data"]["status"] for e in {e["id"]: e for e in decisions}.values()] == ["accepted", "waitlisted"]
    counts = fill(stack, http, forum)[ws]
    assert counts["accepted"]["company"] == 2 and counts["accepted"]["municipality"] == 2 and counts["accepted_total"] == 4


def invitation_link(stack: Any, email: str, template: str = "invitation") -> str:
    mail = eventually(lambda: [m for m in stack.mails(to=email) if m["X-Themenforum-Template"] == template])[0]
    text = mail.get_body(("plain",)).get_content()
    return re.search(r"\?invitation=([\w.-]+)", text).group(1)


def test_invitations_use_reserved_seats_that_nobody_else_can_take_and_staff_see_the_answers(stack, http):
    forum, (ws,) = new_forum(stack, http, "Themenforum 12: Einladungen", [{"seats": 3, "reserved_seats": 1}])
    tag = uuid.uuid4().hex[:6]
    emails = [f"eingeladen.{tag}.{n}@example.org" for n in range(3)]
    csv = ("Name;E-Mail;Organisation;Akteursgruppe;Workshop\n"
           f"Erika Muster;{emails[0]};Stadt Herne;municipality;1\n"
           f"Max Beispiel;{emails[1]};IHK Essen;Kammern und Verbände;{ws}\n")
    imported = api(stack, http, "POST", f"/api/v1/fora/{forum}/invitations", json={"csv": csv})
    assert imported.status_code == 201 and imported.json() == {"created": 2, "skipped": 0}
    bad = api(stack, http, "POST", f"/api/v1/fora/{forum}/invitations", json={"csv": "Name;E-Mail;Organisation;Akteursgruppe;Workshop\nA B;kaputt;X;alien;9\n"})
    assert bad.status_code == 422 and {e["column"] for e in bad.json()["errors"]} == {"email", "actor_group", "workshop"}

    others = [decided(http, register(stack, http, person(forum_id=forum, preferences=[ws])).json()) for _ in range(3)]
    assert [o["status"] for o in others] == ["accepted", "accepted", "waitlisted"]  # the reserved seat stays free
    assert others[2]["reasons"] == ["workshop_full"]
    forged = register(stack, http, person(forum_id=forum, preferences=[ws], invitation_token="abc.def"))
    assert forged.status_code == 422 and forged.json()["errors"][0]["field"] == "invitation_token"

    token = invitation_link(stack, emails[0])
    form = http.get(stack.url("registration", "/"), params={"invitation": token}).text
    assert f'value="{emails[0]}"' in form and f'name="invitation_token" value="{token}"' in form
    invited = register(stack, http, person(forum_id=forum, preferences=[ws], email=emails[0], first_name="Erika",
                                           last_name="Muster", invitation_token=token))
    state = decided(http, invited.json())
    assert state["status"] == "accepted" and state["reasons"] == ["invited"]

    declined = http.post(stack.url("registration", f"/invitation/{invitation_link(stack, emails[1])}/decline"))
    assert declined.status_code == 200 and "abgesagt" in declined.text
    again = api(stack, http, "POST", f"/api/v1/fora/{forum}/invitations",
                json={"csv": f"Vorname,Nachname,E-Mail,Organisation,Akteursgruppe,Workshop\nLea,Neu,{emails[2]},Uni Duisburg,research,1\n"
                             f"Erika,Muster,{emails[0]},Stadt Herne,municipality,1\n"})
    assert again.json() == {"created": 1, "skipped": 1}
    assert api(stack, http, "POST", f"/api/v1/fora/{forum}/invitations/remind").json() == {"reminded": 1}
    assert invitation_link(stack, emails[2], "invitation_reminder") == invitation_link(stack, emails[2])
    listing = api(stack, http, "GET", f"/api/v1/fora/{forum}/invitations").json()
    assert listing["counts"] == {"pending": 1, "accepted": 1, "declined": 1, "cancelled": 0}
    assert {i["email"]: i["mails_sent"] for i in listing["invitations"]}[emails[2]] == 2

    # Erasure reaches the invitation list; the cancellation it causes gives the reserved seat back.
    rid = invited.json()["id"]
    assert http.post(invited.json()["status_url"].replace(f"/{rid}?", f"/{rid}/erasure?")).status_code == 200
    after = eventually(lambda: (x := api(stack, http, "GET", f"/api/v1/fora/{forum}/invitations").json())["counts"]["cancelled"] == 1 and x)
    assert emails[0] not in str(after) and "Muster" not in str(after)


def test_a_clone_copies_workshops_quotas_and_texts_with_new_ids_and_no_people(stack, http):
    quotas = {"research": {"min": 1, "max": 2}}
    forum, (ws1, _ws2) = new_forum(stack, http, "Themenforum 14: Vorlage", [{"seats": 6, "quotas": quotas, "reserved_seats": 1},
                                                                           {"seats": 8, "organisation_cap": 2}])
    decided(http, register(stack, http, person(forum_id=forum, preferences=[ws1])).json())
    answer = api(stack, http, "POST", f"/api/v1/fora/{forum}/clone", json={"title": "Themenforum 15: aus der Vorlage"})
    assert answer.status_code == 201, answer.text
    clone = answer.json()
    assert clone["forum_id"] != forum and clone["status"] == "draft" and clone["title"] == "Themenforum 15: aus der Vorlage"
    assert clone["privacy_notice_text"].startswith("Wir verarbeiten") and clone["starts_on"] is None
    assert [(w["number"], w["seats"], w["quotas"], w["reserved_seats"], w["organisation_cap"]) for w in clone["workshops"]] == [
        (1, 6, quotas, 1, None), (2, 8, {}, 0, 2)]
    assert all(w["workshop_id"].startswith(clone["forum_id"]) for w in clone["workshops"])
    assert api(stack, http, "GET", f"/api/v1/fora/{clone['forum_id']}/registrations").json() == []
    in_use = api(stack, http, "DELETE", f"/api/v1/fora/{forum}/workshops/{ws1}")
    assert in_use.status_code == 409 and "bitte zuerst umbuchen" in in_use.json()["detail"]
    assert api(stack, http, "DELETE", f"/api/v1/fora/{forum}/workshops/{_ws2}").json()["removed"] is True
    assert list(fill(stack, http, forum)) == [ws1]
    gone = register(stack, http, person(forum_id=forum, preferences=[_ws2]))  # a removed workshop is no choice any more
    assert gone.status_code == 422 and gone.json()["errors"][0]["field"] == "preferences", gone.text


def test_archive_stops_registration_and_bad_input_names_the_field(stack, http):
    empty, _ = new_forum(stack, http, "Themenforum 16: ohne Workshop", [], open_now=False, starts_on=None)
    gaps = api(stack, http, "POST", f"/api/v1/fora/{empty}/open")
    assert gaps.status_code == 409 and {c["field"] for c in gaps.json()["conflicts"]} == {"starts_on", "workshops"}
    forum, (ws,) = new_forum(stack, http, "Themenforum 16: Archiv", [{"seats": 3}])
    assert api(stack, http, "POST", f"/api/v1/fora/{forum}/archive").json()["status"] == "archived"
    assert api(stack, http, "POST", f"/api/v1/fora/{forum}/open").status_code == 409
    closed = register(stack, http, person(forum_id=forum, preferences=[ws]))
    assert closed.status_code == 422 and closed.json()["errors"][0]["reason"] == "registration_closed"

    def refused(path: str, body: dict[str, Any], method: str = "POST") -> set[str]:
        answer = api(stack, http, method, path, json=body)
        assert answer.status_code == 422, answer.text
        return {e["field"] for e in answer.json()["errors"]}

    assert refused("/api/v1/fora", {"title": ""}) == {"title"}
    assert refused("/api/v1/fora", {"title": "Fenster falsch", "registration_opens_at": "2029-02-01T09:00:00+01:00",
                                    "registration_closes_at": "2029-01-01T09:00:00+01:00"}) == {"registration_closes_at"}
    assert refused(f"/api/v1/fora/{forum}/workshops", {"title": "Zu viel", "seats": 2, "reserved_seats": 3}) == {"reserved_seats"}
    assert refused(f"/api/v1/fora/{forum}/workshops", {"title": "Quote", "seats": 5,
                                                      "quotas": {"company": {"min": 4, "max": 2}}}) == {"quotas"}
    assert http.post(stack.url("registration", "/api/v1/fora"), json={"title": "Ohne Anmeldung"}).status_code == 401


def test_staff_pages_list_create_and_edit_a_forum_with_german_messages(stack, staff):
    listing = staff.get(stack.url("registration", "/staff/fora"))
    assert listing.status_code == 200 and "Themenforum 2" in listing.text and "Neue Veranstaltung anlegen" in listing.text
    form = staff.get(stack.url("registration", "/staff/fora/neu"))
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    wrong = staff.post(stack.url("registration", "/staff/fora/neu"), data={"csrf": csrf, "title": "X", "contact_email": "nein"})
    assert wrong.status_code == 422 and "Bitte prüfen Sie Ihre Angaben" in wrong.text
    assert "gültige E-Mail-Adresse" in wrong.text and 'aria-invalid="true"' in wrong.text
    made = staff.post(stack.url("registration", "/staff/fora/neu"), data={
        "csrf": csrf, "title": "Themenforum 17: Im Browser", "lang_de": "on", "privacy_notice_version": "1",
        "registration_opens_at": "2029-01-10T09:00", "timezone": "Europe/Berlin"}, follow_redirects=False)
    assert made.status_code == 303
    page = staff.get(stack.url("registration", made.headers["location"]))
    assert "Themenforum 17: Im Browser" in page.text and 'value="2029-01-10T09:00"' in page.text
    forum_id = made.headers["location"].split("/")[3]
    stored = staff.get(stack.url("registration", f"/api/v1/fora/{forum_id}")).json()
    assert datetime.fromisoformat(stored["registration_opens_at"]) == datetime(2029, 1, 10, 8, 0, tzinfo=UTC)
    assert stored["languages"] == ["de"]
    console = staff.get(stack.url("registration", "/staff/fora/themenforum-2"))
    assert "/staff/fora/themenforum-2/einrichten" in console.text
