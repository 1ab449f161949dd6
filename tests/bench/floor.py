"""The bare floor: the bus and the store with no domain logic, measured in the same run."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pymongo import AsyncMongoClient

from shared.testing import Stack

from .common import Result


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
