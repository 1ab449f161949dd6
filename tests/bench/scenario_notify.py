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


BUDGET_S = float(os.environ.get("BENCH_NOTIFY_BUDGET_S", 150))  # the whole scenario ends by then, with what it got


async def _until(check, deadline: float, interval: float = 0.2) -> bool:  # type: ignore[no-untyped-def]
    """Wait for a condition, but not past the scenario's deadline (monotonic); False when it ran out."""
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval)
    return True


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
    deadline = time.monotonic() + BUDGET_S
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url)
    db = client["themenforum_notify"]
    try:
        return await _measure(stack, db, n, deadline)
    finally:
        await client.close()


async def _measure(stack: Stack, db, n: int, deadline: float) -> list[Result]:  # type: ignore[no-untyped-def]
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
    # Set-up (catalogue, addresses, the acknowledgements) gets at most half the budget; earlier scenarios' mail may still drain.
    setup_deadline = time.monotonic() + (deadline - time.monotonic()) / 2
    ready = (await _until(lambda: _count(db.catalogue_workshops, {"_id": ws}, 1), setup_deadline)
             and await _until(lambda: _count(db.recipients, {"_id": {"$in": [p for _, p in people]}}, n), setup_deadline))
    backlog_drained = await _until(lambda: _count(db.deliveries, {"status": {"$in": ["pending", "sending"]}}, 0, exact=True),
                                   setup_deadline)
    if not ready:
        return [Result("notify: decisions → accepted mails (with ICS) at the SMTP sink", 0, BUDGET_S, unit="mails",
                       note=f"set-up did not finish within the budget ({BUDGET_S:.0f} s): notify had not projected the "
                            "catalogue and addresses yet", floor="kafka")]

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
    # Leave a fifth of what remains for the one-at-a-time measurement.
    main_deadline = time.monotonic() + (deadline - time.monotonic()) * 0.8
    complete = await _until(lambda: _count(db.deliveries, {"_id": {"$in": list(wanted)}, "status": "sent"}, n), main_deadline)
    arrived = await asyncio.to_thread(_sink_times, stack, wanted)
    docs = [d async for d in db.deliveries.find({"_id": {"$in": list(wanted)}, "status": "sent"}, {"created_at": 1, "sent_at": 1})]
    split = ""
    if docs:
        queued = sorted(d["created_at"].timestamp() - started for d in docs)
        sending = sorted((d["sent_at"] - d["created_at"]).total_seconds() for d in docs)
        split = f"; handler queued them by {queued[-1]:.1f} s; queued → sent p50 {sending[len(sending) // 2]:.1f} s"
    single = await _one_at_a_time(stack, db, forum, ws, people[: int(os.environ.get("BENCH_NOTIFY_SINGLE", 20))], deadline)
    latencies = [(arrived[d] - produced_at[d]) * 1000 for d in arrived]
    elapsed = (max(arrived.values()) - started) if arrived else time.time() - started
    note = (f"{n} decisions produced at once; latency = produce → sink file{split}"
            + ("" if complete else f"; BOUNDED: only {len(arrived)}/{n} within the {BUDGET_S:.0f} s budget")
            + ("" if backlog_drained else "; earlier scenarios' mail was still queued at the start"))
    return [Result("notify: decisions → accepted mails (with ICS) at the SMTP sink", len(arrived), elapsed, latencies, "mails",
                   note=note, floor="kafka"), single]


async def _one_at_a_time(stack: Stack, db, forum: str, ws: str, people: list[tuple[str, str]],  # type: ignore[no-untyped-def]
                         deadline: float) -> Result:
    """Decision → mail latency without a queue: one cancellation at a time (stops at the scenario's deadline)."""
    latencies, started = [], time.time()
    for reg, pid in people:
        event = make_event("selection.decided", subject=reg, source="bench", data=SelectionDecided(
            registration_id=reg, forum_id=forum, participant_id=pid, status="cancelled", workshop_id=None,
            actor_group="company", decision_seq=2))
        did = delivery_id(f"decision:{reg}:2", pid, "cancelled")
        t0 = time.time()
        produce(stack.bootstrap, "forum.selection", [(reg.encode(), encode(event))])
        if not await _until(lambda did=did: _count(db.deliveries, {"_id": did, "status": "sent"}, 1), deadline, interval=0.02):
            break
        arrived = await asyncio.to_thread(_sink_times, stack, {did})
        if did in arrived:
            latencies.append((arrived[did] - t0) * 1000)
    bounded = "" if len(latencies) == len(people) else f"; BOUNDED: {len(latencies)}/{len(people)} within the budget"
    return Result("notify: one decision at a time → mail at the SMTP sink", len(latencies), time.time() - started,
                  latencies, "mails", note="sequential cancellations; latency = produce → sink file" + bounded, floor="kafka")


async def _count(collection, query, target: int, exact: bool = False) -> bool:  # type: ignore[no-untyped-def]
    found = await collection.count_documents(query)
    return found == target if exact else found >= target
