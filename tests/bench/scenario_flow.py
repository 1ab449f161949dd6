"""The registration rush (#9): many registrations across 20 fora × 3 workshops through the whole flow.

Rows: HTTP intake at full speed; registration → decision persisted and published; the whole
flow (decision, agenda projection, reporting projection, notification recorded); then a
paced run at 80 % of the whole flow's rate for its latency (the rate the platform sustains: with
256 requests in flight the decisions alone ran ahead of the projections at about 1.25 times that
rate, so 80 % of the decision rate was the whole flow's full capacity and the latency measured
the queue growing; before 2026-11-27 the run took 80 % of the decision rate). Quotas are checked exactly
and every registration must have exactly one first decision. Environment: BENCH_FLOW_N
(default 20000), BENCH_FLOW_CONCURRENCY (default 256), BENCH_FLOW_PACED_RATE (a fixed rate for the
paced run instead of 80 % of the whole flow's rate, to see latency at another load).

The full-speed run offers a rush: 256 requests in flight, as many as the paced run uses. The
senders wait for their answers, so with 64 (the default before 2026-11-27) the offered load was
64 / latency, about 100 per second here, and the intake's group commits could never hold more
than 64 registrations while the floor writes 200 at a time. The platform then idled at 1.7 of 2
cores and the rows measured the client's ceiling. With 256 (BENCH_FLOW_N=5000, one run each):
intake 106 -> 170 req/s, decisions 103 -> 151/s, whole flow 97 -> 115/s, the store's CPU per
registration 8.2 -> 6.9 ms (larger groups), intake p50 590 -> 1,465 ms (requests queue at capacity).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from typing import Any

import aiohttp
import httpx
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from shared import topics
from shared.testing import Stack, consumer_batch_totals, gc_totals
from tests.conftest import person
from tests.integration.selection_support import seeded_copy

from .common import CpuWindow, Result, post_json

GROUPS = ["company", "research", "municipality", "chamber", "finance", "civil_society"]


def _fora(stack: Stack, count: int = 20) -> dict[str, list[str]]:
    with httpx.Client(timeout=60) as http:
        return {forum: list(workshops) for forum, workshops in (seeded_copy(stack, http) for _ in range(count))}


def _bodies(fora: dict[str, list[str]], n: int, seed: int) -> list[dict[str, Any]]:
    rng, ids = random.Random(seed), sorted(fora)
    out = []
    for _ in range(n):
        forum = rng.choice(ids)
        out.append(person(forum_id=forum, preferences=rng.sample(fora[forum], 3), actor_group=rng.choice(GROUPS),
                          organisation=f"Org {rng.randrange(400)}"))
    return out


async def _post_all(stack: Stack, bodies: list[dict[str, Any]], concurrency: int, rate: float | None = None
                    ) -> tuple[float, list[float], dict[str, float]]:
    """POST every body (at most `rate` per second when given); returns seconds, latencies and send times by id.

    `concurrency` senders, each with a connection of its own: one httpx client shared by 64
    concurrent requests spent about 600 ms per request in its own connection pool, so the bench
    measured its client, not the service. The senders use aiohttp: httpx spent 2.3-2.6 ms of CPU
    per request (2.67 ms per registration in the flow's CPU rows), aiohttp 0.2 ms, and on two
    cores the load generator's CPU is taken from the platform it loads.
    """
    url = stack.url("registration", "/api/v1/registrations")
    latencies: list[float] = []
    sent: dict[str, float] = {}
    todo = iter(enumerate(bodies))
    began = time.perf_counter()

    async def sender() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120),
                                         connector=aiohttp.TCPConnector(limit=1)) as client:
            for i, body in todo:
                if rate:
                    await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
                wall, t0 = time.time(), time.perf_counter()
                try:
                    status, answer = await post_json(client, url, body)
                except aiohttp.ClientConnectionError:
                    status, answer = await post_json(client, url, body)  # a dropped connection: the same person again
                latencies.append((time.perf_counter() - t0) * 1000)
                assert status in (200, 202), answer
                sent[answer["id"]] = wall

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return time.perf_counter() - began, latencies, sent


def next_poll(done: int, n: int, rate: float | None, *, least: float = 0.5, most: float = 5.0) -> float:
    """Seconds to the next poll: half the time the rest should take at `rate`, within [least, most].

    Each poll reads every id counted so far, so polling once a second cost the store about
    0.35 ms per registration of a 20,000 run: the bench slowed the flow it measured. Polls now
    come rarely while much is left and every `least` seconds near the end, where they set the
    measured time. Without a rate yet, one second.
    """
    if not rate or rate <= 0:
        return 1.0
    return min(most, max(least, (n - done) / rate / 2))


async def _wait(count: Any, n: int, timeout: float = 1200) -> float:
    """Seconds until `count()` reaches n (polled, see `next_poll`)."""
    began = time.perf_counter()
    first: tuple[float, int] | None = None
    while (done := await count()) < n:
        now = time.perf_counter()
        if now - began > timeout:
            raise TimeoutError(f"{done} of {n} after {timeout:.0f} s")
        first = first or (now, done)
        rate = (done - first[1]) / (now - first[0]) if now > first[0] else None
        await asyncio.sleep(next_poll(done, n, rate))
    return time.perf_counter() - began


class _Flow:
    """Counters over the four services' stores for the bench's fora.

    Counted with `find` (index lookups), never `count_documents`: that is an aggregation, which the
    embedded store runs as a scan comparing every document with every value of an `$in`, and the
    bench's own polling then starved the flow it measures.
    """

    def __init__(self, client: AsyncMongoClient, fora: list[str]) -> None:
        self.client, self.fora = client, fora

    def _q(self) -> dict[str, Any]:
        return {"forum_id": {"$in": self.fora}}

    async def _count(self, collection: Any, extra: dict[str, Any] | None = None) -> int:
        return len([d async for d in collection.find({**self._q(), **(extra or {})}, {"_id": 1})])

    async def decided(self) -> int:
        return await self._count(self.client.themenforum_registration.registrations, {"decision_seq": {"$gte": 1}})

    async def agenda(self) -> int:
        return await self._count(self.client.themenforum_agenda.decisions)

    async def results(self) -> int:
        return await self._count(self.client.themenforum_results.decisions)

    async def notify(self) -> int:
        return await self._count(self.client.themenforum_notify.decisions)

    async def mails_sent(self) -> int:
        """Mails of the bench's fora the SMTP server has taken (the sender works through them at its rate limit)."""
        return await self._count(self.client.themenforum_notify.deliveries, {"status": "sent"})


async def _decision_latencies(client: AsyncMongoClient, sent: dict[str, float]) -> list[float]:
    """The first decision's time (its entry in the decision history) minus the client's send time."""
    cursor = client.themenforum_registration.registrations.find({"_id": {"$in": list(sent)}}, {"decision_history": 1})
    latencies = []
    async for reg in cursor:
        if history := reg.get("decision_history"):
            latencies.append(max(0.0, (history[0]["decided_at"].timestamp() - sent[reg["_id"]]) * 1000))
    return latencies


async def _service_metrics(stack: Stack) -> dict[str, str]:
    """Each service's `/metrics` text, now."""
    async with httpx.AsyncClient(timeout=10) as http:
        return {name: (await http.get(stack.url(name, "/metrics"))).text for name in stack.services}


def _batch_rows(before: dict[str, str], after: dict[str, str]) -> list[Result]:
    """Mean events per consumer poll during the flow: what each transaction's fixed costs are shared by."""
    rows = []
    for name, text in after.items():
        (events, polls), (events_0, polls_0) = consumer_batch_totals(text), consumer_batch_totals(before[name])
        if polls > polls_0:
            rows.append(Result(f"batches flow: {name}", int(events - events_0), polls - polls_0, [], "events per poll",
                               note=f"{polls - polls_0:,.0f} polls with new events"))
    return rows


def _gc_rows(before: dict[str, str], after: dict[str, str], n: int) -> list[Result]:
    """The garbage collector's share of each service during the flow (its pauses block the event loop)."""
    rows = []
    for name, text in after.items():
        (spent, full_s, full_n), (spent_0, full_s_0, full_n_0) = gc_totals(text), gc_totals(before[name])
        if spent > spent_0:  # a service that does not time its collections (older code in a ladder) has no row
            runs = full_n - full_n_0
            full = f"{runs:,.0f} full collection{'' if runs == 1 else 's'}, {1000 * (full_s - full_s_0) / runs:.0f} ms each" \
                if runs > 0 else "no full collection"
            rows.append(Result(f"gc flow: {name}", n, spent - spent_0, [], "registrations per GC-second",
                               note=f"{1000 * (spent - spent_0) / n:.3f} ms of collections per registration; {full}"))
    return rows


async def _check_invariants(client: AsyncMongoClient, fora: list[str], n: int) -> str:
    """Quotas exact and exactly one first decision each; returns a note (raises when broken)."""
    reg = client.themenforum_registration
    counted: dict[str, dict[str, int]] = {}
    async for row in await reg.registrations.aggregate([
            {"$match": {"forum_id": {"$in": fora}, "status": "accepted"}},
            {"$group": {"_id": {"w": "$workshop_id", "g": "$actor_group"}, "n": {"$sum": 1}}}]):
        counted.setdefault(row["_id"]["w"], {})[row["_id"]["g"]] = row["n"]
    async for w in reg.workshops.find({"forum_id": {"$in": fora}}):
        by_group = counted.get(w["_id"], {})
        assert sum(by_group.values()) == w["accepted"] <= w["seats"] - w.get("reserved_seats", 0), (w["_id"], by_group)
        for group, quota in w.get("quotas", {}).items():
            assert by_group.get(group, 0) <= quota["max"], (w["_id"], group, by_group)
    first = await reg.registrations.count_documents({"forum_id": {"$in": fora}, "decision_seq": 1})
    assert first == n, f"{first} first decisions for {n} registrations"
    return "quotas exact, one decision each"


async def run(stack: Stack) -> list[Result]:
    n = int(os.environ.get("BENCH_FLOW_N", 20000))
    concurrency = int(os.environ.get("BENCH_FLOW_CONCURRENCY", 256))
    fora = _fora(stack)
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
    flow = _Flow(client, list(fora))
    try:
        cpu, metrics, mails = CpuWindow(stack), await _service_metrics(stack), await flow.mails_sent()
        seconds, latencies, _ = await _post_all(stack, _bodies(fora, n, 1), concurrency)
        intake = Result(f"flow: HTTP intake, {concurrency} concurrent", n, seconds, latencies, "req", floor="flow_floor")
        began = time.perf_counter() - seconds
        decided_after = seconds + await _wait(flow.decided, n)
        caught_up = {}  # when each projection had every decision (the last one sets the whole flow's time)
        for name, count in (("agenda", flow.agenda), ("results", flow.results), ("notify", flow.notify)):
            await _wait(count, n)
            caught_up[name] = time.perf_counter() - began
        whole = Result("flow: whole flow (decision, agenda, reporting, notification recorded)", n,
                       time.perf_counter() - began, [], "registrations", floor="flow_floor")
        used = cpu.rows("cpu flow", n, floor_prefix="cpu floor")  # the mails still going out are not counted
        metrics_after = await _service_metrics(stack)
        used += _batch_rows(metrics, metrics_after) + _gc_rows(metrics, metrics_after, n)
        mailed = Result("mails flow: sent while the flow ran", await flow.mails_sent() - mails, whole.seconds, [], "mails",
                        note="competes with the flow for the CPU; at most MAIL_RATE_PER_S (50/s by default)")
        # Checked after the whole flow: the check's queries (about 1.5 s of the store's CPU at 20,000) are the
        # bench's, not the platform's, and must not slow the projections being timed.
        decisions = Result("flow: registration → decision persisted and published", n, decided_after, [], "decisions",
                           floor="flow_floor", note=await _check_invariants(client, list(fora), n))
        fixed = float(os.environ.get("BENCH_FLOW_PACED_RATE") or 0)
        rate, why = (fixed, "a fixed rate") if fixed else (max(50.0, 0.8 * whole.throughput), "80 % of the whole flow's rate")
        paced = await _paced(stack, client, fora, rate, min(n, 4000), decided=n, why=why)
        lag = Result("flow: projections caught up", n, whole.seconds, [], "registrations",
                     note="seconds after the first request: decisions " + f"{decided_after:.0f}, "
                     + ", ".join(f"{name} {at:.0f}" for name, at in caught_up.items())
                     + " (polled in this order: one done earlier shows as done with the one before)")
        return [intake, decisions, whole, lag, *paced, *used, mailed]
    finally:
        await client.close()


async def _paced(stack: Stack, client: AsyncMongoClient, fora: dict[str, list[str]], rate: float, n: int,
                 decided: int, why: str) -> list[Result]:
    """A steady stream at `rate`/s: intake and decision latency.

    Waits for the stream's decisions by forum (the `decided` registrations before it are all decided),
    not by id: an `$in` of 4,000 ids costs the embedded store about 4 s of CPU per poll, which slowed
    the last decisions of the stream that the latencies measure.
    """
    seconds, latencies, sent = await _post_all(stack, _bodies(fora, n, 2), concurrency=256, rate=rate)
    await _wait(_Flow(client, list(fora)).decided, decided + len(sent))
    return [Result(f"flow: HTTP intake paced at {rate:,.0f}/s", n, seconds, latencies, "req"),
            Result(f"flow: decision latency paced at {rate:,.0f}/s ({why})", n, seconds,
                   await _decision_latencies(client, sent), "decisions",
                   note="first decision's time (decision history) minus the client's send time"),
            *await _stages(stack, client, sent, rate, seconds)]


async def _stages(stack: Stack, client: AsyncMongoClient, sent: dict[str, float], rate: float, seconds: float
                  ) -> list[Result]:
    """Where the paced registrations' time went, stage by stage (one clock: this machine's).

    send → stored: HTTP, the intake queue and its group commit up to the registration's creation
    time; stored → on the bus: the commit and the publish (the broker's record timestamp);
    on the bus → decided: the decider's poll, batch and reads up to the decision's time; decided →
    on the bus: the decision's commit and publish.
    """
    docs = {d["_id"]: d async for d in client.themenforum_registration.registrations.find(
        {"_id": {"$in": list(sent)}}, {"created_at": 1, "decision_history": 1})}
    submitted = await _record_times(stack, topics.REGISTRATIONS, "registration.submitted", set(sent))
    decided = await _record_times(stack, topics.SELECTION, "selection.decided", set(sent))
    stages: dict[str, list[float]] = {"send → stored": [], "stored → on the bus": [], "on the bus → decided": [],
                                      "decided → decision on the bus": []}
    for rid, sent_at in sent.items():
        doc = docs.get(rid) or {}
        if not doc.get("decision_history"):
            continue
        stored, decided_at = doc["created_at"].timestamp(), doc["decision_history"][0]["decided_at"].timestamp()
        stages["send → stored"].append(max(0.0, stored - sent_at) * 1000)
        if rid in submitted:
            stages["stored → on the bus"].append(max(0.0, submitted[rid] - stored) * 1000)
            stages["on the bus → decided"].append(max(0.0, decided_at - submitted[rid]) * 1000)
        if rid in decided:
            stages["decided → decision on the bus"].append(max(0.0, decided[rid] - decided_at) * 1000)
    return [Result(f"flow: paced at {rate:,.0f}/s, stage: {name}", len(values), seconds, values, "registrations",
                   note="where the decision latency above goes")
            for name, values in stages.items()]


async def _record_times(stack: Stack, topic: str, event_type: str, subjects: set[str]) -> dict[str, float]:
    """The broker timestamp (seconds) of the first record of this type per subject, read from the topic's start."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    found: dict[str, float] = {}
    try:
        while batch := await consumer.getmany(timeout_ms=2000, max_records=5000):
            for records in batch.values():
                for record in records:
                    if not record.value:
                        continue
                    event = json.loads(record.value)
                    if event.get("type") == event_type and event.get("subject") in subjects:
                        found.setdefault(event["subject"], record.timestamp / 1000)
    finally:
        await consumer.stop()
    return found
