"""Rebuild the reporting read models from the topics: `python -m services.results.rebuild [--swap]`.

Reads every topic from offset 0 with a plain consumer (no group), folds the events in memory
with the same rules as the live consumer, writes the result into fresh `rebuild_*`
collections and compares them with the live ones, following the topics while the live
consumer catches up (`--settle-s`). `--swap` then replaces the live collections' contents
with the rebuilt ones (stop the results service first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo.asynchronous.database import AsyncDatabase

from shared import store as shared_store
from shared import topics
from shared.events import InvalidEvent, decode

from .projection import REPORTING_COLLECTIONS, RULES
from .projector import MemoryView, project_event
from .settings import ResultsSettings

SOURCE_TOPICS = (topics.CATALOGUE, topics.REGISTRATIONS, topics.SELECTION, topics.AGENDA, topics.RESULTS, topics.NOTIFICATIONS)
PREFIX = "rebuild_"


class TopicReader:
    """Reads the topics from offset 0 in rounds: each `drain()` goes on to the end as it is when called."""

    def __init__(self, bootstrap: str, names: tuple[str, ...] = SOURCE_TOPICS) -> None:
        self.names = names
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10,
                                         max_partition_fetch_bytes=8 * 1024 * 1024)
        self.parts: list[TopicPartition] = []
        self.read: dict[TopicPartition, int] = {}  # next offset to read per partition

    async def start(self) -> None:
        await self.consumer.start()
        existing = await self.consumer.topics()
        self.parts = [TopicPartition(t, p) for t in self.names if t in existing
                      for p in sorted(self.consumer.partitions_for_topic(t) or ())]
        self.consumer.assign(self.parts)
        await self.consumer.seek_to_beginning(*self.parts)

    async def stop(self) -> None:
        await self.consumer.stop()

    async def drain(self) -> AsyncIterator[bytes]:
        """Every message value from offset 0 to the end as it was when called (streamed)."""
        consumer = self.consumer
        # ListOffsets of the embedded broker counts batches, not records: the end offsets are only a lower
        # bound; the high watermark of the first fetch of each partition fixes the end we read to.
        ends = {tp: off for tp, off in (await consumer.end_offsets(self.parts)).items() if off > 0}
        fixed: set[TopicPartition] = set()
        idle = 0
        while ends:
            batch = await consumer.getmany(*ends, timeout_ms=500, max_records=10_000)
            idle = 0 if batch else idle + 1
            for tp, records in batch.items():
                if tp not in fixed:
                    fixed.add(tp)
                    ends[tp] = max(ends[tp], consumer.highwater(tp) or 0)
                for r in records:
                    if r.offset < ends.get(tp, 0):
                        self.read[tp] = r.offset + 1
                        if r.value is not None:
                            yield r.value
                if records and records[-1].offset + 1 >= ends.get(tp, 0):
                    ends.pop(tp, None)
            if idle >= 3:  # nothing comes any more: partitions that are empty or end in a gap
                for tp in list(ends):
                    if await consumer.position(tp) >= ends[tp]:
                        ends.pop(tp)

    async def follow(self, quiet_polls: int = 2) -> AsyncIterator[bytes]:
        """What arrived after the last read, until the topics are quiet for a moment (the settle rounds)."""
        for tp in self.parts:  # drain() may have fetched beyond its end: go back to the first unread record
            self.consumer.seek(tp, self.read.get(tp, 0))
        idle = 0
        while idle < quiet_polls:
            batch = await self.consumer.getmany(*self.parts, timeout_ms=200, max_records=10_000)
            idle = 0 if batch else idle + 1
            for tp, records in batch.items():
                for r in records:
                    self.read[tp] = r.offset + 1
                    if r.value is not None:
                        yield r.value


async def read_events(bootstrap: str, names: tuple[str, ...] = SOURCE_TOPICS) -> AsyncIterator[bytes]:
    """Every message value on the topics, from offset 0 to the end as it was when we started (streamed)."""
    reader = TopicReader(bootstrap, names)
    await reader.start()
    try:
        async for value in reader.drain():
            yield value
    finally:
        await reader.stop()


async def _each(values: Iterable[bytes] | AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if isinstance(values, AsyncIterator):
        async for value in values:
            yield value
    else:
        for value in values:
            yield value


async def fold(values: Iterable[bytes] | AsyncIterator[bytes], view: MemoryView | None = None) -> MemoryView:
    """Apply every distinct, valid event once, in log order (what the live consumer does)."""
    view = view or MemoryView()
    async for raw in _each(values):
        view.events += 1
        try:
            event = decode(raw)
        except InvalidEvent:
            continue  # dead-lettered by the live consumer too
        if event.id in view.seen or event.type not in RULES:
            continue
        view.seen.add(event.id)
        try:
            await project_event(event, view)
        except Exception:  # noqa: BLE001 - the live consumer dead-letters such an event; so do we
            continue
    return view


async def write(db: AsyncDatabase[dict[str, Any]], view: MemoryView, prefix: str = PREFIX) -> None:
    """Write the folded read models into fresh collections."""
    for name in REPORTING_COLLECTIONS:
        await db[prefix + name].delete_many({})
        docs = list(view.collections.get(name, {}).values())
        for start in range(0, len(docs), 1000):
            await db[prefix + name].insert_many(docs[start:start + 1000], ordered=False)


def normalise(doc: dict[str, Any]) -> str:
    """A comparable form of a document (sets stored as lists compare unordered)."""
    return json.dumps({k: sorted(v, key=str) if k == "voters" else v for k, v in doc.items()}, sort_keys=True, default=str)


async def differences(db: AsyncDatabase[dict[str, Any]], prefix: str = PREFIX) -> dict[str, dict[str, int]]:
    """Per collection: documents only live, only rebuilt, or different (empty when equal)."""
    out = {}
    for name in REPORTING_COLLECTIONS:
        live = {d["_id"]: normalise(d) async for d in db[name].find()}
        rebuilt = {d["_id"]: normalise(d) async for d in db[prefix + name].find()}
        diff = {"only_live": len(live.keys() - rebuilt.keys()), "only_rebuilt": len(rebuilt.keys() - live.keys()),
                "different": sum(1 for k in live.keys() & rebuilt.keys() if live[k] != rebuilt[k])}
        if any(diff.values()):
            out[name] = diff
    return out


async def swap(db: AsyncDatabase[dict[str, Any]], prefix: str = PREFIX) -> None:
    """Replace the live collections' contents with the rebuilt ones."""
    for name in REPORTING_COLLECTIONS:
        docs = [d async for d in db[prefix + name].find()]
        await db[name].delete_many({})
        for start in range(0, len(docs), 1000):
            await db[name].insert_many(docs[start:start + 1000], ordered=False)


