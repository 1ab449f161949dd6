"""One notify poll holding a person's mails and then their erasure, against the real store.

The notify handler queues a poll's acknowledgements and decision mails together, but the outcome
must be the one of handling the events one by one, in order: the mails before the erasure are
queued, then the erasure fails them and takes their address and context; a mail caused after it
is never queued. (Queued only at the end of the poll, the earlier mails would vanish from the
delivery log instead: no mail goes out either way, but the log would not show what was dropped.)
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pymongo import AsyncMongoClient

from services.notify.handlers import _dispatch
from shared.events import make_event
from shared.events.participants import ParticipantErasureRequested
from shared.events.registrations import RegistrationSubmitted
from shared.events.selection import SelectionDecided
from shared.testing import off_bus_unit

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _submitted(n: int) -> RegistrationSubmitted:
    return RegistrationSubmitted(registration_id=f"r{n}", forum_id="f", participant_id=f"p{n}", first_name="Ada",
                                 last_name="Test", email=f"ada{n}@example.org", organisation="Test GmbH",
                                 actor_group="company", municipality="Essen", preferences=["f-ws1"], consent_version="1",
                                 submitted_at=NOW)


def _decided(n: int, status: str, seq: int) -> SelectionDecided:
    return SelectionDecided(registration_id=f"r{n}", forum_id="f", participant_id=f"p{n}", status=status,
                            workshop_id="f-ws1" if status != "cancelled" else None, actor_group="company",
                            decision_seq=seq)


async def test_mails_earlier_in_the_poll_than_an_erasure_are_dropped_by_it_and_later_ones_never_queued(stack):
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
    db = client[f"order{uuid.uuid4().hex[:8]}"]
    try:
        uow = off_bus_unit(client, db)
        events = [
            make_event("registration.submitted", subject="r1", source="test", data=_submitted(1)),
            make_event("selection.decided", subject="r1", source="test", data=_decided(1, "accepted", 1)),
            make_event("participant.erasure_requested", subject="p1", source="test",
                       data=ParticipantErasureRequested(participant_id="p1")),
            make_event("registration.submitted", subject="r2", source="test", data=_submitted(2)),
            # The cancellation the erasure causes arrives after it: no mail, no address.
            make_event("selection.decided", subject="r1", source="test", data=_decided(1, "cancelled", 2)),
        ]
        await _dispatch([(event, uow) for event in events])

        erased = {d["template"]: d async for d in db.deliveries.find({"recipient_id": "p1"})}
        assert set(erased) == {"acknowledgement", "accepted"}, erased  # nothing queued for the later cancellation
        for template, delivery in erased.items():
            assert (delivery["status"], delivery["last_error"], delivery["to"]) == ("failed", "erased", None), template
        assert await db.recipients.find_one({"_id": "p1"}) is None
        other = [(d["template"], d["status"], d["to"]) async for d in db.deliveries.find({"recipient_id": "p2"})]
        assert other == [("acknowledgement", "pending", "ada2@example.org")]
    finally:
        await client.drop_database(db.name)
        await client.close()
