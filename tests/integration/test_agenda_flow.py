"""The agenda service against the real servers: conflicts from selection, publishing with diffs, ICS."""

from __future__ import annotations

import uuid

import icalendar
from pymongo import AsyncMongoClient

from services.agenda.service import load, load_many
from shared.testing import eventually
from tests.conftest import person
from tests.integration.selection_support import seeded_copy
from tests.kafka import events, read_topic

FORUM = "themenforum-2"


def draft(stack, http):
    answer = http.get(stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/draft"), headers=stack.auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


def agenda_events(stack, until=None):
    return events(read_topic(stack.bootstrap, "forum.agenda", until=until, timeout=20 if until else 3))


def publish(stack, http):
    answer = http.post(stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/publish"), headers=stack.auth)
    assert answer.status_code == 200, answer.text
    return answer.json()["published"]


def latest_version(stack, http, workshop_id):
    answer = http.get(stack.url("agenda", f"/api/v1/workshops/{workshop_id}/agenda"))
    return answer.json()["version"] if answer.status_code == 200 else 0


def structural(conflicts):
    """Conflicts of the agenda itself (room sizes depend on how many people other tests registered)."""
    return [c for c in conflicts if c["kind"] != "room_too_small"]


def test_the_seeded_day_of_themenforum_2_is_a_conflict_free_draft(stack, http):
    def seeded():
        d = draft(stack, http)
        return len(d["items"]) >= 22 and structural(d["conflicts"]) == [] and d
    d = eventually(seeded)
    kinds = {i["kind"] for i in d["items"]}
    assert {"plenary", "results", "input", "working_phase", "break"} <= kinds
    plenary = [i for i in d["items"] if i["workshop_id"] is None]
    assert {"tf2-opening", "tf2-closing"} <= {i["item_id"] for i in plenary}
    assert {i["workshop_id"] for i in d["items"]} == {None, "tf2-ws1", "tf2-ws2", "tf2-ws3"}
    assert {r["room_id"]: r["capacity"] for r in d["rooms"]}["plenarsaal"] == 120


ROOMS = {"tf2-ws1": ("raum-emscher", "Raum Emscher"), "tf2-ws2": ("raum-ruhr", "Raum Ruhr"), "tf2-ws3": ("raum-lippe", "Raum Lippe")}


def test_accepted_people_outgrowing_a_room_raise_a_conflict_without_an_agenda_edit(stack, http, staff):
    # The workshop with the most free seats, and the two actor groups with the most room in their quotas.
    workshops = http.get(stack.url("registration", "/api/v1/workshops")).json()
    ws = max(workshops, key=lambda w: w["seats"] - sum(w["accepted"].values()))
    groups = sorted(ws["quotas"], key=lambda g: ws["accepted"].get(g, 0) - ws["quotas"][g]["max"])[:2]
    room_id, name = ROOMS[ws["id"]]
    participation = http.get(stack.url("agenda", f"/api/v1/workshops/{ws['id']}/participation"), headers=stack.auth).json()
    capacity = participation["accepted_total"] + 1
    room = {"name": name, "capacity": capacity}
    assert http.put(stack.url("agenda", f"/api/v1/fora/{FORUM}/rooms/{room_id}"), json=room, headers=stack.auth).status_code == 200
    too_small_now = [c for c in draft(stack, http)["conflicts"] if c["detail"] == room_id]
    assert too_small_now == []  # the room still holds everyone accepted so far

    for group in groups:
        body = person(preferences=[ws["id"]], actor_group=group, organisation=f"Testfirma {uuid.uuid4().hex[:8]}")
        assert http.post(stack.url("registration", "/api/v1/registrations"), json=body).status_code == 202

    def too_small(evs):
        return [e for e in evs if e["type"] == "agenda.conflict_detected" and e["subject"] == ws["id"]
                and any(c["kind"] == "room_too_small" and c["detail"] == room_id for c in e["data"]["conflicts"])]
    found = too_small(agenda_events(stack, until=lambda ms: too_small(events(ms))))
    conflict = next(c for c in found[-1]["data"]["conflicts"] if c["kind"] == "room_too_small")
    assert f"fasst {capacity} Personen" in conflict["message"] and conflict["workshop_ids"] == [ws["id"]]
    assert set(conflict["item_ids"]) <= {f"{ws['id']}-{k}" for k in ("input", "phase-1", "phase-2", "phase-3")}

    page = staff.get(stack.url("agenda", f"/staff/agenda/{FORUM}"))
    assert page.status_code == 200 and "Raum zu klein" in page.text and f"fasst {capacity} Personen" in page.text

    # The room is made big enough again: the set of conflicts changes once more.
    room["capacity"] = 32
    http.put(stack.url("agenda", f"/api/v1/fora/{FORUM}/rooms/{room_id}"), json=room, headers=stack.auth)
    cleared = lambda evs: [e for e in evs if e["type"] == "agenda.conflict_detected" and e["subject"] == ws["id"]  # noqa: E731
                           and e["time"] > found[-1]["time"] and not any(c["detail"] == room_id for c in e["data"]["conflicts"])]
    assert cleared(agenda_events(stack, until=lambda ms: cleared(events(ms))))


def test_publishing_emits_exactly_the_changed_items_and_keeps_earlier_versions(stack, http):
    eventually(lambda: len(draft(stack, http)["items"]) >= 22)
    publish(stack, http)
    before = {w: latest_version(stack, http, w) for w in ("tf2-ws1", "tf2-ws2", "tf2-ws3")}
    assert all(v >= 1 for v in before.values())
    old = http.get(stack.url("agenda", "/api/v1/workshops/tf2-ws2/agenda")).json()

    items = {i["item_id"]: i for i in draft(stack, http)["items"]}
    changed = {k: items["tf2-ws2-phase-2"][k] for k in ("workshop_id", "starts_at", "ends_at", "kind", "room", "moderators", "description")}
    changed["title"] = "Arbeitsphase 2: Transferformate entwerfen"
    url = stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/items/tf2-ws2-phase-2")
    assert http.put(url, json=changed, headers=stack.auth).status_code == 200
    coffee = items["tf2-ws2-coffee"]
    assert http.delete(stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/items/tf2-ws2-coffee"), headers=stack.auth).status_code == 204
    added = http.post(stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/items"), headers=stack.auth, json={
        "workshop_id": "tf2-ws2", "starts_at": coffee["starts_at"], "ends_at": coffee["ends_at"],
        "title": "Kaffeepause am Posterwand", "kind": "break"}).json()["item"]

    changes = http.get(stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/changes"), headers=stack.auth).json()
    assert [c["workshop_id"] for c in changes if c["changed"]] == ["tf2-ws2"]
    published = publish(stack, http)
    assert [(p["workshop_id"], p["version"]) for p in published] == [("tf2-ws2", before["tf2-ws2"] + 1)]

    def updated(evs):
        return [e for e in evs if e["type"] == "agenda.updated" and e["subject"] == "tf2-ws2"
                and e["data"]["version"] == before["tf2-ws2"] + 1]
    event = updated(agenda_events(stack, until=lambda ms: updated(events(ms))))[0]
    diff = event["data"]["diff"]
    assert [i["item_id"] for i in diff["added"]] == [added["item_id"]]
    assert [i["item_id"] for i in diff["removed"]] == ["tf2-ws2-coffee"]
    assert diff["changed"] == [{"item_id": "tf2-ws2-phase-2", "title": changed["title"],
                                "before": {"title": "Arbeitsphase 2: Formate für gemeinsame Projekte"},
                                "after": {"title": changed["title"]}}]
    others = [e for e in agenda_events(stack) if e["type"] in ("agenda.updated", "agenda.published")
              and e["subject"] in ("tf2-ws1", "tf2-ws3") and e["data"]["version"] > before[e["subject"]]]
    assert others == []
    # Publishing again changes nothing; the earlier version stays readable.
    assert publish(stack, http) == []
    again = http.get(stack.url("agenda", "/api/v1/workshops/tf2-ws2/agenda"), params={"version": old["version"]}).json()
    assert again["items"] == old["items"]


def test_the_calendar_round_trips_with_stable_uids_and_rising_sequence(stack, http):
    eventually(lambda: len(draft(stack, http)["items"]) >= 22)
    publish(stack, http)

    def calendar():
        answer = http.get(stack.url("agenda", "/api/v1/workshops/tf2-ws3/agenda.ics"))
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
        parsed = icalendar.Calendar.from_ical(answer.content)
        return {str(e["UID"]): e for e in parsed.walk("VEVENT")}, parsed

    first, parsed = calendar()
    version = latest_version(stack, http, "tf2-ws3")
    assert len(first) >= 8 and "tf2-opening@agenda.themenforum" in first
    assert {int(e["SEQUENCE"]) for e in first.values()} == {version}
    assert [tz["TZID"] for tz in parsed.walk("VTIMEZONE")] == ["Europe/Berlin"]
    opening = first["tf2-opening@agenda.themenforum"]
    assert opening["DTSTART"].params["TZID"] == "Europe/Berlin" and opening.decoded("DTSTART").hour == 9

    url = stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/items/tf2-ws3-phase-3/move")
    assert http.post(url, json={"minutes": 5}, headers=stack.auth).status_code == 200
    publish(stack, http)
    second, _ = calendar()
    assert set(second) == set(first)  # the same items: calendar clients update instead of duplicating
    assert {int(e["SEQUENCE"]) for e in second.values()} == {version + 1}
    moved = second["tf2-ws3-phase-3@agenda.themenforum"]
    assert moved.decoded("DTSTART") - first["tf2-ws3-phase-3@agenda.themenforum"].decoded("DTSTART") == __import__("datetime").timedelta(minutes=5)
    http.post(url, json={"minutes": -5}, headers=stack.auth)


def test_bad_items_get_422_naming_the_field(stack, http):
    base = {"workshop_id": "tf2-ws1", "starts_at": "2027-03-25T10:00", "ends_at": "2027-03-25T09:00", "title": "X"}
    url = stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/items")
    answer = http.post(url, json=base, headers=stack.auth)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "ends_at"
    answer = http.post(url, json={**base, "ends_at": "2027-03-25T11:00", "room": "keller"}, headers=stack.auth)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "room"
    answer = http.post(url, json={**base, "ends_at": "2027-03-25T11:00", "workshop_id": "tf9-ws1"}, headers=stack.auth)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "workshop_id"
    assert http.post(url, json={**base, "ends_at": "2027-03-25T11:00"}).status_code == 401
    assert http.post(stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/publish")).status_code == 401
    assert http.get(stack.url("agenda", "/api/v1/workshops/tf9-ws9/agenda")).status_code == 404


async def test_several_fora_read_together_are_each_read_as_on_their_own(stack, http, mongo):
    """The agenda service checks all fora of a consumed batch from one read per collection (`load_many`).
    Against the running service's store, each forum's agenda read that way (workshops, rooms, items,
    accepted counts) and its conflicts equal those read for that forum alone, for the seeded forum, a copy
    with other workshops, and a forum the agenda never heard of."""
    copy, workshops = seeded_copy(stack, http)
    eventually(lambda: mongo["themenforum_agenda"].catalogue_workshops.count_documents({"forum_id": copy}) == len(workshops),
               timeout=30)
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
    try:
        db = client["themenforum_agenda"]
        fora = [FORUM, copy, f"unknown-{uuid.uuid4().hex[:6]}"]
        together = await load_many(db, fora)
        assert sorted(together) == sorted(fora)
        for forum_id in fora:
            alone = await load(db, forum_id)
            assert together[forum_id] == alone, forum_id
            assert together[forum_id].conflicts() == alone.conflicts(), forum_id
        assert {w["_id"] for w in together[copy].workshops} == set(workshops)
        assert together[FORUM].items and not {w["_id"] for w in together[FORUM].workshops} & set(workshops)
        assert together[fora[2]].workshops == [] and together[fora[2]].items == []
    finally:
        await client.close()
