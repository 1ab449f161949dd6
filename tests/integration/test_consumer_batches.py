"""How a polled batch reaches the handlers, against the real store: one call per run of a type, or one per poll."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from pymongo import AsyncMongoClient

from shared import topics
from shared.consumer import Batch, EventConsumer
from shared.events import encode, make_event
from shared.events.participants import ParticipantErased, ParticipantErasureRequested
from shared.store import UnitOfWork
from shared.testing import off_bus_outbox


@pytest.fixture
async def env(stack):
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
    db = client[f"batches{uuid.uuid4().hex[:8]}"]
    outbox = off_bus_outbox(db, mark_delay_s=0.01)
    await outbox.ensure_indexes()
    yield client, db, outbox
    await client.drop_database(db.name)
    await client.close()


def _consumer(env, calls: list[list[str]], *, mixed: bool) -> EventConsumer:
    client, db, outbox = env
    consumer = EventConsumer()

    async def fold(batch: Batch) -> None:
        calls.append([event.type for event, _ in batch])
        await db.seen.insert_many([{"_id": event.id, "type": event.type} for event, _ in batch], session=batch[0][1].session)

    for event_type in ("participant.erasure_requested", "participant.erased"):
        consumer.on_batch(event_type, mixed=mixed)(fold)
    consumer.uow_factory = lambda cause, correlation_id=None: UnitOfWork(client, db, outbox, cause=cause, source="test",
                                                                           correlation_id=correlation_id)
    consumer.client, consumer.outbox = client, outbox
    return consumer


def _records() -> list[SimpleNamespace]:
    """A poll over two partitions: requests and confirmations interleaved, as two topics' records arrive."""
    events = []
    for n in range(3):
        person = f"p{n}"
        events.append(make_event("participant.erasure_requested", subject=person, source="test",
                                 data=ParticipantErasureRequested(participant_id=person)))
        events.append(make_event("participant.erased", subject=person, source="test",
                                 data=ParticipantErased(participant_id=person, service="agenda")))
    return [SimpleNamespace(value=encode(e), topic=topics.PARTICIPANTS, partition=n % 2, offset=n, key=e.subject.encode())
            for n, e in enumerate(events)]


@pytest.mark.parametrize("mixed, expected", [
    (False, [["participant.erasure_requested"], ["participant.erased"]] * 3),
    (True, [["participant.erasure_requested", "participant.erased"] * 3]),
])
async def test_a_handler_that_takes_its_types_mixed_gets_the_poll_in_one_call_in_order(env, mixed, expected):
    calls: list[list[str]] = []
    consumer = _consumer(env, calls, mixed=mixed)
    records = _records()
    woken: list[int] = []
    consumer.after_batch.append(lambda: woken.append(len(calls)))
    await consumer.process_batch(records)
    assert calls == expected and woken == [len(expected)]  # once per poll, after its handlers
    _, db, _ = env
    assert await db.seen.count_documents({}) == 6
    # A redelivered poll is dropped by event id, whichever way it was handled, and wakes nobody.
    await consumer.process_batch(records)
    assert calls == expected and await db.seen.count_documents({}) == 6 and woken == [len(expected)]


async def test_registering_a_type_again_one_by_one_takes_it_out_of_the_mixed_batches(env):
    calls: list[list[str]] = []
    consumer = _consumer(env, calls, mixed=True)
    singles: list[str] = []

    @consumer.on("participant.erased")
    async def confirm(event, uow: UnitOfWork) -> None:
        singles.append(event.type)

    await consumer.process_batch(_records())
    assert calls == [["participant.erasure_requested"]] * 3 and singles == ["participant.erased"] * 3
