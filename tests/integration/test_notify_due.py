"""Claiming due deliveries through a window of due times, against the real store: none missed, none taken twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient

from services.notify import store as notify_store
from services.notify.due import DueClaims
from shared.events import utcnow


@pytest.fixture
async def db(stack):
    """A notify database of the test's own, with the service's indexes."""
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
    database = client[f"due{uuid.uuid4().hex[:8]}"]
    await notify_store.ensure_indexes(database)
    yield database
    await client.drop_database(database.name)
    await client.close()


async def test_two_views_claim_every_due_delivery_once_including_stragglers_behind_their_cursors(db):
    now = utcnow()
    rush = [{"_id": f"rush-{i}", "status": "pending", "attempts": 0,
             "next_attempt_at": now - timedelta(milliseconds=5 * (600 - i))} for i in range(600)]
    later = [{"_id": f"later-{i}", "status": "pending", "attempts": 0, "next_attempt_at": now + timedelta(hours=1)}
             for i in range(5)]
    sent = [{"_id": f"sent-{i}", "status": "sent", "attempts": 1, "next_attempt_at": now - timedelta(minutes=1)}
            for i in range(50)]
    await db.deliveries.insert_many(rush + later + sent)
    views = [DueClaims(db.deliveries, batch=16), DueClaims(db.deliveries, batch=16)]  # two instances
    taken: list[str] = []
    late: list[dict] = []

    async def worker(view: DueClaims, stragglers: bool) -> None:
        while (doc := await view.claim(utcnow())) is not None:
            taken.append(doc["_id"])
            assert doc["status"] == "sending" and doc["attempts"] == 1
            if stragglers and len(taken) >= 300 and not late:
                # Committed late, with a due time both cursors have passed already.
                late.extend({"_id": f"late-{i}", "status": "pending", "attempts": 0,
                             "next_attempt_at": now - timedelta(seconds=10)} for i in range(7))
                await db.deliveries.insert_many(late)

    await asyncio.gather(worker(views[0], True), worker(views[0], False), worker(views[1], False))
    assert len(late) == 7 and sorted(taken) == sorted([d["_id"] for d in rush + late])
    assert await db.deliveries.count_documents({"status": "pending"}) == 5  # only the ones not yet due
    assert all(not v.candidates and not v.claimed for v in views)


async def test_a_claim_held_in_memory_is_renewed_and_one_a_stale_sweep_gave_back_is_not_handed_out(db):
    now = utcnow()
    await db.deliveries.insert_many([{"_id": f"d-{i}", "status": "pending", "attempts": 0,
                                      "next_attempt_at": now - timedelta(seconds=1)} for i in range(8)])
    view = DueClaims(db.deliveries, claim_batch=8)
    first = await view.claim(now)
    assert first is not None and len(view.claimed) == 7  # seven more claimed, held in memory
    later = now + timedelta(seconds=15)
    renewed = await view.claim(later)  # held 15 s: its claim is renewed before it is handed out
    assert (await db.deliveries.find_one({"_id": renewed["_id"]}))["claimed_at"] == later.replace(microsecond=later.microsecond // 1000 * 1000)
    # A stale-claim sweep (another instance) gives the other six back; they must not be handed out on the old claim.
    held = [d["_id"] for d in view.claimed]
    await db.deliveries.update_many({"_id": {"$in": held}}, {"$set": {"status": "pending"}})
    taken = [await view.claim(later) for _ in range(6)]
    assert sorted(d["_id"] for d in taken) == sorted(held)
    for doc in taken:
        stored = await db.deliveries.find_one({"_id": doc["_id"]})
        assert stored["status"] == "sending" and stored["claim"] == doc["claim"] and stored["attempts"] == 2
    assert await view.claim(later) is None


async def test_a_dear_full_query_runs_less_often_and_still_finds_the_straggler_behind_the_cursor(db):
    now = utcnow()
    backlog = [{"_id": f"b-{i:03d}", "status": "pending", "attempts": 0,
                "next_attempt_at": now - timedelta(seconds=300 - i)} for i in range(200)]
    await db.deliveries.insert_many(backlog)
    ticks = iter(range(0, 10_000, 3))  # every full query "takes" 3 s: at a 2 % share, the next waits 150 s
    view = DueClaims(db.deliveries, batch=16, claim_batch=4, rescan_s=20, timer=lambda: float(next(ticks)))
    first = await view.claim(now)
    assert first is not None and first["_id"] == "b-000"
    assert view.rescan_every == timedelta(seconds=150)
    await db.deliveries.insert_one({"_id": "straggler", "status": "pending", "attempts": 0,
                                    "next_attempt_at": now - timedelta(seconds=400)})
    # 30 s on (past `rescan_s`, short of 150 s): the view reads on from its cursor, the backlog in order.
    taken = [(await view.claim(now + timedelta(seconds=30)))["_id"] for _ in range(20)]
    assert taken == [f"b-{i:03d}" for i in range(1, 21)]
    # 150 s after the last full query the next one runs, and the straggler behind the cursor comes next.
    view.candidates.clear()
    await view.release()
    assert (await view.claim(now + timedelta(seconds=151)))["_id"] == "straggler"
