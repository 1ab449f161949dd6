"""Selection against the real servers: quotas, waiting lists that refill by group, overrides, batch runs."""

from __future__ import annotations

from shared.testing import eventually
from tests.integration.selection_support import decided, make_forum, register, status_of
from tests.kafka import events, read_topic

MUNI = {"actor_group": "municipality"}
COMPANY = {"actor_group": "company"}


def decisions_for(stack, ids, count):
    """`forum.selection` events for these registrations, once at least `count` arrived."""
    wanted = set(ids)

    def unique(ms):  # a relay may publish an event twice; consumers dedupe by id, so do we
        return list({e["id"]: e for e in events(ms) if e.get("subject") in wanted}.values())

    return unique(read_topic(stack.bootstrap, "forum.selection", until=lambda ms: len(unique(ms)) >= count))


def test_a_full_group_waitlists_with_a_german_explanation_and_a_cancellation_moves_that_group_up(stack, http):
    forum, (ws,) = make_forum(stack, http, [{"seats": 4, "quotas": {"municipality": {"min": 0, "max": 2},
                                                                     "company": {"min": 0, "max": 4}}}])
    a, b = (register(stack, http, forum, [ws], **MUNI) for _ in range(2))
    assert decided(http, a)["status"] == "accepted" and decided(http, b)["status"] == "accepted"
    c = register(stack, http, forum, [ws], **MUNI)
    d = register(stack, http, forum, [ws], **COMPANY)
    e = register(stack, http, forum, [ws], **MUNI)
    waiting = decided(http, c)
    assert waiting["status"] == "waitlisted" and waiting["reasons"] == ["group_full"]
    assert waiting["explanation"] == ("Workshop 1 ist für die Gruppe Kommunen und Verwaltung ausgebucht; "
                                      "Sie stehen auf Platz 1 der Warteliste.")
    assert decided(http, d)["status"] == "accepted"
    assert decided(http, e)["waitlist_position"] == 2

    cancel = http.post(a["status_url"].replace(f"/{a['id']}?", f"/{a['id']}/cancel?"))
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    moved = eventually(lambda: (s := http.get(c["status_url"]).json())["status"] == "accepted" and s)
    assert moved["reasons"] == ["moved_up_same_group"] and "nachgerückt" in moved["explanation"]
    assert eventually(lambda: http.get(e["status_url"]).json()["waitlist_position"] == 1)

    fill = next(w for w in http.get(stack.url("registration", "/api/v1/workshops"), params={"forum_id": forum}).json())
    assert fill["accepted"] == {**fill["accepted"], "municipality": 2, "company": 1}
    seen = decisions_for(stack, [a["id"], c["id"]], 4)
    assert [(x["subject"], x["data"]["status"]) for x in seen if x["subject"] == a["id"]] == [(a["id"], "accepted"), (a["id"], "cancelled")]
    assert [x["data"]["status"] for x in seen if x["subject"] == c["id"]] == ["waitlisted", "accepted"]


def test_the_organisation_cap_and_lower_preferences(stack, http):
    forum, (w1, w2) = make_forum(stack, http, [{"seats": 10, "organisation_cap": 1}, {"seats": 10, "organisation_cap": 1}])
    same_org = {"organisation": "Beispiel AG", "actor_group": "company"}
    first = decided(http, register(stack, http, forum, [w1, w2], **same_org))
    second = decided(http, register(stack, http, forum, [w1, w2], **same_org))
    third = decided(http, register(stack, http, forum, [w1, w2], **{**same_org, "organisation": "beispiel ag"}))
    assert (first["status"], first["workshop_id"]) == ("accepted", w1)
    assert (second["status"], second["workshop_id"], second["reasons"]) == ("accepted", w2, ["organisation_cap", "placed_in_lower_preference"])
    assert "Ihr 2. Wunsch" in second["explanation"] and "Höchstzahl" in second["explanation"]
    assert third["status"] == "waitlisted" and third["reasons"] == ["organisation_cap", "organisation_cap"]


