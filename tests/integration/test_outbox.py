"""The outbox against the real store: what carries events waits on the pending list until it is on the bus."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pymongo import ASCENDING, AsyncMongoClient

from shared.events import utcnow
from shared.events.participants import ParticipantErased
from shared.store import AlreadyProcessed, Outbox, UnitOfWork, insert_or_set, run_together


class Bus:
    """Records what the outbox publishes; `down` makes every publish fail like an unreachable broker."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.down = False

    async def __call__(self, topic: str, key: str, value: bytes, headers: dict[str, str]) -> None:
        if self.down:
            raise ConnectionError("bus unreachable")
        self.sent.append((topic, key))


@pytest.fixture
async def env(stack):
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
    db = client[f"outbox{uuid.uuid4().hex[:8]}"]
    bus = Bus()
    outbox = Outbox(db, bus, mark_delay_s=0.01)
    await outbox.ensure_indexes()
    yield client, db, outbox, bus
    await client.drop_database(db.name)
    await client.close()


def _unit(client: Any, db: Any, outbox: Outbox, cause: str) -> UnitOfWork:
    return UnitOfWork(client, db, outbox, cause=cause, source="test")


def _erased(person: str) -> ParticipantErased:
    return ParticipantErased(participant_id=person, service="test")


def _emitting(person: str):
    """Work that changes state and emits one event keyed by `person`."""
    async def work(uow: UnitOfWork) -> None:
        await uow.db.state.insert_one({"_id": person}, session=uow.session)
        uow.emit("participant.erased", subject=person, data=_erased(person))
    return work


async def _pending(outbox: Outbox) -> list[str]:
    return sorted([d["_id"] async for d in outbox.pending.find()])


async def test_published_records_leave_the_pending_list_and_silent_ones_never_join_it(env):
    client, db, outbox, bus = env
    await _unit(client, db, outbox, "cause:a").run(_emitting("f-a"))

    async def silent(uow: UnitOfWork) -> None:
        await uow.db.state.insert_one({"_id": "quiet"}, session=uow.session)

    await _unit(client, db, outbox, "cause:b").run(silent)
    assert bus.sent == [("forum.participants", "f-a")]
    assert await outbox.collection.count_documents({}) == 2  # both causes are idempotency records
    await outbox.flush_marks()
    assert await _pending(outbox) == []
    assert await outbox.collection.index_information() == {"_id_": {"v": 2, "key": [("_id", 1)]}}


async def test_a_record_left_by_a_bus_failure_is_relayed_once_and_a_repeated_cause_republishes_it(env):
    client, db, outbox, bus = env
    bus.down = True
    with pytest.raises(ConnectionError):
        await _unit(client, db, outbox, "cause:c").run(_emitting("f-c"))  # committed, not published
    assert await db.state.find_one({"_id": "f-c"}) is not None
    assert await _pending(outbox) == ["cause:c"]
    bus.down = False
    with pytest.raises(AlreadyProcessed):  # the same cause again: not handled twice, but its events go out now
        await _unit(client, db, outbox, "cause:c").run(_emitting("f-c"))
    assert bus.sent == [("forum.participants", "f-c")]
    await outbox.flush_marks()
    assert await _pending(outbox) == []
    assert await outbox.relay_pending() == 0 and bus.sent == [("forum.participants", "f-c")]


async def test_the_relay_publishes_in_creation_order_in_batches(env):
    client, db, outbox, bus = env
    bus.down = True
    for n in range(7):
        with pytest.raises(ConnectionError):
            await _unit(client, db, outbox, f"cause:{n}").run(_emitting(f"f-{n}"))
    bus.down = False
    assert await outbox.relay_pending(batch=3) == 7
    assert bus.sent == [("forum.participants", f"f-{n}") for n in range(7)]
    assert await _pending(outbox) == []


