"""Consumer throughput: events produced straight onto the bus until a service has handled them all."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from shared.events import encode, make_event, utcnow
from shared.events.registrations import RegistrationSubmitted
from shared.testing import Stack

from .common import Result

N = 3000


async def run(stack: Stack) -> list[Result]:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, linger_ms=5)
    await producer.start()
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url)
    outbox = client["themenforum_agenda"]["outbox"]
    tag = uuid.uuid4().hex[:8]
    events = [
        make_event("registration.submitted", subject=f"bench-{tag}-{i}", source="bench", data=RegistrationSubmitted(
            registration_id=f"bench-{tag}-{i}", forum_id="themenforum-2", participant_id=f"p-{tag}-{i}",
            first_name="B", last_name="P", email=f"b{i}.{tag}@example.org", organisation="O", actor_group="company",
            municipality="Essen", preferences=["tf2-ws1"], consent_version="1", submitted_at=utcnow()))
        for i in range(N)
    ]
    causes = [f"event:{e.id}" for e in events]
    started = time.perf_counter()
    futures = [await producer.send("forum.registrations", encode(e), key=e.subject.encode()) for e in events]
    await asyncio.gather(*futures)
    while await outbox.count_documents({"_id": {"$in": causes}}) < N:
        if time.perf_counter() - started > 300:
            break
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - started
    done = await outbox.count_documents({"_id": {"$in": causes}})
    await producer.stop()
    await client.close()
    return [Result("agenda: projection of registration.submitted (bus → store)", done, elapsed, [], "events",
                   note="events produced straight onto the bus", floor="kafka")]