def test_staff_overrides_name_the_staff_member_keep_limits_and_refill_on_rejection(stack, http):
    forum, (w1, w2) = make_forum(stack, http, [{"seats": 1}, {"seats": 1}])
    a = register(stack, http, forum, [w1])
    b = register(stack, http, forum, [w1])
    assert decided(http, a)["status"] == "accepted" and decided(http, b)["status"] == "waitlisted"
    url = lambda r: stack.url("registration", f"/api/v1/registrations/{r['id']}/override")  # noqa: E731
    assert http.post(url(b), json={"action": "accept", "workshop_id": w1}, headers=stack.auth).status_code == 409
    assert http.post(url(b), json={"action": "accept"}).status_code == 401
    assert http.post(url(b), json={"action": "promote"}, headers=stack.auth).status_code == 422

    rejected = http.post(url(a), json={"action": "reject", "note": "Absage per Telefon"}, headers=stack.auth)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert eventually(lambda: status_of(stack, http, b["id"])["status"] == "accepted")
    moved = http.post(url(b), json={"action": "move", "workshop_id": w2}, headers=stack.auth)
    assert moved.json() == {"id": b["id"], "status": "accepted", "workshop_id": w2}
    seen = decisions_for(stack, [a["id"], b["id"]], 5)
    overrides = [x for x in seen if x["type"] == "selection.overridden"]
    assert sorted((x["subject"], x["data"]["action"], x["data"]["staff_member"]) for x in overrides) == sorted(
        [(a["id"], "reject", "bootstrap-admin"), (b["id"], "move", "bootstrap-admin")])
    fills = {w["id"]: w["accepted_total"] for w in http.get(stack.url("registration", "/api/v1/workshops"), params={"forum_id": forum}).json()}
    assert fills == {w1: 0, w2: 1}
    assert [x["data"]["decision_seq"] for x in seen if x["subject"] == b["id"]] == [1, 2, 3]


def test_batch_mode_dry_run_then_publish_with_recorded_seed_and_overrides_that_survive(stack, http):
    quotas = {"research": {"min": 1, "max": 2}, "company": {"min": 0, "max": 2}}
    forum, (w1, w2) = make_forum(stack, http, [{"seats": 3, "quotas": quotas}, {"seats": 3, "quotas": quotas}], mode="batch")
    people = [register(stack, http, forum, [w1, w2], actor_group="company", organisation=f"Firma {i}") for i in range(5)]
    people.append(register(stack, http, forum, [w2, w1], actor_group="research", organisation="Uni"))
    fixed = people[0]
    assert http.get(fixed["status_url"]).json()["status"] == "received"  # batch mode: nothing decided before the run
    override = http.post(stack.url("registration", f"/api/v1/registrations/{fixed['id']}/override"),
                         json={"action": "move", "workshop_id": w2}, headers=stack.auth)
    assert override.status_code == 200

    run = http.post(stack.url("registration", f"/api/v1/fora/{forum}/selection/dry-run"), json={"seed": 7}, headers=stack.auth).json()
    assert run["seed"] == 7 and run["applicants"] == 6 and run["optimality_gap"] == 0
    placed = {p["registration_id"]: p["workshop_id"] for p in run["people"]}
    assert placed[fixed["id"]] == w2
    assert sum(1 for w in placed.values() if w) == 5  # two companies per workshop plus the researcher
    assert run["fill"][w1]["by_group"].get("company", 0) <= 2 and run["fill"][w2]["by_group"].get("research") == 1
    assert http.get(people[1]["status_url"]).json()["status"] == "received"  # a dry run decides nothing

    again = http.post(stack.url("registration", f"/api/v1/fora/{forum}/selection/dry-run"), json={"seed": 7}, headers=stack.auth).json()
    assert {p["registration_id"]: p["workshop_id"] for p in again["people"]} == placed

    published = http.post(stack.url("registration", f"/api/v1/selection/runs/{run['run_id']}/publish"), headers=stack.auth)
    assert published.status_code == 200 and published.json()["seed"] == 7
    assert http.post(stack.url("registration", f"/api/v1/selection/runs/{run['run_id']}/publish"), headers=stack.auth).status_code == 409
    outcomes = [http.get(p["status_url"]).json() for p in people]
    assert sorted(o["status"] for o in outcomes) == ["accepted"] * 5 + ["waitlisted"]
    loser = next(o for o in outcomes if o["status"] == "waitlisted")
    assert "Platz 1 der Warteliste" in loser["explanation"] and loser["reasons"]
    finalized = read_topic(stack.bootstrap, "forum.selection",
                           until=lambda ms: any(e["type"] == "selection.finalized" and e["subject"] == forum for e in events(ms)))
    final = next(e for e in events(finalized) if e["type"] == "selection.finalized" and e["subject"] == forum)
    assert final["data"]["lottery_seed"] == 7 and sum(final["data"]["accepted"].values()) == 5


def test_a_second_submission_and_a_near_duplicate_are_handled_and_flagged(stack, http):
    forum, (ws,) = make_forum(stack, http, [{"seats": 5}])
    first = register(stack, http, forum, [ws], first_name="Jürgen", last_name="Müller", organisation="Stadt Herne")
    near = register(stack, http, forum, [ws], first_name="Juergen", last_name="Mueller", organisation="Stadt  Herne")
    view = http.get(stack.url("registration", f"/api/v1/fora/{forum}/selection"), headers=stack.auth).json()
    assert [(d["id"], d["near_duplicate_of"]) for d in view["near_duplicates"]] == [(near["id"], [first["id"]])]
    assert decided(http, near)["status"] == "accepted"  # flagged for staff, not merged or refused
