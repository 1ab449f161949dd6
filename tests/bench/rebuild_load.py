"""Rebuild from N events: N events produced by the outside client onto copies of the topics, then read, folded, written."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from confluent_kafka import Producer
from pymongo import AsyncMongoClient

from services.results import rebuild
from shared import topics
from shared.events import encode, make_event
from shared.events.notifications import NotificationSent
from shared.events.registrations import RegistrationSubmitted
from shared.events.results import IdeaCaptured, VoteCast
from shared.events.selection import SelectionDecided
from shared.testing import Stack

from .common import Result

GROUPS = ["company", "research", "municipality", "chamber", "finance", "civil_society"]
# Of every 10 events: 2 registrations, 2 decisions, 1 idea revision, 4 votes, 1 delivery report.
MIX = ("registration", "decision", "registration", "decision", "idea", "vote", "vote", "vote", "vote", "sent")


def _templates(forum: str) -> dict[str, dict]:
    """One encoded event per kind, as dicts to copy and vary (pydantic per event would dominate the set-up)."""
    now = datetime.now(UTC)
    samples = {
        "registration": ("registration.submitted", RegistrationSubmitted(
            registration_id="r", forum_id=forum, participant_id="p", first_name="A", last_name="B", email="a@example.org",
            organisation="O", actor_group="company", municipality="Essen", preferences=[f"{forum}-ws1"], consent_version="1",
            submitted_at=now)),
        "decision": ("selection.decided", SelectionDecided(
            registration_id="r", forum_id=forum, participant_id="p", status="accepted", workshop_id=f"{forum}-ws1",
            actor_group="company", municipality="Essen", first_choice=True)),
        "idea": ("result.idea_captured", IdeaCaptured(idea_id="i", workshop_id=f"{forum}-ws1", forum_id=forum, title="Idee")),
        "vote": ("result.vote_cast", VoteCast(vote_id="v", workshop_id=f"{forum}-ws1", forum_id=forum, voter_id="x", target_id="s",
                                              dots=1)),
        "sent": ("notification.sent", NotificationSent(notification_id="n", recipient_id="p", template="accepted",
                                                       cause_event_id="c", forum_id=forum, sent_at=now)),
    }
    return {kind: json.loads(encode(make_event(t, subject="s", source="bench", data=d))) for kind, (t, d) in samples.items()}


TOPIC_OF = {"registration": topics.REGISTRATIONS, "decision": topics.SELECTION, "idea": topics.RESULTS, "vote": topics.RESULTS,
            "sent": topics.NOTIFICATIONS}


def events(n: int, forum: str) -> Iterator[tuple[str, bytes, bytes]]:
    """(source topic, key, value) of n varied events; ids are unique, so every one is folded in."""
    base, tag = _templates(forum), uuid.uuid4().hex[:8]
    for i in range(n):
        kind = MIX[i % 10]
        event = dict(base[kind], id=f"{tag}-{i}")
        data = dict(event["data"])
        ws = f"{forum}-ws{i % 3 + 1}"
        if kind in ("registration", "decision"):
            person = i // 2  # a decision follows its registration
            group = GROUPS[person % 6]
            data.update(registration_id=f"{forum}-r{person}", participant_id=f"p{person}", actor_group=group)
            data["preferences" if kind == "registration" else "workshop_id"] = [ws] if kind == "registration" else ws
            key = data["registration_id"]
        elif kind == "idea":
            data.update(idea_id=f"{forum}-i{i % 5000}", workshop_id=ws, revision=i // 5000 + 1, title=f"Idee {i % 5000}")
            key = ws
        elif kind == "vote":
            data.update(vote_id=f"v{i}", workshop_id=ws, voter_id=f"x{i % 3000}", target_id=f"{forum}-s{i % 27}")
            key = ws
        else:
            data.update(notification_id=f"n{i}", recipient_id=f"p{i // 2}", template=("accepted", "waitlisted", "reminder")[i % 3])
            key = data["recipient_id"]
        event["data"], event["subject"] = data, key
        yield TOPIC_OF[kind], key.encode(), json.dumps(event, separators=(",", ":")).encode()


def produce_events(bootstrap: str, prefix: str, n: int, forum: str) -> float:
    """Produce n events onto `<prefix><topic>` with the outside client; returns seconds."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False, "linger.ms": 20,
                         "batch.num.messages": 10000, "queue.buffering.max.messages": 200000, "compression.type": "none"})
    started = time.perf_counter()
    for topic, key, value in events(n, forum):
        while True:
            try:
                producer.produce(prefix + topic, value=value, key=key)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(120) == 0
    return time.perf_counter() - started


async def rebuild_from_events(stack: Stack, n: int) -> list[Result]:
    """Produce n events, then time the rebuild: read every topic from 0 and fold, then write the read models."""
    forum, prefix = f"bench-rb-{uuid.uuid4().hex[:6]}", f"bench-{uuid.uuid4().hex[:6]}-"
    produce_s = await asyncio.to_thread(produce_events, stack.bootstrap, prefix, n, forum)
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url)
    reader = rebuild.TopicReader(stack.bootstrap, tuple(prefix + t for t in rebuild.SOURCE_TOPICS))
    await reader.start()
    try:
        started = time.perf_counter()
        view = await rebuild.fold(reader.drain())
        fold_s = time.perf_counter() - started
        await rebuild.write(client.themenforum_results, view, prefix="benchrebuild_")
        total_s = time.perf_counter() - started
        docs = sum(len(c) for c in view.collections.values())
        votes = sum(d.get("dots", 0) for d in view.collections.get("reporting_votes", {}).values())
    finally:
        await reader.stop()
        await client.close()
    complete = view.events == n and votes == n * 4 // 10
    note = (f"{n:,} events produced by confluent-kafka in {produce_s:.0f} s onto copies of the 6 topics; read + fold "
            f"{fold_s:.0f} s ({view.events / fold_s:,.0f} events/s), write {docs:,} read-model documents {total_s - fold_s:.0f} s"
            + ("" if complete else f"; INCOMPLETE: read {view.events:,}, votes {votes:,}"))
    return [Result("results_rebuild_from_n_events", view.events, total_s, unit="events", note=note, floor="kafka")]
