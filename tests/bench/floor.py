"""The bare floor: the bus and the store with no domain logic, measured in the same run."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pymongo import AsyncMongoClient

from shared.testing import Stack

from .common import CpuWindow, Result


async def idle_cpu(stack: Stack, seconds: float = 20.0, settle_s: float = 10.0) -> list[Result]:
    """What each process of the stack uses with no load at all (polls, sweeps, heartbeats), in % of a core.

    Paid at every rate, and under load it competes with the work: at a fetch wait of 10-50 ms the
    idle stack used 40 % of a core, half of it the broker's answering empty polls.
    """
    await asyncio.sleep(settle_s)  # start-up work (seeding, index builds, first rebalances) is not idling
    cpu = CpuWindow(stack)
    await asyncio.sleep(seconds)
    rows = cpu.rows("idle", 1)
    return [Result(r.scenario, 0, seconds, [], "", note=f"{100 * r.seconds / seconds:.1f} % of a core with no load")
            for r in rows if r.scenario != f"idle: {CpuWindow.BENCH}"]


async def kafka_produce_consume(stack: Stack, n: int) -> Result:
    """Produce n 500-byte messages with aiokafka and consume them all; latency is produce→consume."""
    topic = f"bench-floor-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, linger_ms=5)
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await producer.start()
    await producer.send_and_wait(topic, b"warm-up")
    await consumer.start()
    partitions = [TopicPartition(topic, p) for p in await producer.partitions_for(topic)]
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    payload = b"x" * 480
    latencies: list[float] = []

    async def consume() -> None:
        while len(latencies) < n:
            batches = await consumer.getmany(timeout_ms=200, max_records=2000)
            now = time.perf_counter()
            for records in batches.values():
                latencies.extend((now - float(r.key.decode())) * 1000 for r in records)

    reader = asyncio.create_task(consume())
    started = time.perf_counter()
    for start in range(0, n, 1000):
        futures = [await producer.send(topic, payload, key=str(time.perf_counter()).encode()) for _ in range(min(1000, n - start))]
        await asyncio.gather(*futures)
    await asyncio.wait_for(reader, 120)
    elapsed = time.perf_counter() - started
    await producer.stop()
    await consumer.stop()
    return Result("floor: aiokafka produce→consume", n, elapsed, latencies, "msgs")


async def mongo_insert_many(stack: Stack, n: int) -> Result:
    """Insert n small documents with PyMongo async insert_many in batches of 500."""
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url)
    collection = client["bench_floor"][f"docs_{uuid.uuid4().hex[:8]}"]
    latencies: list[float] = []
    started = time.perf_counter()
    for start in range(0, n, 500):
        batch = [{"_id": str(uuid.uuid4()), "i": i, "pad": "x" * 200} for i in range(start, min(n, start + 500))]
        t0 = time.perf_counter()
        await collection.insert_many(batch, ordered=False)
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    await client.drop_database("bench_floor")
    await client.close()
    return Result("floor: pymongo insert_many (batches of 500)", n, elapsed, latencies, "docs",
                  note="latency per batch of 500")


FLOOR_PROCESSES = ("kafka (Tansu)", "mongodb (SecantusDB)", CpuWindow.BENCH)  # the services idle meanwhile


async def flow_floor(stack: Stack, n: int, batch: int = 200) -> list[Result]:
    """The registration flow's hops and writes with no domain logic: the ratio's denominator for the flow rows.

    Intake writes each registration and its outbox record in bulk and produces it; a decider
    consumes, writes one update and one outbox record per message in bulk and produces the
    decision; three projectors (as agenda, results and notify) consume both topics and write
    one upsert and one processed-record per message in bulk. Time until all three have every
    decision. Also the CPU each process spent per registration (the bench client plays every stage).
    """
    from pymongo import UpdateOne

    run = uuid.uuid4().hex[:8]
    submitted, decided = f"floor-submitted-{run}", f"floor-decided-{run}"
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url)
    db = client[f"bench_flow_{run}"]
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, linger_ms=5)
    await producer.start()
    for topic in (submitted, decided):
        await producer.send_and_wait(topic, b"warm-up", key=b"warm-up")
    done = {name: 0 for name in ("agenda", "results", "notify")}

    async def consumer_of(*topics: str) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
        await consumer.start()
        consumer.assign([TopicPartition(t, p) for t in topics for p in await producer.partitions_for(t)])
        return consumer

    async def decide() -> None:
        consumer = await consumer_of(submitted)
        seen = 0
        while seen < n:
            for records in (await consumer.getmany(timeout_ms=200, max_records=batch)).values():
                keys = [r.key.decode() for r in records if r.key != b"warm-up"]
                if not keys:
                    continue
                await db.registrations.bulk_write([UpdateOne({"_id": k}, {"$set": {"status": "decided"}}) for k in keys])
                await db.outbox.insert_many([{"_id": f"event:{k}", "events": [k]} for k in keys])
                await asyncio.gather(*[await producer.send(decided, b"x" * 600, key=k.encode()) for k in keys])
                seen += len(keys)
        await consumer.stop()

    async def project(name: str) -> None:
        consumer = await consumer_of(submitted, decided)
        while done[name] < n:
            for tp, records in (await consumer.getmany(timeout_ms=200, max_records=batch)).items():
                keys = [r.key.decode() for r in records if r.key != b"warm-up"]
                if not keys:
                    continue
                await db[f"{name}_view"].bulk_write([UpdateOne({"_id": k}, {"$inc": {"n": 1}}, upsert=True) for k in keys])
                await db[f"{name}_processed"].insert_many([{"_id": f"{tp.topic}:{k}"} for k in keys])
                if tp.topic == decided:
                    done[name] += len(keys)
        await consumer.stop()

    stages = [asyncio.create_task(decide())] + [asyncio.create_task(project(name)) for name in done]
    cpu = CpuWindow(stack)
    started = time.perf_counter()
    for start in range(0, n, batch):
        keys = [f"{run}-{i}" for i in range(start, min(n, start + batch))]
        await db.registrations.insert_many([{"_id": k, "status": "received", "pad": "x" * 300} for k in keys])
        await db.outbox.insert_many([{"_id": f"registration:{k}", "events": [k]} for k in keys])
        await asyncio.gather(*[await producer.send(submitted, b"x" * 900, key=k.encode()) for k in keys])
    await asyncio.wait_for(asyncio.gather(*stages), 1200)
    elapsed = time.perf_counter() - started
    used = [row for row in cpu.rows("cpu floor", n) if row.scenario.split(": ", 1)[1] in FLOOR_PROCESSES]
    await producer.stop()
    await client.drop_database(db.name)
    await client.close()
    return [Result("flow_floor: same hops and bulk writes, no domain logic", n, elapsed, [], "registrations",
                   note="intake, decider and 3 projectors; 16 writes per registration"), *used]
