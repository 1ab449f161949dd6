"""Staff editor, publishing, public and printable pages, and breakout groups, through HTTP as a browser would."""

from __future__ import annotations

import re
import uuid

import pytest

from shared.events import encode, make_event
from shared.events.participants import ParticipantErasureRequested
from shared.events.selection import SelectionFinalized
from shared.testing import eventually
from tests.conftest import person
from tests.kafka import events, produce, read_topic

FORUM = "themenforum-2"


def editor(stack, staff, query=""):
    page = staff.get(stack.url("agenda", f"/staff/agenda/{FORUM}{query}"))
    assert page.status_code == 200, page.text
    return page.text


def csrf(html):
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', html).group(1)


def item_form(html, **values):
    return {"csrf_token": csrf(html), "item_id": "", "workshop_id": "tf2-ws1", "day": "2027-03-25", "start": "11:00",
            "end": "12:15", "title": "Arbeitsphase 1", "kind": "working_phase", "room": "raum-emscher",
            "moderators": "Dr. Petra Lindner", "description": "", **values}


def test_the_editor_needs_a_staff_log_in(stack, http):
    answer = http.get(stack.url("agenda", f"/staff/agenda/{FORUM}"), follow_redirects=False)
    assert answer.status_code in (302, 303, 307) and "/staff/login" in answer.headers["location"]


