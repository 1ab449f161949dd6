"""Reporting projections from a recorded event sequence, folded in memory with the live rules."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import encode, make_event
from shared.events.agenda import AgendaItemData, AgendaPublished, AgendaConflictDetected, Conflict
from shared.events.catalogue import ForumConfigured, WorkshopConfigured
from shared.events.notifications import NotificationFailed, NotificationSent
from shared.events.registrations import RegistrationSubmitted
from shared.events.results import IdeaCaptured, ResultFinalized, SketchSubmitted, VoteCast
from shared.events.selection import SelectionDecided
from services.results.domain import rank_sketches, selection_figures, summarise_participation
from services.results.projection import Op, apply_update
from services.results.rebuild import fold

T0 = datetime(2027, 3, 25, 9, tzinfo=UTC)


def ev(type_, subject, data, n=[0]):  # noqa: B006 - a counter for distinct ids
    n[0] += 1
    return encode(make_event(type_, subject=subject, data=data, source="test", event_id=f"e{n[0]}"))


def person(i, group="company", town="Essen", prefs=("ws1", "ws2")):
    return RegistrationSubmitted(registration_id=f"r{i}", forum_id="f", participant_id=f"p{i}", first_name="A", last_name="B",
                                 email=f"a{i}@example.org", organisation="O", actor_group=group, municipality=town,
                                 preferences=list(prefs), consent_version="1", submitted_at=T0)


def decision(i, status, ws, seq, group="company", town="Essen", first=True):
    return SelectionDecided(registration_id=f"r{i}", forum_id="f", participant_id=f"p{i}", status=status, workshop_id=ws,
                            actor_group=group, municipality=town, first_choice=first, decision_seq=seq)


def recorded() -> list[bytes]:
    """Two workshops, four people, a waiting-list move, an agenda, ideas, a sketch, votes, deliveries."""
    item = AgendaItemData(item_id="i1", workshop_id="ws1", starts_at=T0, ends_at=T0 + timedelta(hours=1), title="Begrüßung", kind="welcome")
    return [
        ev("forum.configured", "f", ForumConfigured(forum_id="f", title="Forum")),
        ev("workshop.configured", "f", WorkshopConfigured(workshop_id="ws1", forum_id="f", number=1, title="Eins", seats=2)),
        ev("workshop.configured", "f", WorkshopConfigured(workshop_id="ws2", forum_id="f", number=2, title="Zwei", seats=2)),
        ev("registration.submitted", "r1", person(1)),
        ev("registration.submitted", "r2", person(2, "research", "Bochum")),
        ev("registration.submitted", "r3", person(3, prefs=("ws2",))),
        ev("registration.submitted", "r4", person(4, "municipality", "Herne")),
        ev("selection.decided", "r1", decision(1, "accepted", "ws1", 1)),
        ev("selection.decided", "r2", decision(2, "accepted", "ws1", 1, "research", "Bochum")),
        ev("selection.decided", "r3", decision(3, "accepted", "ws2", 1)),
        ev("selection.decided", "r4", decision(4, "waitlisted", "ws1", 1, "municipality", "Herne")),
        ev("selection.decided", "r1", decision(1, "cancelled", "ws1", 2)),
        ev("selection.decided", "r4", decision(4, "accepted", "ws1", 2, "municipality", "Herne")),
        ev("selection.decided", "r1", decision(1, "accepted", "ws1", 1)),  # a stale replay: ignored
        ev("agenda.published", "ws1", AgendaPublished(workshop_id="ws1", forum_id="f", version=1, items=[item])),
        ev("agenda.conflict_detected", "ws1", AgendaConflictDetected(workshop_id="ws1", forum_id="f", conflicts=[
            Conflict(kind="room_too_small", message="Raum zu klein")])),
        ev("result.idea_captured", "ws1", IdeaCaptured(idea_id="i1", workshop_id="ws1", forum_id="f", title="Lotsen")),
        ev("result.idea_captured", "ws1", IdeaCaptured(idea_id="i1", workshop_id="ws1", forum_id="f", title="Förderlotsen", cluster="Beratung", revision=2)),
        ev("result.idea_captured", "ws1", IdeaCaptured(idea_id="i2", workshop_id="ws1", forum_id="f", title="Portal")),
        ev("result.sketch_submitted", "ws1", SketchSubmitted(sketch_id="s1", workshop_id="ws1", forum_id="f", title="Lotsennetz", idea_ids=["i1"])),
        ev("result.vote_cast", "ws1", VoteCast(vote_id="v1", workshop_id="ws1", forum_id="f", voter_id="x", target_id="s1", dots=2)),
        ev("result.vote_cast", "ws1", VoteCast(vote_id="v2", workshop_id="ws1", forum_id="f", voter_id="y", target_id="s1", dots=1)),
        ev("result.finalized", "ws1", ResultFinalized(workshop_id="ws1", forum_id="f", version=1, ideas=2, sketches=1, votes=2)),
        ev("notification.sent", "p1", NotificationSent(notification_id="n1", recipient_id="p1", template="t", cause_event_id="e", forum_id="f", sent_at=T0)),
        ev("notification.failed", "p2", NotificationFailed(notification_id="n2", recipient_id="p2", template="t", cause_event_id="e",
                                                          forum_id="f", attempts=3, error="550 no such user b@example.org")),
    ]


def folded(values):
    return asyncio.run(fold(values)).collections


def test_a_recorded_sequence_gives_the_expected_participation_and_selection_figures():
    c = folded(recorded())
    summary = summarise_participation(list(c["reporting_participation"].values()))
    assert summary["registered"] == 4 and summary["accepted"] == 3
    assert summary["by_workshop"]["ws1"] == {"registered": 3, "accepted": 2}
    assert summary["by_actor_group"]["municipality"]["accepted"] == 1
    assert summary["by_municipality"]["Essen"] == {"registered": 2, "accepted": 1}
    stats = selection_figures(list(c["reporting_selection"].values()))
    assert stats["accepted"] == 3 and stats["waitlisted"] == 0 and stats["cancelled"] == 1
    assert stats["waitlist_moves"] == 1 and stats["first_choice_rate"] == 1.0
    assert c["reporting_forum"]["f"]["registrations"] == 4


def test_results_agenda_and_deliveries_are_projected_without_personal_data():
    c = folded(recorded())
    assert c["reporting_ideas"]["i1"]["title"] == "Förderlotsen" and c["reporting_ideas"]["i1"]["cluster"] == "Beratung"
    assert c["reporting_votes"]["s1"]["dots"] == 3 and sorted(c["reporting_votes"]["s1"]["voters"]) == ["x", "y"]
    assert c["reporting_results"]["ws1"]["version"] == 1
    assert c["reporting_agenda"]["ws1|1"]["items"][0]["title"] == "Begrüßung"
    assert c["reporting_conflicts"]["ws1"]["conflicts"][0]["kind"] == "room_too_small"
    assert c["reporting_deliveries"]["f|t"] == {"_id": "f|t", "sent": 1, "failed": 1, "forum_id": "f", "template": "t"}
    failure = c["reporting_delivery_failures"]["n2"]
    assert "example.org" not in failure["error"] and "<adresse>" in failure["error"]
    assert "a1@example.org" not in str(c)


def test_replayed_events_are_applied_once():
    values = recorded()
    assert folded(values + values) == folded(values)


@settings(max_examples=30, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_figures_do_not_depend_on_how_partitions_interleave(rnd):
    """Events of one key keep their order (one partition); different keys may interleave freely."""
    from shared.events import decode

    values = recorded()
    by_key: dict[str, list[bytes]] = {}
    for v in values:
        by_key.setdefault(decode(v).subject, []).append(v)
    queues = [list(q) for q in by_key.values()]
    shuffled = []
    while any(queues):
        q = rnd.choice([q for q in queues if q])
        shuffled.append(q.pop(0))
    assert folded(shuffled) == folded(values)


def test_the_in_memory_update_behaves_like_a_mongodb_upsert():
    op = Op("c", "k", {"$inc": {"n": 2}, "$setOnInsert": {"a": 1}, "$addToSet": {"s": "x"}})
    doc = apply_update(None, op)
    assert doc == {"_id": "k", "n": 2, "a": 1, "s": ["x"]}
    again = apply_update({**doc, "a": 5}, op)
    assert again == {"_id": "k", "n": 4, "a": 5, "s": ["x"]}


def test_sketches_rank_by_dots_then_title():
    sketches = [{"sketch_id": "a", "title": "Beta"}, {"sketch_id": "b", "title": "alpha"}, {"sketch_id": "c", "title": "Gamma"}]
    ranked = rank_sketches(sketches, {"c": {"dots": 4, "voters": ["x", "y"]}, "a": {"dots": 1, "voters": ["x"]}})
    assert [s["sketch_id"] for s in ranked] == ["c", "a", "b"] and ranked[0]["voters"] == 2


OPS = st.builds(lambda k, n, v, s: Op("c", k, {"$inc": {"n": n}, "$setOnInsert": {"first": v}, "$addToSet": {"voters": v},
                                              **({"$set": {"last": v}} if s else {})}),
                st.sampled_from("abc"), st.integers(-3, 3), st.sampled_from(["x", "y", "z", "w"]), st.booleans())


@given(st.lists(OPS, max_size=40))
@settings(max_examples=200, deadline=None)
def test_the_rebuilds_in_place_updates_equal_applying_each_update_to_a_copy(ops):
    from services.results.projector import MemoryView

    view, expected = MemoryView(), {}
    for op in ops:
        asyncio.run(view.apply([op]))
        expected[op.id] = apply_update(expected.get(op.id), op)
    assert view.collections.get("c", {}) == expected
