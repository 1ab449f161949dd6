"""Agenda's handler takes a poll's registrations and decisions in one call, against the real store.

One call per poll must end where handling the events one by one ends: the same demand and
accepted counts per workshop and actor group, the same people kept, a repeated or older decision
changing nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pymongo import AsyncMongoClient

from services.agenda.handlers import on_people_and_decisions
from shared.events import make_event
from shared.events.registrations import RegistrationSubmitted
from shared.events.selection import SelectionDecided
from shared.testing import off_bus_unit

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _poll() -> list:
    def submitted(n: int, first: str, group: str):
        return make_event("registration.submitted", subject=f"r{n}", source="test", data=RegistrationSubmitted(
            registration_id=f"r{n}", forum_id="f", participant_id=f"p{n}", first_name="Ada", last_name="Test",
            email=f"ada{n}@example.org", organisation=f"Org {n}", actor_group=group, municipality="Essen",
            preferences=[first, "f-ws3"], consent_version="1", submitted_at=NOW))

    def decided(n: int, status: str, workshop: str | None, group: str, seq: int):
        return make_event("selection.decided", subject=f"r{n}", source="test", data=SelectionDecided(
            registration_id=f"r{n}", forum_id="f", participant_id=f"p{n}", status=status, workshop_id=workshop,
            actor_group=group, decision_seq=seq))

    return [submitted(1, "f-ws1", "company"), submitted(2, "f-ws1", "research"),
            decided(1, "accepted", "f-ws1", "company", 1), submitted(3, "f-ws2", "company"),
            decided(2, "accepted", "f-ws1", "research", 1), decided(3, "waitlisted", "f-ws2", "company", 1),
            decided(1, "accepted", "f-ws2", "company", 2),  # moved: ws1 loses one, ws2 gains one
            decided(1, "accepted", "f-ws1", "company", 1),  # the older decision again: nothing
            decided(2, "cancelled", None, "research", 2)]


async def _state(db) -> tuple[list, list]:
    participation = [d async for d in db.participation.find({}, {"_id": 1, "registered_first_choice": 1, "accepted_total": 1,
                                                                  "accepted_by_group": 1}).sort("_id")]
    people = [d async for d in db.people.find({}, {"_id": 1, "organisation": 1}).sort("_id")]
    return participation, people


async def test_a_poll_in_one_call_ends_where_one_by_one_ends(stack):
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
    together, apart = (client[f"agenda{uuid.uuid4().hex[:8]}"] for _ in range(2))
    try:
        events = _poll()
        uow = off_bus_unit(client, together)
        await on_people_and_decisions([(event, uow) for event in events])
        for event in events:
            one = off_bus_unit(client, apart, cause=f"event:{event.id}")
            await on_people_and_decisions([(event, one)])

        participation, people = await _state(together)
        assert (participation, people) == await _state(apart)
        assert participation == [
            {"_id": "f-ws1", "registered_first_choice": 2, "accepted_total": 0,
             "accepted_by_group": {"company": 0, "research": 0}},
            {"_id": "f-ws2", "registered_first_choice": 1, "accepted_total": 1, "accepted_by_group": {"company": 1}},
        ]
        assert [p["organisation"] for p in people] == ["Org 1", "Org 2", "Org 3"]
    finally:
        for db in (together, apart):
            await client.drop_database(db.name)
        await client.close()