async def test_a_store_of_the_earlier_layout_is_moved_to_the_pending_list(env):
    client, db, outbox, bus = env
    await outbox.collection.create_index([("published", ASCENDING), ("created_at", ASCENDING)])
    record = _unit(client, db, outbox, "legacy:1")
    record.emit("participant.erased", subject="f-old", data=_erased("f-old"))
    await outbox.collection.insert_many([{**record.record(), "published": False},
                                         {"_id": "legacy:2", "created_at": utcnow(), "events": [], "published": True}])
    await outbox.ensure_indexes()
    assert Outbox.LEGACY_INDEX not in await outbox.collection.index_information()
    assert await _pending(outbox) == ["legacy:1"]
    assert await outbox.relay_pending() == 1 and bus.sent == [("forum.participants", "f-old")]
    assert await _pending(outbox) == []


async def _batch(client: Any, db: Any, outbox: Outbox, causes: list[str]) -> None:
    """Units in one transaction (a consumed batch): each cause but the last emits, the last is silent."""
    units = [_unit(client, db, outbox, cause) for cause in causes]

    async def work() -> None:
        for uow in units[:-1]:
            await _emitting(f"f-{uow.cause}")(uow)

    await run_together(client, outbox, units, work)


async def test_a_batch_waits_as_one_entry_and_any_of_its_causes_brings_the_whole_batch_out(env):
    client, db, outbox, bus = env
    bus.down = True
    with pytest.raises(ConnectionError):
        await _batch(client, db, outbox, ["b:1", "b:2", "b:3", "b:quiet"])  # committed, not published
    with pytest.raises(ConnectionError):
        await _batch(client, db, outbox, ["c:1", "c:2", "c:quiet"])
    entries = [d async for d in outbox.pending.find().sort("created_at", ASCENDING)]
    assert [(e["_id"], e.get("records")) for e in entries] == [("b:1", ["b:1", "b:2", "b:3"]), ("c:1", ["c:1", "c:2"])]
    bus.down = False
    with pytest.raises(AlreadyProcessed):  # a redelivered event of the first batch: its whole batch goes out, in order
        await _unit(client, db, outbox, "b:2").run(_emitting("f-b:2"))
    assert bus.sent == [("forum.participants", f"f-b:{n}") for n in (1, 2, 3)]
    await outbox.flush_marks()
    assert await _pending(outbox) == ["c:1"]
    assert await outbox.relay_pending() == 1
    assert bus.sent[3:] == [("forum.participants", "f-c:1"), ("forum.participants", "f-c:2")]
    assert await _pending(outbox) == [] and await outbox.relay_pending() == 0
    await _batch(client, db, outbox, ["d:1", "d:2", "d:quiet"])  # the bus is up: published at once, then off the list
    await outbox.flush_marks()
    assert await _pending(outbox) == [] and bus.sent[5:] == [("forum.participants", "f-d:1"), ("forum.participants", "f-d:2")]


async def test_a_document_created_by_another_writer_after_the_read_is_set_on_a_rerun_never_taken_as_processed(env):
    """`insert_or_set` after a read that found nothing: when another writer creates the document in between,
    the transaction is retried at once (what the embedded store does), or the unit fails as an error to
    retry, never as a cause processed already, leaving nothing behind. Either way the run that succeeds
    reads the document, sets the fields, and does its other work once."""
    client, db, outbox, _ = env
    raced: list[bool] = []

    async def project(uow: UnitOfWork) -> None:
        known = await uow.db.decisions.find_one({"_id": "r1"}, session=uow.session) is not None
        if not known and not raced:
            raced.append(True)
            await db.decisions.insert_one({"_id": "r1", "decision_seq": 1})  # another instance, outside this transaction
        await uow.db.decisions.bulk_write([insert_or_set(known, "r1", {"decision_seq": 2})], session=uow.session)
        await uow.db.state.insert_one({"_id": "side effect"}, session=uow.session)

    try:
        await _unit(client, db, outbox, "event:e1").run(project)
    except AlreadyProcessed:
        pytest.fail("a duplicate key on the projection was taken for a cause processed already: the event would be lost")
    except Exception:  # noqa: BLE001 - the consumer retries any handler error
        assert await db.state.count_documents({}) == 0 and await outbox.seen("event:e1") is None
        await _unit(client, db, outbox, "event:e1").run(project)
    assert raced and (await db.decisions.find_one({"_id": "r1"}))["decision_seq"] == 2
    assert await db.state.count_documents({}) == 1 and await outbox.seen("event:e1") is not None
