"""The foundation slice: registrations over HTTP until each acknowledgement is recorded."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from pymongo import AsyncMongoClient

from shared.testing import Stack

from .common import Result

GROUPS = ["company", "research", "municipality", "chamber", "finance", "civil_society"]


def body(i: int) -> dict[str, object]:
    return {"first_name": "Bench", "last_name": f"Person {i}", "email": f"bench.{uuid.uuid4().hex[:10]}@example.org",
            "organisation": f"Organisation {i % 97}", "actor_group": GROUPS[i % len(GROUPS)], "municipality": "Essen",
            "preferences": [["tf2-ws1", "tf2-ws2", "tf2-ws3"][i % 3]], "consent": True}


async def registrations_to_acknowledgement(stack: Stack, n: int, concurrency: int = 16) -> list[Result]:
    """POST n registrations; measure HTTP latency and the time until notify recorded each mail as sent."""
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url)
    deliveries = client["themenforum_notify"]["deliveries"]
    before = await deliveries.count_documents({"template": "acknowledgement", "status": "sent"})
    http_latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    posted_at: list[float] = []

    async with httpx.AsyncClient(timeout=60) as http:
        async def post(i: int) -> None:
            async with sem:
                t0 = time.perf_counter()
                answer = await http.post(stack.url("registration", "/api/v1/registrations"), json=body(i))
                http_latencies.append((time.perf_counter() - t0) * 1000)
                assert answer.status_code == 202, answer.text
                posted_at.append(t0)

        started = time.perf_counter()
        await asyncio.gather(*(post(i) for i in range(n)))
        http_elapsed = time.perf_counter() - started
    done_at = []
    while True:
        sent = await deliveries.count_documents({"template": "acknowledgement", "status": "sent"})
        if sent - before >= n:
            break
        if time.perf_counter() - started > 600:
            raise TimeoutError(f"only {sent - before} of {n} acknowledgements after 600 s")
        done_at.append(time.perf_counter())
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    # End-to-end latency per registration: from its POST to the delivery's sent_at (server clock, same machine).
    cursor = deliveries.find({"template": "acknowledgement", "status": "sent"}, {"created_at": 1, "sent_at": 1}).sort("sent_at", -1).limit(n)
    e2e = [(d["sent_at"] - d["created_at"]).total_seconds() * 1000 async for d in cursor]
    await client.close()
    return [
        Result("slice: HTTP intake (POST /api/v1/registrations)", n, http_elapsed, http_latencies, "requests",
               note=f"concurrency {concurrency}", floor="mongo"),
        Result("slice: registration → acknowledgement recorded", n, elapsed, e2e, "registrations",
               note="latency = delivery queued → sent", floor="kafka"),
    ]