def test_staff_double_book_a_room_see_the_conflict_fix_it_and_publish(stack, staff):
    html = eventually(lambda: (h := editor(stack, staff)) and "Gemeinsame Eröffnung" in h and h)
    assert "Raum doppelt belegt" not in html
    assert "Gemeinsame Eröffnung" in html and 'class="timeline cols3"' in html
    assert "Raum Emscher" in html and "Workshop 1: " in html

    # Move workshop 1's first working phase into workshop 2's room: a double booking.
    form = item_form(html, item_id="tf2-ws1-phase-1", title="Arbeitsphase 1: Wo hakt der Zugang zu Fördermitteln?",
                     room="raum-ruhr", description="In Kleingruppen sammeln die Teilnehmenden Erfahrungen mit Anträgen und Beratung.")
    saved = staff.post(stack.url("agenda", f"/staff/agenda/{FORUM}/items"), data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("#item-tf2-ws1-phase-1")
    html = editor(stack, staff)
    assert "Raum doppelt belegt" in html and "Raum „Raum Ruhr“ ist 11:00–12:15 doppelt belegt" in html
    assert re.search(r'<article class="slot [^"]*conflict" id="item-tf2-ws1-phase-1"', html)

    # Fixed: back to its own room; the conflict is gone.
    staff.post(stack.url("agenda", f"/staff/agenda/{FORUM}/items"), data={**form, "room": "raum-emscher", "csrf_token": csrf(html)})
    html = editor(stack, staff)
    assert "Raum doppelt belegt" not in html

    # A real change: the title. The publish page shows the diff first, then publishing needs a confirmation.
    staff.post(stack.url("agenda", f"/staff/agenda/{FORUM}/items"),
               data={**form, "room": "raum-emscher", "title": "Arbeitsphase 1: Hürden beim Förderzugang", "csrf_token": csrf(html)})
    preview = staff.get(stack.url("agenda", f"/staff/agenda/{FORUM}/publish")).text
    assert "Arbeitsphase 1: Hürden beim Förderzugang" in preview and "Jetzt veröffentlichen" in preview
    assert "<del>Arbeitsphase 1: Wo hakt der Zugang zu Fördermitteln?</del>" in preview or "Erstveröffentlichung" in preview
    revision = re.search(r'name="revision" value="(\d+)"', preview).group(1)
    refused = staff.post(stack.url("agenda", f"/staff/agenda/{FORUM}/publish"), data={"csrf_token": "x", "revision": revision})
    assert refused.status_code == 403
    done = staff.post(stack.url("agenda", f"/staff/agenda/{FORUM}/publish"),
                      data={"csrf_token": csrf(preview), "revision": revision}, follow_redirects=False)
    assert done.status_code == 303 and "notice=published-" in done.headers["location"]
    public = staff.get(stack.url("agenda", "/workshops/tf2-ws1")).text
    assert "Arbeitsphase 1: Hürden beim Förderzugang" in public


def test_items_are_added_checked_and_deleted_through_the_form(stack, staff):
    html = editor(stack, staff)
    bad = staff.post(stack.url("agenda", f"/staff/agenda/{FORUM}/items"), data=item_form(html, start="12:00", end="11:00"))
    assert bad.status_code == 422 and "Das Ende muss nach dem Beginn liegen." in bad.text and 'aria-invalid="true"' in bad.text
    assert staff.post(stack.url("agenda", f"/staff/agenda/{FORUM}/items"), data={**item_form(html), "csrf_token": "forged"}).status_code == 403

    title = f"Expertengespräch {uuid.uuid4().hex[:6]}"
    added = staff.post(stack.url("agenda", f"/staff/agenda/{FORUM}/items"),
                       data=item_form(html, title=title, room="raum-ruhr", kind="input"), follow_redirects=False)
    item_id = added.headers["location"].split("#item-")[1]
    html = editor(stack, staff)
    assert title in html and "Überschneidung im Workshop" in html and "Raum doppelt belegt" in html
    moved = staff.post(stack.url("agenda", f"/staff/agenda/{FORUM}/items/{item_id}/move"),
                       data={"csrf_token": csrf(html), "minutes": "15"}, follow_redirects=False)
    assert moved.status_code == 303
    assert "11:15–12:30" in editor(stack, staff, f"?edit={item_id}") and 'value="11:15"' in editor(stack, staff, f"?edit={item_id}")
    gone = staff.post(stack.url("agenda", f"/staff/agenda/{FORUM}/items/{item_id}/delete"), data={"csrf_token": csrf(html)},
                      follow_redirects=True)
    assert gone.status_code == 200 and title not in gone.text


def test_public_and_printable_agendas_in_german_and_english(stack, http):
    http.post(stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/publish"), headers=stack.auth)
    page = http.get(stack.url("agenda", "/workshops/tf2-ws3"))
    assert page.status_code == 200 and '<html lang="de">' in page.text and "In den Kalender (iCal)" in page.text
    assert "Gemeinsame Eröffnung" in page.text and "Plenarsaal" in page.text and "Raum Lippe" in page.text
    english = http.get(stack.url("agenda", "/workshops/tf2-ws3"), params={"lang": "en"}).text
    assert '<html lang="en">' in english and "Add to calendar" in english and "Working phase" in english
    printable = http.get(stack.url("agenda", "/workshops/tf2-ws3/print")).text
    assert '<table class="agenda">' in printable and '<header class="site">' not in printable
    assert "@media print" in http.get(stack.url("agenda", "/agenda-static/agenda.css")).text
    assert "Themenforum 2" in http.get(stack.url("agenda", "/")).text
    pdf = http.get(stack.url("agenda", "/workshops/tf2-ws3/agenda.pdf"), timeout=90)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_breakout_groups_on_request_keep_an_organisation_apart(stack, http, staff, mongo):
    org = f"Hochschule {uuid.uuid4().hex[:6]}"
    suffix = uuid.uuid4().hex[:6]
    ids = []
    for n, (group, organisation) in enumerate([("research", org), ("research", org), ("company", f"Firma {suffix}"),
                                               ("chamber", f"IHK {suffix}")]):
        body = person(preferences=["tf2-ws2"], actor_group=group, organisation=organisation, first_name=f"Test{n}")
        answer = http.post(stack.url("registration", "/api/v1/registrations"), json=body)
        assert answer.status_code == 202
        ids.append(answer.json()["id"])
    decisions = mongo["themenforum_agenda"].decisions
    eventually(lambda: decisions.count_documents({"_id": {"$in": ids}}) == len(ids))  # the agenda saw every decision
    assert decisions.count_documents({"_id": {"$in": ids[:2]}, "status": "accepted", "workshop_id": "tf2-ws2"}) == 2
    participation = lambda: http.get(stack.url("agenda", "/api/v1/workshops/tf2-ws2/participation"), headers=stack.auth).json()  # noqa: E731

    answer = http.post(stack.url("agenda", "/api/v1/workshops/tf2-ws2/breakout-groups"), json={"groups": 2}, headers=stack.auth)
    assert answer.status_code == 200, answer.text
    groups = answer.json()["groups"]
    members = [m for g in groups for m in g["members"]]
    assert len(members) == participation()["accepted_total"] and len(groups) == 2
    assert abs(len(groups[0]["members"]) - len(groups[1]["members"])) <= 1
    assert [sum(m["organisation"] == org for m in g["members"]) for g in groups] == [1, 1]
    assert all("@" not in str(m) for m in members)  # no contact data, names only
    assert "Gruppe 1" in editor(stack, staff) and org in editor(stack, staff)
    assert http.get(stack.url("agenda", "/api/v1/workshops/tf2-ws2/breakout-groups")).status_code == 401


def test_finalised_selection_forms_the_groups(stack, http):
    event = make_event("selection.finalized", subject="agenda-test-forum", source="test",
                       data=SelectionFinalized(forum_id="agenda-test-forum", accepted={"tf2-ws3": 0, "unknown-ws": 0}))
    produce(stack.bootstrap, "forum.selection", [(b"agenda-test-forum", encode(event))])
    groups = eventually(lambda: (g := http.get(stack.url("agenda", "/api/v1/workshops/tf2-ws3/breakout-groups"),
                                               headers=stack.auth)).status_code == 200 and g.json())
    assert groups["trigger"] == "selection.finalized" and groups["workshop_id"] == "tf2-ws3"


def test_an_erasure_request_removes_the_persons_name_and_organisation(stack, http, mongo):
    body = person(preferences=["tf2-ws1"])
    reg = http.post(stack.url("registration", "/api/v1/registrations"), json=body).json()
    people = mongo["themenforum_agenda"].people
    doc = eventually(lambda: people.find_one({"_id": reg["id"]}))
    # Kept sealed as the event carried them (data version 2): no clear name or organisation in the store.
    assert doc["organisation"].startswith("pii:v1:") and doc["first_name"].startswith("pii:v1:")
    assert body["organisation"] not in str(doc) and body["last_name"] not in str(doc)
    request = make_event("participant.erasure_requested", subject=doc["participant_id"], source="test",
                         data=ParticipantErasureRequested(participant_id=doc["participant_id"]))
    produce(stack.bootstrap, "forum.participants", [(doc["participant_id"].encode(), encode(request))])
    eventually(lambda: people.find_one({"_id": reg["id"]}) is None)
    erased = lambda ms: [e for e in events(ms) if e["type"] == "participant.erased"  # noqa: E731
                         and e["data"] == {"participant_id": doc["participant_id"], "service": "agenda"}]
    assert erased(read_topic(stack.bootstrap, "forum.participants", until=erased))
