"""Retention and the data download against the real servers: a forum's people are anonymised everywhere once
its retention time has passed on the moved clock (once, other fora untouched, report counts kept); a person
downloads their data with the consent text they agreed to; a wrong token or an erased person gets nothing."""

from __future__ import annotations

import os
import re
import tempfile
import time as clock_time
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from shared.testing import eventually
from tests.conftest import acknowledgements, person
from tests.integration.selection_support import decided
from tests.integration.test_erasure import _databases_mentioning
from tests.integration.test_forum_setup import api, invitation_link, new_forum, register
from tests.kafka import events, read_topic

# The registration service reads its clock from this file (as in test_forum_setup) and checks retention every second.
os.environ.setdefault("REGISTRATION_CLOCK_FILE", str(Path(tempfile.gettempdir()) / f"themenforum-clock-{os.getpid()}.txt"))
os.environ.setdefault("REGISTRATION_RETENTION_CHECK_S", "1")
CLOCK = Path(os.environ["REGISTRATION_CLOCK_FILE"])
SERVICES = {"registration", "agenda", "results", "notify"}


def keys_held(mongo: Any, service: str, owners: Any) -> int:
    """How many of these people's data keys a service's store holds."""
    return mongo[f"themenforum_{service}"]["participant_keys"].count_documents({"_id": {"$in": list(owners)}, "key": {"$type": "string"}})


def retention(stack: Any, http: Any, forum_id: str) -> dict[str, Any]:
    answer = api(stack, http, "GET", f"/api/v1/fora/{forum_id}/retention")
    assert answer.status_code == 200, answer.text
    return answer.json()


def report(stack: Any, http: Any, forum_id: str) -> dict[str, Any]:
    return http.get(stack.url("results", f"/api/v1/reports/{forum_id}")).json()["summary"]


def erasures(stack: Any, subjects: set[str]) -> list[dict[str, Any]]:
    """The distinct erasure events about these subjects, read until every service confirmed each (a relay may
    publish one twice)."""
    def about(ms: list[Any]) -> list[dict[str, Any]]:
        # Event ids derive from the cause, which is the same in every service: an event is its (id, source).
        return list({(e["id"], e["source"]): e for e in events(ms) if e.get("subject") in subjects
                     and e["type"].startswith("participant.")}.values())

    def complete(ms: list[Any]) -> bool:
        confirmed = {(e["subject"], e["data"]["service"]) for e in about(ms) if e["type"] == "participant.erased"}
        return confirmed >= {(s, service) for s in subjects for service in SERVICES}

    return about(read_topic(stack.bootstrap, "forum.participants", until=complete, timeout=60))


