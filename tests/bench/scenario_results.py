"""Results benchmarks: live projection throughput, in-memory fold (the rebuild's core), rebuild from the topics
(equal to live?), rebuild from N produced events (BENCH_REBUILD_N, default 1,000,000), report generation for 20 fora."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from services.results import rebuild
from shared.events import encode, make_event
from shared.events.registrations import RegistrationSubmitted
from shared.events.results import IdeaCaptured, SketchSubmitted, VoteCast
from shared.events.selection import SelectionDecided
from shared.testing import Stack

from .common import Result
from .rebuild_load import rebuild_from_events

GROUPS = ["company", "research", "municipality", "chamber", "finance", "civil_society"]


def synthetic(n: int, forum: str) -> list[bytes]:
    """A realistic mix: registrations, decisions, ideas, votes (encoded like on the bus)."""
    now, out = datetime.now(UTC), []
    for i in range(n):
        kind, ws = i % 4, f"{forum}-ws{i % 3 + 1}"
        if kind == 0:
            data = RegistrationSubmitted(registration_id=f"{forum}-r{i}", forum_id=forum, participant_id=f"p{i}", first_name="A", last_name="B",
                                         email="a@example.org", organisation="O", actor_group=GROUPS[i % 6], municipality="Essen",
                                         preferences=[ws], consent_version="1", submitted_at=now)
            out.append(encode(make_event("registration.submitted", subject=data.registration_id, data=data, source="bench")))
        elif kind == 1:
            data = SelectionDecided(registration_id=f"{forum}-r{i - 1}", forum_id=forum, participant_id=f"p{i - 1}", status="accepted",
                                    workshop_id=ws, actor_group=GROUPS[(i - 1) % 6], municipality="Essen", first_choice=True)
            out.append(encode(make_event("selection.decided", subject=data.registration_id, data=data, source="bench")))
        elif kind == 2:
            data = IdeaCaptured(idea_id=f"{forum}-i{i}", workshop_id=ws, forum_id=forum, title=f"Idee {i}", cluster=f"C{i % 5}")
            out.append(encode(make_event("result.idea_captured", subject=ws, data=data, source="bench")))
        else:
            data = VoteCast(vote_id=f"v{i}", workshop_id=ws, forum_id=forum, voter_id=f"x{i % 50}", target_id=f"{forum}-s{i % 9}", dots=1)
            out.append(encode(make_event("result.vote_cast", subject=ws, data=data, source="bench")))
    return out


async def live_projection(stack: Stack, n: int) -> Result:
    """Events produced onto forum.results until the live read model holds them all."""
    forum = f"bench-results-{uuid.uuid4().hex[:6]}"
    values = [encode(make_event("result.idea_captured", subject=f"{forum}-ws{i % 3}", source="bench", data=IdeaCaptured(
        idea_id=f"{forum}-i{i}", workshop_id=f"{forum}-ws{i % 3}", forum_id=forum, title=f"Idee {i}"))) for i in range(n)]
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url)
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        for i, value in enumerate(values):
            await producer.send("forum.results", value, key=f"{forum}-ws{i % 3}".encode())
        await producer.flush()
        collection = client.themenforum_results.reporting_ideas
        deadline = started + 60
        while await collection.count_documents({"forum_id": forum}) < n and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        done = await collection.count_documents({"forum_id": forum})
        return Result("results_live_projection", done, time.perf_counter() - started, unit="events",
                      note="forum.results → reporting_ideas, one transaction per event" + ("" if done == n else f" (only {done}/{n})"),
                      floor="mongo")
    finally:
        await producer.stop()
        await client.close()


async def fold_in_memory(n: int) -> Result:
    values = synthetic(n, "bench-fold")
    started = time.perf_counter()
    await rebuild.fold(values)
    seconds = time.perf_counter() - started
    return Result("results_fold_in_memory", n, seconds, unit="events",
                  note=f"decode + rules, the rebuild's core; 1M events ≈ {seconds * 1_000_000 / n:.0f} s (extrapolated)")


async def rebuild_from_topics(stack: Stack) -> Result:
    """The rebuild command's work on this run's topics, compared with the live read models at the same position."""
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url)
    reader = rebuild.TopicReader(stack.bootstrap)
    await reader.start()
    try:
        started = time.perf_counter()
        view = await rebuild.fold(reader.drain())
        read_s = time.perf_counter() - started
        diff, rounds = await rebuild.settle(client.themenforum_results, reader, view, time.perf_counter() + 120)
        return Result("results_rebuild_from_topics", view.events, read_s, unit="events",
                      note=f"read all topics from 0 and fold (timed); then write and compare with the live read models, "
                           f"following the topics {rounds} round(s) while the live side caught up: "
                           + ("equal" if not diff else f"differs {diff}"), floor="kafka")
    finally:
        await reader.stop()
        await client.close()


async def seed_fora(stack: Stack, fora: int) -> list[str]:
    """20 fora with 3 workshops, ideas, sketches and votes, written straight into the read models."""
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url)
    db, ids = client.themenforum_results, []
    tag = uuid.uuid4().hex[:6]
    for f in range(fora):
        forum = f"bench-forum-{tag}-{f + 1}"
        ids.append(forum)
        await db.catalogue_fora.insert_one({"_id": forum, "forum_id": forum, "title": f"Themenforum {f + 1}: Benchmark", "revision": 1})
        await db.catalogue_workshops.insert_many([{"_id": f"{forum}-ws{w}", "workshop_id": f"{forum}-ws{w}", "forum_id": forum, "number": w,
                                                   "title": f"Workshop {w} des Forums {f + 1}", "seats": 30, "revision": 1} for w in (1, 2, 3)])
        await db.reporting_ideas.insert_many([{"_id": f"{forum}-i{i}", "idea_id": f"{forum}-i{i}", "workshop_id": f"{forum}-ws{i % 3 + 1}",
                                               "forum_id": forum, "title": f"Idee {i}", "cluster": f"Cluster {i % 4}", "revision": 1} for i in range(30)])
        await db.reporting_sketches.insert_many([{"_id": f"{forum}-s{s}", **SketchSubmitted(
            sketch_id=f"{forum}-s{s}", workshop_id=f"{forum}-ws{s % 3 + 1}", forum_id=forum, title=f"Skizze {s}", goal="Ziel",
            funding_need_eur=100000, idea_ids=[f"{forum}-i{s}", f"{forum}-i{s + 3}"]).model_dump(mode="json")} for s in range(9)])
        await db.reporting_votes.insert_many([{"_id": f"{forum}-s{s}", "forum_id": forum, "workshop_id": f"{forum}-ws{s % 3 + 1}",
                                               "dots": 5 * s + 3, "votes": s + 2, "voters": [f"v{k}" for k in range(s + 2)]} for s in range(9)])
        await db.reporting_participation.insert_many([{"_id": f"{forum}|{forum}-ws{w}|{g}|Essen", "forum_id": forum, "workshop_id": f"{forum}-ws{w}",
                                                       "actor_group": g, "municipality": "Essen", "registered": 6, "accepted": 4}
                                                      for w in (1, 2, 3) for g in GROUPS])
    await client.close()
    return ids


async def reports(stack: Stack, fora: list[str]) -> list[Result]:
    out = []
    async with httpx.AsyncClient(timeout=120) as http:
        for name, path, subset in (("results_report_json", "/api/v1/reports/{}", fora), ("results_report_html", "/berichte/{}", fora),
                                   ("results_report_pdf", "/api/v1/reports/{}.pdf", fora[:3])):
            latencies, started = [], time.perf_counter()
            for forum in subset:
                t = time.perf_counter()
                answer = await http.get(stack.url("results", path.format(forum)))
                answer.raise_for_status()
                latencies.append((time.perf_counter() - t) * 1000)
            out.append(Result(name, len(subset), time.perf_counter() - started, latencies, unit="reports",
                              note=f"{len(subset)} fora × 3 workshops, 30 ideas, 9 sketches each"))
    return out


async def run(stack: Stack) -> list[Result]:
    results = [await live_projection(stack, int(os.environ.get("BENCH_RESULTS_N", 500))),
               await fold_in_memory(int(os.environ.get("BENCH_RESULTS_FOLD_N", 100_000))),
               await rebuild_from_topics(stack)]
    results += await rebuild_from_events(stack, int(os.environ.get("BENCH_REBUILD_N", 1_000_000)))
    results += await reports(stack, await seed_fora(stack, 20))
    return results
