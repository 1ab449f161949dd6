"""The store calls that run once per mail and per decision, before and after a change, in the same run.

A delivery log and a registrations collection of realistic size (BENCH_STORE_DOCS, default 30,000
documents) in a database of their own; then, for a few seconds each:
- notify's claim of the next due mail with 2,000 mails due: findAndModify by query (first version),
  a few candidates by index plus a conditional update by id (second version), and the claim the
  service runs now (`services.notify.due.DueClaims`: candidates from a window of due times that
  holds about one batch, the same conditional update);
- registration's new current decision: findAndModify by `_id` (before) against `update_then_read`
  (a conditional update_one and a read by `_id`).
On SecantusDB the findAndModify path costs time in proportion to the collection; the rows show by how much.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel, ReturnDocument

from services.notify.due import DueClaims
from shared.store import update_then_read
from shared.testing import Stack

from .common import Result

SECONDS = 4.0


async def _timed(label: str, call: Any, note: str) -> Result:
    """Call until it returns None or the time is up; one latency per call."""
    latencies: list[float] = []
    began = time.perf_counter()
    while time.perf_counter() - began < SECONDS:
        t0 = time.perf_counter()
        if await call(len(latencies)) is None:
            break
        latencies.append((time.perf_counter() - t0) * 1000)
    return Result(label, len(latencies), time.perf_counter() - began, latencies, "calls", note=note)


async def run(stack: Stack) -> list[Result]:
    size = int(os.environ.get("BENCH_STORE_DOCS", 30000))
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
    db = client["bench_store"]
    now = datetime.now(UTC)
    try:
        await db.deliveries.create_indexes([IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)])])
        for start in range(0, size, 5000):
            await db.deliveries.insert_many([{"_id": f"sent-{i}", "status": "sent", "next_attempt_at": now, "pad": "x" * 300}
                                             for i in range(start, min(size, start + 5000))])
            await db.registrations.insert_many([{"_id": f"reg-{i}", "decision_seq": 0, "pad": "x" * 300}
                                                for i in range(start, min(size, start + 5000))])

        async def pending(prefix: str) -> None:
            """2,000 due mails, queued over the last 20 s (as during a rush)."""
            await db.deliveries.insert_many([{"_id": f"{prefix}-{i}", "status": "pending", "pad": "x" * 300,
                                              "next_attempt_at": now - timedelta(milliseconds=10 * (2000 - i))}
                                             for i in range(2000)])

        async def done() -> None:
            await db.deliveries.update_many({"status": {"$in": ["pending", "sending"]}}, {"$set": {"status": "done"}})

        due = {"status": "pending", "next_attempt_at": {"$lte": now}}
        claim = {"$set": {"status": "sending", "claimed_at": now}, "$inc": {"attempts": 1}}

        async def by_index_then_id(_: int) -> dict[str, Any] | None:
            ids = [d["_id"] async for d in db.deliveries.find(due, {"_id": 1}).sort("next_attempt_at", ASCENDING).limit(8)]
            for candidate in ids:
                claimed = await update_then_read(db.deliveries, {"_id": candidate, **due}, claim)
                if claimed is not None:
                    return claimed
            return None

        note = f"{size:,} sent and 2,000 due deliveries in the collection"
        await pending("a")
        first = await _timed(
            "store: claim a due mail, findAndModify by query (first)",
            lambda _: db.deliveries.find_one_and_update(due, claim, sort=[("next_attempt_at", ASCENDING)],
                                                        return_document=ReturnDocument.AFTER), note)
        await done()
        await pending("b")
        second = await _timed("store: claim a due mail, candidates by index + conditional update (second)",
                              by_index_then_id, note)
        await done()
        await pending("c")
        claims = DueClaims(db.deliveries)
        after = await _timed("store: claim a due mail, window of due times + conditional update (now)",
                             lambda _: claims.claim(now), note)
        decision = {"$set": {"status": "accepted"}, "$inc": {"decision_seq": 1}}
        fam = await _timed(
            "store: new current decision, findAndModify by _id (before)",
            lambda i: db.registrations.find_one_and_update({"_id": f"reg-{(i * 7919) % size}"}, decision,
                                                           return_document=ReturnDocument.AFTER, projection={"decision_seq": 1}),
            f"{size:,} registrations")
        now_decision = await _timed(
            "store: new current decision, update_then_read (now)",
            lambda i: update_then_read(db.registrations, {"_id": f"reg-{(i * 7919) % size}"}, decision,
                                       projection={"decision_seq": 1}),
            f"{size:,} registrations")
        for later, earlier in ((second, first), (after, second), (now_decision, fam)):
            if earlier.throughput:
                later.note += f"; {later.throughput / earlier.throughput:,.0f}× the row before"
        return [first, second, after, fam, now_decision]
    finally:
        await client.drop_database("bench_store")
        await client.close()