def test_a_forum_s_people_are_anonymised_everywhere_once_its_retention_time_has_passed(stack, http, mongo, staff):
    day = datetime.now(UTC).date() + timedelta(days=2)
    tag = uuid.uuid4().hex[:6]
    old, (old_ws,) = new_forum(stack, http, "Themenforum 21: Aufbewahrung", [{"seats": 3, "reserved_seats": 1}],
                               starts_on=day.isoformat(), retention_days=1)
    later, (later_ws,) = new_forum(stack, http, "Themenforum 22: läuft weiter", [{"seats": 5}], starts_on=day.isoformat())
    view = retention(stack, http, old)
    assert view["state"] == "pending" and view["days"] == 1 and view["due_at"].startswith((day + timedelta(days=2)).isoformat())
    assert retention(stack, http, later)["days"] == 180

    invitees = [(f"Ina Einladung-{tag}-{n}", f"ina.{tag}.{n}@example.org") for n in range(2)]
    csv = "Name;E-Mail;Organisation;Akteursgruppe;Workshop\n" + "".join(
        f"{name};{email};Stadt Herne;municipality;1\n" for name, email in invitees)
    assert api(stack, http, "POST", f"/api/v1/fora/{old}/invitations", json={"csv": csv}).status_code == 201
    guest = person(forum_id=old, preferences=[old_ws], email=invitees[0][1], first_name="Ina",
                   last_name=invitees[0][0].split(" ", 1)[1], invitation_token=invitation_link(stack, invitees[0][1]))
    gone = [guest, person(forum_id=old, preferences=[old_ws], organisation=f"Aufbewahrung {tag} GmbH"),
            person(forum_id=old, preferences=[old_ws], motivation=f"Bitte später löschen {tag}")]
    both = person(forum_id=old, preferences=[old_ws])
    stays = person(forum_id=later, preferences=[later_ws])
    answers = [register(stack, http, b).json() for b in gone + [both, {**both, "forum_id": later, "preferences": [later_ws]},
                                                                 stays]]
    for answer in answers:
        decided(http, answer)
    for body in gone + [both, stays]:
        eventually(lambda b=body: acknowledgements(stack, b["email"]), timeout=60)
    invitee_mail = invitation_link(stack, invitees[1][1])
    assert invitee_mail
    needles = [b["email"] for b in gone] + [b["last_name"] for b in gone] + [invitees[1][1], invitees[1][0]]
    registrations = mongo["themenforum_registration"].registrations
    pids = {registrations.find_one({"_id": a["id"]})["participant_id"] for a in answers[:3]}
    invitation_ids = {d["_id"] for d in mongo["themenforum_registration"].invitations.find({"forum_id": old})}
    owners = sorted(pids | invitation_ids)
    # Registration holds the clear data; the other services hold it sealed, with the people's keys.
    eventually(lambda: "themenforum_registration" in {n.split(".")[0] for n in _databases_mentioning(mongo, needles)}, timeout=30)
    eventually(lambda: all(keys_held(mongo, service, pids) == len(pids) for service in SERVICES), timeout=30)
    before = eventually(lambda: (r := report(stack, http, old))["registrations"] == 4 and r, timeout=30)

    CLOCK.write_text(datetime.combine(day + timedelta(days=3), time(12), tzinfo=UTC).isoformat())
    try:
        done = eventually(lambda: (r := retention(stack, http, old))["state"] == "anonymised" and r, timeout=30)
        assert done["registrations_anonymised"] == 4 and done["invitations_anonymised"] == 2
        seen = erasures(stack, pids | invitation_ids)
        for subject in pids | invitation_ids:
            requested = [e for e in seen if e["subject"] == subject and e["type"] == "participant.erasure_requested"]
            assert [e["data"]["requested_by"] for e in requested] == ["retention"]
            assert {e["data"]["service"] for e in seen if e["subject"] == subject and e["type"] == "participant.erased"} == SERVICES
        eventually(lambda: _databases_mentioning(mongo, needles) == [], timeout=30, interval=1)
        eventually(lambda: not any(keys_held(mongo, service, owners) for service in SERVICES), timeout=30)  # shredded

        # The person also registered for the later forum keeps that registration (and their address for its mails).
        mixed = {d["forum_id"]: d for d in registrations.find({"email_lower": both["email"].lower()})}
        assert set(mixed) == {later} and mixed[later]["last_name"] == both["last_name"]
        assert registrations.find_one({"_id": answers[3]["id"]})["email"] == ""
        assert registrations.find_one({"_id": answers[5]["id"]})["email"] == stays["email"]
        assert retention(stack, http, later)["state"] == "pending"
        assert report(stack, http, old) == before  # the report keeps counting everyone
        assert http.get(answers[1]["status_url"]).json()["status"] in ("accepted", "waitlisted")  # not cancelled

        page = staff.get(stack.url("registration", f"/staff/fora/{old}/einrichten")).text
        assert 'data-state="anonymised"' in page and "Anonymisiert am" in page

        clock_time.sleep(3)  # three more scheduler rounds: nothing happens again
        assert retention(stack, http, old) == done
        stack.stop_service("registration")  # nor after a restart (its first round runs at start-up)
        stack.start_service("registration")
        clock_time.sleep(2)
        assert retention(stack, http, old) == done
        again = erasures(stack, pids | invitation_ids)
        assert len([e for e in again if e["type"] == "participant.erasure_requested"]) == len(pids | invitation_ids)
    finally:
        CLOCK.unlink(missing_ok=True)
        for forum_id in (old, later):  # they start before Themenforum 2: open, they would become the default forum
            api(stack, http, "POST", f"/api/v1/fora/{forum_id}/archive")


