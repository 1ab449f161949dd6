"""Registration: intake over HTTP, submission → decision latency, and the batch optimiser at 10k and 100k applicants."""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import Any

import aiohttp
import httpx

from services.registration.optimiser import Applicant, assign
from services.registration.selection import WorkshopFill
from shared.testing import Stack
from tests.conftest import person
from tests.integration.selection_support import seeded_copy
from tests.kafka import read_topic

from .common import Result, post_json

GROUPS = ["company", "research", "municipality", "chamber", "finance", "civil_society"]


def _forum(stack: Stack) -> tuple[str, list[str]]:
    with httpx.Client(timeout=30) as http:
        forum_id, workshops = seeded_copy(stack, http)
    return forum_id, list(workshops)


async def _intake(stack: Stack, n: int) -> tuple[Result, dict[str, float]]:
    forum_id, workshops = _forum(stack)
    rng = random.Random(5)
    bodies = [person(forum_id=forum_id, preferences=rng.sample(workshops, 3), actor_group=rng.choice(GROUPS),
                     organisation=f"Org {rng.randrange(300)}") for _ in range(n)]
    url, sem = stack.url("registration", "/api/v1/registrations"), asyncio.Semaphore(16)
    latencies, sent_at = [], {}

    async def one(client: aiohttp.ClientSession, body: dict[str, Any]) -> None:
        async with sem:
            started = time.perf_counter()
            wall = time.time()
            status, answer = await post_json(client, url, body)
            latencies.append((time.perf_counter() - started) * 1000)
            assert status == 202, answer
            sent_at[answer["id"]] = wall

    began = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as client:
        await asyncio.gather(*(one(client, b) for b in bodies))
    seconds = time.perf_counter() - began
    return Result("registration: intake over HTTP (16 concurrent)", n, seconds, latencies, "req", floor="mongo_insert_many"), sent_at


def _decision_latency(stack: Stack, sent_at: dict[str, float]) -> Result:
    decided: dict[str, float] = {}

    seen = 0

    def collect(messages: list[Any]) -> bool:
        nonlocal seen
        for m in messages[seen:]:
            key = (m.key() or b"").decode()
            if key in sent_at and key not in decided:
                decided[key] = m.timestamp()[1] / 1000
        seen = len(messages)
        return len(decided) == len(sent_at)

    read_topic(stack.bootstrap, "forum.selection", until=collect, timeout=120)
    latencies = [max(0.0, (decided[k] - sent_at[k]) * 1000) for k in decided]
    span = max(decided.values()) - min(sent_at.values()) if decided else 0
    return Result("registration: submission → selection.decided", len(decided), span, latencies, "decisions",
                  floor="kafka_produce_consume", note="broker timestamp of the decision minus the client's send time")


def _optimiser(n: int, fora: int = 20) -> Result:
    rng = random.Random(n)
    workshops = {}
    for f in range(fora):
        for k in range(3):
            wid = f"f{f}-ws{k + 1}"
            workshops[wid] = WorkshopFill(wid, k + 1, wid, 30, 3, {g: {"min": 2, "max": 10} for g in GROUPS}, 2)
    applicants = []
    for i in range(n):
        f = rng.randrange(fora)
        prefs = tuple(f"f{f}-ws{k + 1}" for k in rng.sample(range(3), rng.randint(1, 3)))
        applicants.append(Applicant(str(i), rng.choice(GROUPS), f"org{rng.randrange(max(1, n // 4))}", prefs))
    began = time.perf_counter()
    result = assign(applicants, workshops, seed=42)
    seconds = time.perf_counter() - began
    placed = sum(1 for w in result.placed.values() if w)
    return Result(f"registration: batch optimiser {n:,} applicants × 60 workshops", n, seconds, [seconds * 1000], "applicants",
                  note=f"optimality gap {result.gap:g}; placed {placed}; solver {result.solve_seconds:.1f} s; seed 42")


async def run(stack: Stack) -> list[Result]:
    n = int(os.environ.get("BENCH_REGISTRATION_N", 300))
    intake, sent_at = await _intake(stack, n)
    results = [intake, _decision_latency(stack, sent_at)]
    for size in () if os.environ.get("BENCH_SKIP_OPT") else (10_000, 100_000):
        results.append(await asyncio.to_thread(_optimiser, size))
    return results
