"""Agenda: conflict-check time for 20 fora × 3 workshops × 15 items (pure CPU); publish → event on the topic."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import httpx
from confluent_kafka import OFFSET_END, Consumer, TopicPartition

from services.agenda.conflicts import detect_conflicts
from services.agenda.domain import DayWindow, Room
from shared.events.agenda import AgendaItemData

from .common import Result

TZ = ZoneInfo("Europe/Berlin")
DAY = date(2027, 3, 25)


def synthetic_forum(forum: int, rng: random.Random) -> tuple[list[AgendaItemData], list[str], dict[str, Room]]:
    """Three parallel workshops of 15 items each, mostly back to back, with a few collisions."""
    workshops = [f"f{forum}-ws{w}" for w in range(1, 4)]
    rooms = {f"r{r}": Room(f"r{r}", f"Raum {r}", rng.choice([30, 40, 60])) for r in range(5)}
    items = []
    for w, workshop in enumerate(workshops):
        start = datetime.combine(DAY, clock(9, 0), TZ)
        for k in range(15):
            length = timedelta(minutes=rng.choice([15, 30, 30, 45]))
            items.append(AgendaItemData(
                item_id=f"{workshop}-{k}", workshop_id=workshop, starts_at=start, ends_at=start + length, title=f"Punkt {k}",
                kind="break" if k % 4 == 3 else "working_phase", room=f"r{w}" if rng.random() > 0.05 else f"r{rng.randrange(5)}",
                moderators=[f"M{w}"] if rng.random() > 0.05 else [f"M{rng.randrange(3)}"]))
            start += length + timedelta(minutes=rng.choice([0, 0, 0, 0, 5]))
    return items, workshops, rooms


def conflict_check(repeats: int = 20) -> Result:
    rng = random.Random(7)
    fora = [synthetic_forum(f, rng) for f in range(20)]
    window = [DayWindow(DAY, clock(8, 30), clock(18, 0))]
    latencies, found = [], 0
    started = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        for items, workshops, rooms in fora:
            found += len(detect_conflicts(items, workshops=workshops, rooms=rooms, accepted={w: 25 for w in workshops}, days=window))
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    return Result("agenda: conflict check, 20 fora × 3 workshops × 15 items", repeats * 20, elapsed, latencies, "fora",
                  note=f"latency = all 20 fora (900 items); {found // repeats} conflicts found per pass; pure CPU")


def _watch(bootstrap: str) -> Consumer:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4()}", "enable.auto.commit": False})
    partitions = consumer.list_topics("forum.agenda", timeout=10).topics["forum.agenda"].partitions
    consumer.assign([TopicPartition("forum.agenda", p, OFFSET_END) for p in partitions])
    consumer.poll(0.5)  # settle the assignment before the first publish
    return consumer


def _wait_for(consumer: Consumer, version: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = consumer.poll(0.05)
        if msg is not None and msg.error() is None and msg.key() == b"tf2-ws1" and f'"version":{version}'.encode() in msg.value():
            return True
    return False


async def publish_to_event(stack, rounds: int = 10) -> list[Result]:
    base, auth = stack.url("agenda"), stack.auth
    consumer = await asyncio.to_thread(_watch, stack.bootstrap)
    http_ms, e2e_ms = [], []
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            publish = f"{base}/api/v1/fora/themenforum-2/agenda/publish"
            await client.post(publish, headers=auth)
            started = time.perf_counter()
            for n in range(rounds):
                await client.post(f"{base}/api/v1/fora/themenforum-2/agenda/items/tf2-ws1-input/move",
                                  json={"minutes": 5 if n % 2 == 0 else -5}, headers=auth)
                version = (await client.get(f"{base}/api/v1/workshops/tf2-ws1/agenda")).json()["version"] + 1
                t0 = time.perf_counter()
                answer = await client.post(publish, headers=auth)
                http_ms.append((time.perf_counter() - t0) * 1000)
                assert answer.json()["published"], answer.text
                assert await asyncio.to_thread(_wait_for, consumer, version), f"agenda.updated v{version} not seen"
                e2e_ms.append((time.perf_counter() - t0) * 1000)
            elapsed = time.perf_counter() - started
    finally:
        consumer.close()
    return [
        Result("agenda: publish request (diff, version, outbox)", rounds, sum(http_ms) / 1000, http_ms, "publishes",
               note="POST …/agenda/publish, one changed workshop", floor="mongo"),
        Result("agenda: publish → agenda.updated consumed", rounds, elapsed, e2e_ms, "publishes",
               note="request start → event read by an outside consumer", floor="kafka"),
    ]


async def run(stack) -> list[Result]:
    return [conflict_check(), *await publish_to_event(stack)]
