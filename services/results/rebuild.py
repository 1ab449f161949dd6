"""Rebuild the reporting read models from the topics: `python -m services.results.rebuild [--swap]`.

Reads every topic from offset 0 with a plain consumer (no group), folds the events in memory
with the same rules as the live consumer, writes the result into fresh `rebuild_*`
collections and compares them with the live ones. `--swap` then replaces the live
collections' contents with the rebuilt ones (stop the results service first).
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


async def read_events(bootstrap: str, names: tuple[str, ...] = SOURCE_TOPICS) -> AsyncIterator[bytes]:
    """Every message value on the topics, from offset 0 to the end as it was when we started (streamed)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10,
                                max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    try:
        existing = await consumer.topics()
        parts = [TopicPartition(t, p) for t in names if t in existing for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        # ListOffsets of the embedded broker counts batches, not records: the end offsets are only a lower
        # bound; the high watermark of the first fetch of each partition fixes the end we read to.
        ends = {tp: off for tp, off in (await consumer.end_offsets(parts)).items() if off > 0}
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
                    if r.offset < ends.get(tp, 0) and r.value is not None:
                        yield r.value
                if records and records[-1].offset + 1 >= ends.get(tp, 0):
                    ends.pop(tp, None)
            if idle >= 3:  # nothing comes any more: partitions that are empty or end in a gap
                for tp in list(ends):
                    if await consumer.position(tp) >= ends[tp]:
                        ends.pop(tp)
    finally:
        await consumer.stop()


async def _each(values: Iterable[bytes] | AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if isinstance(values, AsyncIterator):
        async for value in values:
            yield value
    else:
        for value in values:
            yield value


async def fold(values: Iterable[bytes] | AsyncIterator[bytes]) -> MemoryView:
    """Apply every distinct, valid event once, in log order (what the live consumer does)."""
    view, seen = MemoryView(), set()
    async for raw in _each(values):
        view.events += 1
        try:
            event = decode(raw)
        except InvalidEvent:
            continue  # dead-lettered by the live consumer too
        if event.id in seen or event.type not in RULES:
            continue
        seen.add(event.id)
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


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swap", action="store_true", help="replace the live read models with the rebuilt ones")
    args = parser.parse_args(argv)
    settings = ResultsSettings()
    client = shared_store.connect(settings.mongodb_url)
    db = client[settings.mongodb_database]
    try:
        started = time.perf_counter()
        view = await fold(read_events(settings.kafka_bootstrap_servers))
        read_s = time.perf_counter() - started
        await write(db, view)
        diff = await differences(db)
        if args.swap and diff:
            await swap(db)
        print(json.dumps({"events": view.events, "read_and_fold_s": round(read_s, 2), "total_s": round(time.perf_counter() - started, 2),
                          "equal": not diff, "differences": diff, "swapped": bool(args.swap and diff)}))
        return 0 if not diff or args.swap else 1
    finally:
        await client.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
