"""Notify: decisions on the bus until their mails reach the SMTP sink (mails per second, decision → mail latency)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import date
from email.parser import BytesHeaderParser

from pymongo import AsyncMongoClient

from services.notify.domain import delivery_id
from shared.events import encode, make_event, utcnow
from shared.events.catalogue import ForumConfigured, WorkshopConfigured
from shared.events.registrations import RegistrationSubmitted
from shared.events.selection import SelectionDecided
from shared.testing import Stack
from tests.kafka import produce

from .common import Result


async def _wait(check, timeout: float = 300, interval: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (value := await check()):
        if time.monotonic() > deadline:
            raise TimeoutError("notify bench: condition not met")
        await asyncio.sleep(interval)
    return value


def _sink_times(stack: Stack, wanted: set[str]) -> dict[str, float]:
    """Arrival time (epoch seconds, from the sink's file name) of each wanted delivery."""
    parser, found = BytesHeaderParser(), {}
    for path in stack.maildir.glob("*.eml"):
        with path.open("rb") as fh:
            headers = parser.parse(fh)
        did = headers.get("X-Themenforum-Delivery")
        if did in wanted:
            found[did] = int(path.name.split("-", 1)[0]) / 1e9
    return found


async def run(stack: Stack) -> list[Result]:
    n = int(os.environ.get("BENCH_NOTIFY_N", 200))
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url)
    db = client["themenforum_notify"]
    forum = f"bench-{uuid.uuid4().hex[:6]}"
    ws = f"{forum}-ws1"
    produce(stack.bootstrap, "forum.catalogue", [
        (forum.encode(), encode(make_event("forum.configured", subject=forum, source="bench", data=ForumConfigured(
            forum_id=forum, title="Benchmark-Forum", starts_on=date(2027, 9, 1))))),
        (forum.encode(), encode(make_event("workshop.configured", subject=ws, source="bench", data=WorkshopConfigured(
            workshop_id=ws, forum_id=forum, number=1, title="Benchmark-Workshop", seats=n))))])
    people = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(n)]
    produce(stack.bootstrap, "forum.registrations", [(reg.encode(), encode(make_event(
        "registration.submitted", subject=reg, source="bench", data=RegistrationSubmitted(
            registration_id=reg, forum_id=forum, participant_id=pid, first_name="Bench", last_name="Person",
            email=f"bench.{pid[:12]}@example.org", organisation="Bench", actor_group="company", municipality="Essen",
            preferences=[ws], consent_version="1", submitted_at=utcnow())))) for reg, pid in people])
    await _wait(lambda: _count(db.catalogue_workshops, {"_id": ws}, 1))
    await _wait(lambda: _count(db.recipients, {"_id": {"$in": [p for _, p in people]}}, n))
    await _wait(lambda: _count(db.deliveries, {"status": {"$in": ["pending", "sending"]}}, 0, exact=True))

    decisions, produced_at = [], {}
    for reg, pid in people:
        decisions.append((reg.encode(), encode(make_event("selection.decided", subject=reg, source="bench", data=SelectionDecided(
            registration_id=reg, forum_id=forum, participant_id=pid, status="accepted", workshop_id=ws,
            actor_group="company", decision_seq=1)))))
    wanted = {delivery_id(f"decision:{reg}:1", pid, "accepted") for reg, pid in people}
    started = time.time()
    produce(stack.bootstrap, "forum.selection", decisions)
    for did in wanted:
        produced_at[did] = started
    await _wait(lambda: _count(db.deliveries, {"_id": {"$in": list(wanted)}, "status": "sent"}, n), interval=0.2)
    arrived = await asyncio.to_thread(_sink_times, stack, wanted)
    docs = [d async for d in db.deliveries.find({"_id": {"$in": list(wanted)}}, {"created_at": 1, "sent_at": 1})]
    queued = sorted(d["created_at"].timestamp() - started for d in docs)
    sending = sorted((d["sent_at"] - d["created_at"]).total_seconds() for d in docs)
    split = f"handler queued all by {queued[-1]:.1f} s; queued → sent p50 {sending[len(sending) // 2]:.1f} s"
    single = await _one_at_a_time(stack, db, forum, ws, people[: int(os.environ.get("BENCH_NOTIFY_SINGLE", 20))])
    await client.close()
    latencies = [(arrived[d] - produced_at[d]) * 1000 for d in arrived]
    elapsed = max(arrived.values()) - started
    return [Result("notify: decisions → accepted mails (with ICS) at the SMTP sink", len(arrived), elapsed, latencies, "mails",
                   note=f"{n} decisions produced at once; latency = produce → sink file; {split}",
                   floor="kafka"), single]


async def _one_at_a_time(stack: Stack, db, forum: str, ws: str, people: list[tuple[str, str]]) -> Result:  # type: ignore[no-untyped-def]
    """Decision → mail latency without a queue: one waitlisted → accepted move-up at a time."""
    latencies, started = [], time.time()
    for reg, pid in people:
        event = make_event("selection.decided", subject=reg, source="bench", data=SelectionDecided(
            registration_id=reg, forum_id=forum, participant_id=pid, status="cancelled", workshop_id=None,
            actor_group="company", decision_seq=2))
        did = delivery_id(f"decision:{reg}:2", pid, "cancelled")
        t0 = time.time()
        produce(stack.bootstrap, "forum.selection", [(reg.encode(), encode(event))])
        await _wait(lambda: _count(db.deliveries, {"_id": did, "status": "sent"}, 1), timeout=60, interval=0.02)
        arrived = await asyncio.to_thread(_sink_times, stack, {did})
        latencies.append((arrived[did] - t0) * 1000)
    return Result("notify: one decision at a time → mail at the SMTP sink", len(latencies), time.time() - started,
                  latencies, "mails", note="sequential cancellations; latency = produce → sink file", floor="kafka")


async def _count(collection, query, target: int, exact: bool = False) -> bool:  # type: ignore[no-untyped-def]
    found = await collection.count_documents(query)
    return found == target if exact else found >= target