def test_a_person_downloads_their_data_with_the_notice_they_consented_to_and_nothing_after_erasure(stack, http, staff):
    forum, (ws,) = new_forum(stack, http, "Themenforum 23: Auskunft", [{"seats": 5}])
    first = person(forum_id=forum, preferences=[ws], motivation="Ich bringe Daten mit.")
    first_answer = register(stack, http, first).json()
    state = decided(http, first_answer)
    public = http.get(stack.url("registration", f"/api/v1/fora/{forum}")).json()
    body = {k: public[k] for k in ("title", "starts_on", "venue", "organiser", "contact_email", "selection_mode")}
    bad = api(stack, http, "PUT", f"/api/v1/fora/{forum}", json={**body, "retention_days": -1})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "retention_days"
    assert "ganze Zahl von Tagen" in bad.json()["errors"][0]["message"]
    changed = api(stack, http, "PUT", f"/api/v1/fora/{forum}", json={
        **body, "privacy_notice_version": "2029-02", "privacy_notice_text": "Neue Fassung: wir löschen nach 30 Tagen.",
        "retention_days": 30})
    assert changed.status_code == 200 and changed.json()["retention"]["days"] == 30
    page_url = stack.url("registration", f"/staff/fora/{forum}/einrichten")
    page = staff.get(page_url).text
    assert 'id="retention_days"' in page and 'value="30"' in page and 'data-state="pending"' in page
    form = {"csrf": re.search(r'name="csrf" value="([^"]+)"', page).group(1), **body, "lang_de": "on",
            "privacy_notice_version": "2029-02", "privacy_notice_text": "Neue Fassung: wir löschen nach 30 Tagen."}
    refused = staff.post(page_url, data={**form, "retention_days": "viele"})
    assert refused.status_code == 422 and "Aufbewahrung in Tagen: Bitte eine ganze Zahl von Tagen" in refused.text
    assert staff.post(page_url, data={**form, "retention_days": "45"}).status_code == 200
    assert api(stack, http, "GET", f"/api/v1/fora/{forum}/retention").json()["days"] == 45
    second = person(forum_id=forum, preferences=[ws])
    second_answer = register(stack, http, second).json()
    decided(http, second_answer)

    url = stack.url("registration", f"/api/v1/registrations/{first_answer['id']}/export")
    token = first_answer["status_url"].split("token=")[1]
    download = http.get(url, params={"token": token})
    assert download.status_code == 200 and download.headers["content-type"].startswith("application/json")
    assert download.headers["content-disposition"].startswith("attachment;")
    data = download.json()
    assert data["erased"] is False and len(data["registrations"]) == 1
    mine = data["registrations"][0]
    assert {k: mine[k] for k in ("first_name", "last_name", "email", "organisation", "motivation")} == {
        k: first[k] for k in ("first_name", "last_name", "email", "organisation", "motivation")}
    assert mine["consent"]["version"] == "2029-01" and mine["consent"]["text"].startswith("Wir verarbeiten Ihre Angaben")
    assert mine["status"] == state["status"] and mine["decision_history"][-1]["status"] == state["status"]
    assert mine["decision_history"][-1]["explanation"] == state["explanation"] and mine["decision_history"][-1]["decided_at"]
    assert "token_hash" not in download.text and token not in download.text
    assert {(c["service"], c["collection"]) for c in data["other_services"]} >= {("notify", "recipients"), ("agenda", "people")}
    theirs = http.get(stack.url("registration", f"/api/v1/registrations/{second_answer['id']}/export"),
                      params={"token": second_answer["status_url"].split("token=")[1]}).json()["registrations"][0]
    assert theirs["consent"] == {**theirs["consent"], "version": "2029-02", "text": "Neue Fassung: wir löschen nach 30 Tagen."}
    history = api(stack, http, "GET", f"/api/v1/fora/{forum}/privacy-notices").json()
    assert [n["version"] for n in history] == ["2029-02", "2029-01"]

    wrong = http.get(url, params={"token": "falsch"})
    status_wrong = http.get(stack.url("registration", f"/api/v1/registrations/{first_answer['id']}"), params={"token": "falsch"})
    assert (wrong.status_code, wrong.json()) == (status_wrong.status_code, status_wrong.json()) == (404, status_wrong.json())
    assert http.get(url).status_code == 404

    page = http.get(first_answer["status_page_url"]).text
    assert "Meine Daten herunterladen (JSON)" in page and f"/api/v1/registrations/{first_answer['id']}/export?token=" in page
    assert "Download my data (JSON)" in http.get(first_answer["status_page_url"] + "&lang=en").text

    erased = http.post(stack.url("registration", f"/api/v1/registrations/{first_answer['id']}/erasure"), params={"token": token})
    assert erased.status_code == 200
    after = http.get(url, params={"token": token})
    assert after.status_code == 200 and after.json()["erased"] is True and after.json()["registrations"] == []
    assert not any(first[k] in after.text for k in ("email", "last_name", "organisation", "motivation"))
