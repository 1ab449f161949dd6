"""Claiming due deliveries (mail or webhook) without reading the whole backlog for each one.

A delivery is due when it is `pending` and its `next_attempt_at` has passed. Claiming takes a
few from `pending` to `sending` with one conditional update by id, marked with a claim token,
so two workers or instances never take the same one.

Finding candidates is the costly part on the embedded store. SecantusDB answers a query on the
(status, next_attempt_at) index by reading every document in the index range before it sorts
and limits. "The first 8 pending deliveries due by now" therefore costs time in proportion to
the whole due backlog: measured 118 ms at 4,000 due mails, against 2 ms for the same query
bounded to a 100 s window of due times (`make bench`, scenario_store). During a registration
rush, with a backlog of thousands of mails, that one query took 85 % of the store's CPU.

So each sender keeps a cursor on the due times. It reads candidates from a window
[cursor, cursor + width] that adapts to hold about one batch, and moves the cursor forward past
what it has read. Two kinds of delivery can fall behind the cursor: one whose transaction
committed after the window passed its time, and one released by an unrecorded path. They are
caught by a full query. It runs when the window reaches the present and finds nothing, which is
cheap because then little is due, and otherwise every `rescan_s` seconds, or less often while the
full query is dear: its cost grows with the due backlog (about 1-2 s of the store's CPU at 30,000
due mails, against 8 ms for a window), so the periodic rescan waits at least 1/`rescan_share`
times as long as the last one took. A straggler waits longer then, in a backlog whose mails
wait minutes anyway. On MongoDB the full query alone would do, since it is an index walk there,
and the windows cost nothing extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from pymongo import ASCENDING


log = structlog.get_logger()
MIN_WIDTH = timedelta(milliseconds=10)
MAX_WIDTH = timedelta(hours=1)
MAX_RESCAN_INTERVAL = timedelta(minutes=10)
HELD_TOO_LONG = timedelta(seconds=10)  # well inside the stale-claim limit (MAIL_STALE_AFTER_S, 60 s by default)


class DueClaims:
    """One sender's view of a delivery collection's due entries; `claim(now)` takes the next one."""

    def __init__(self, collection: Any, *, batch: int = 64, claim_batch: int = 8, rescan_s: float = 20.0,
                 rescan_share: float = 0.02,
                 on_claimed: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None,
                 timer: Callable[[], float] = time.perf_counter) -> None:
        """`on_claimed` sees each batch of claims as taken (e.g. to read what the sending needs for all at once).

        `rescan_share`: the most of the time the periodic full query may take; `timer` measures it.
        """
        self.collection, self.batch, self.claim_batch, self.on_claimed = collection, batch, claim_batch, on_claimed
        self.rescan, self.rescan_share, self.timer = timedelta(seconds=rescan_s), rescan_share, timer
        self.rescan_every = self.rescan
        self.cursor: datetime | None = None
        self.width = timedelta(seconds=2)
        self.rescanned_at: datetime | None = None
        self.candidates: deque[str] = deque()
        self.claimed: deque[dict[str, Any]] = deque()
        self._refill = asyncio.Lock()

    async def claim(self, now: datetime) -> dict[str, Any] | None:
        """Take one due delivery: `pending` to `sending`, attempts + 1; None when nothing is due.

        Claims are taken a few at a time (one conditional update for all, one read of what it
        took) and handed out from memory; `release()` gives back what was not handed out.
        """
        async with self._refill:  # one reader refills for all the workers sharing this view
            while True:
                while not self.claimed:
                    if not self.candidates and not await self._read(now):
                        return None
                    ids = [self.candidates.popleft() for _ in range(min(self.claim_batch, len(self.candidates)))]
                    taken = await self._claim_many(ids, now)
                    self.claimed.extend(taken)  # first: a failing hook must not strand claims until the stale sweep
                    if taken and self.on_claimed is not None:
                        await self.on_claimed(taken)
                    # None taken: another instance was faster, or they were rescheduled. Read on.
                doc = self.claimed.popleft()
                if now - doc["claimed_at"] <= HELD_TOO_LONG or await self._restamp(doc, now):
                    return doc
                # Held so long that a stale-claim sweep gave it back: it is no longer ours.

    async def _restamp(self, doc: dict[str, Any], now: datetime) -> bool:
        """Renew a claim held in memory for a while (slow SMTP), so no stale-claim sweep hands it to another instance."""
        result = await self.collection.update_one({"_id": doc["_id"], "status": "sending", "claim": doc["claim"]},
                                                  {"$set": {"claimed_at": now}})
        doc["claimed_at"] = now
        return bool(result.modified_count)

    async def release(self) -> None:
        """Give back the claims not handed out (on stop): `sending` to `pending`, attempts as before."""
        while self.claimed:
            doc = self.claimed.popleft()
            await self.collection.update_one({"_id": doc["_id"], "status": "sending", "claim": doc["claim"]},
                                             {"$set": {"status": "pending"}, "$inc": {"attempts": -1}})

    async def _claim_many(self, ids: list[str], now: datetime) -> list[dict[str, Any]]:
        token = uuid.uuid4().hex
        result = await self.collection.update_many(
            {"_id": {"$in": ids}, "status": "pending", "next_attempt_at": {"$lte": now}},
            {"$set": {"status": "sending", "claimed_at": now, "claim": token}, "$inc": {"attempts": 1}})
        if not result.modified_count:
            return []
        taken = {d["_id"]: d async for d in self.collection.find({"_id": {"$in": ids}, "claim": token})}
        return [taken[i] for i in ids if i in taken]

    async def _read(self, now: datetime) -> bool:
        """Queue the next candidates; False when nothing is due."""
        if self.cursor is None or self.rescanned_at is None or now - self.rescanned_at >= self.rescan_every:
            await self._rescan(now)
            if self.cursor is None:
                return False
        assert self.cursor is not None
        while True:
            high = min(now, self.cursor + self.width)
            found = await self._between(self.cursor, high)
            if len(found) >= self.batch:
                # More in the window than one batch: go on from the last one read, with a narrower window.
                self.cursor, self.width = found[-1][1], max(MIN_WIDTH, self.width / 2)
            else:
                if len(found) < self.batch // 4:
                    self.width = min(MAX_WIDTH, self.width * 2)
                self.cursor = high
            if found:
                self.candidates.extend(i for i, _ in found)
                return True
            if high >= now:
                # The window reached the present empty-handed: anything due lies behind the cursor.
                await self._rescan(now)
                if self.cursor is None or self.cursor >= now:
                    return False
                # The rescan moved the cursor back to a straggler; read from there.

    async def _rescan(self, now: datetime) -> None:
        """Move the cursor to the earliest due delivery (None when nothing is due); sets when the next periodic one runs."""
        self.rescanned_at = now
        started = self.timer()
        first = await self.collection.find_one({"status": "pending", "next_attempt_at": {"$lte": now}},
                                               {"next_attempt_at": 1}, sort=[("next_attempt_at", ASCENDING)])
        took = timedelta(seconds=max(0.0, self.timer() - started))
        self.rescan_every = min(MAX_RESCAN_INTERVAL, max(self.rescan, took / self.rescan_share))
        self.cursor = first["next_attempt_at"] if first else None

    async def _between(self, low: datetime, high: datetime) -> list[tuple[str, datetime]]:
        cursor = self.collection.find({"status": "pending", "next_attempt_at": {"$gte": low, "$lte": high}},
                                      {"next_attempt_at": 1}).sort("next_attempt_at", ASCENDING).limit(self.batch)
        return [(d["_id"], d["next_attempt_at"]) async for d in cursor]


async def drain_forever(send_one: Callable[[], Awaitable[bool]], poll_s: float, error_event: str,
                        wake: asyncio.Event | None = None) -> None:
    """A sending worker's loop: send while something is due, then wait; outages are logged, not fatal.

    The wait ends after `poll_s` or as soon as `wake` is set (this process queued something), so a
    new delivery goes out right after its transaction commits, not at the next poll. The poll still
    finds what no wake announces: retries coming due, stale claims given back, other instances' work.
    A worker clears `wake` before it drains, so a wake set during a drain starts another one.
    """
    wake = wake or asyncio.Event()  # never set: the poll alone
    while True:
        wake.clear()
        try:
            while await send_one():
                pass
        except Exception as exc:  # noqa: BLE001 - keep the loop alive through outages
            log.warning(error_event, error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), poll_s)