async def settle(db: AsyncDatabase[dict[str, Any]], reader: TopicReader, view: MemoryView, deadline: float,
                 pause_s: float = 1.0) -> tuple[dict[str, dict[str, int]], int]:
    """Compare with the live read models at the same log position: (differences, rounds).

    The live consumer runs while we compare: events that arrived after our read, or that the live
    consumer has not handled yet, show up as differences that are no fault of either side (in a busy
    run, notify's delivery reports on `reporting_deliveries` above all). So a difference only counts
    once it is stable: no new events on the topics and the same difference twice in a row.
    """
    await write(db, view)
    diff, rounds, stable = await differences(db), 1, 0
    while diff and time.perf_counter() < deadline and stable < 2:
        await asyncio.sleep(pause_s)
        before = view.events
        await fold(reader.follow(), view)
        if view.events != before:
            await write(db, view)
        latest = await differences(db)
        stable = stable + 1 if view.events == before and latest == diff else 0
        diff, rounds = latest, rounds + 1
    return diff, rounds


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swap", action="store_true", help="replace the live read models with the rebuilt ones")
    parser.add_argument("--settle-s", type=float, default=60.0,
                        help="how long to follow the topics while the live read models catch up before a difference counts")
    args = parser.parse_args(argv)
    settings = ResultsSettings()
    client = shared_store.connect(settings.mongodb_url)
    db = client[settings.mongodb_database]
    reader = TopicReader(settings.kafka_bootstrap_servers)
    await reader.start()
    try:
        started = time.perf_counter()
        view = await fold(reader.drain())
        read_s = time.perf_counter() - started
        diff, rounds = await settle(db, reader, view, started + read_s + args.settle_s)
        if args.swap and diff:
            await swap(db)
        print(json.dumps({"events": view.events, "read_and_fold_s": round(read_s, 2), "total_s": round(time.perf_counter() - started, 2),
                          "rounds": rounds, "equal": not diff, "differences": diff, "swapped": bool(args.swap and diff)}))
        return 0 if not diff or args.swap else 1
    finally:
        await reader.stop()
        await client.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
