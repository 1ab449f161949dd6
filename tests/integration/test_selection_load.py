"""Many concurrent submissions with duplicates and cancellations: no overbooking, every quota held, one decision each.

The forum is a copy of the seeded Themenforum 2 (same workshops, seats, quotas and organisation caps) under
its own id, so the seeded forum stays free for the other tests of the session.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest

from shared.testing import consumer_batch_totals, eventually
from tests.conftest import person
from tests.integration.selection_support import seeded_copy
from tests.kafka import events, read_topic

# The issue asks for 2,000; on the embedded stack with all four services on 2 cores that alone takes minutes,
# so the suite runs 200 by default and SELECTION_LOAD_N=2000 runs the full size.
N = int(os.environ.get("SELECTION_LOAD_N", "200"))
GROUPS = ["company", "research", "municipality", "chamber", "finance", "civil_society"]


def bodies(forum_id: str, workshops: list[str], seed: int, n: int = N) -> list[dict[str, Any]]:
    """n submissions: ~5% repeat an earlier e-mail; organisations repeat so the caps bite."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        if out and rng.random() < 0.05:
            out.append({**rng.choice(out), "first_name": "Wiederholt"})
            continue
        prefs = rng.sample(workshops, rng.randint(1, 3))
        out.append(person(forum_id=forum_id, preferences=prefs, actor_group=rng.choice(GROUPS),
                          organisation=f"Organisation {rng.randrange(400)}", first_name=f"P{i}", last_name=f"L{i}"))
    return out


async def submit_all(stack: Any, items: list[dict[str, Any]], cancel_share: float, on_done: Any = None) -> dict[str, dict[str, Any]]:
    """Submit concurrently, retrying while the service is down; cancel some right after their answer.

    `on_done(count)` runs on the event loop's thread after each answered submission (e.g. to inject a fault).
    """
    url = stack.url("registration", "/api/v1/registrations")
    answers: dict[str, dict[str, Any]] = {}
    rng = random.Random(1)
    sem = asyncio.Semaphore(16)
    done = 0

    async def one(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
        nonlocal done
        async with sem:
            deadline = time.monotonic() + 300  # a restart on a busy 2-core machine can take a while
            while time.monotonic() < deadline:
                try:
                    r = await client.post(url, json=body)
                    if r.status_code in (200, 202):
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("submission never answered")
            answer = r.json()
            if answer.get("status_url"):
                answers[answer["id"]] = {**answer, "email": body["email"]}
                if rng.random() < cancel_share:
                    while time.monotonic() < deadline + 300:
                        try:
                            c = await client.post(answer["status_url"].replace("?token", "/cancel?token"))
                            if c.status_code == 200:
                                answers[answer["id"]]["cancelled"] = True
                                break
                        except httpx.HTTPError:
                            pass
                        await asyncio.sleep(0.2)
            done += 1
            if on_done:
                on_done(done)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(one(client, b) for b in items))
    return answers


def check_invariants(stack: Any, mongo: Any, forum_id: str, workshops: dict[str, dict[str, Any]], answers: dict[str, Any]) -> None:
    db = mongo["themenforum_registration"]
    regs = {d["_id"]: d for d in db.registrations.find({"forum_id": forum_id})}
    emails = Counter(d["email_lower"] for d in regs.values())
    assert max(emails.values()) == 1 and set(answers) <= set(regs)  # one registration per e-mail, every answer is real
    assert all(regs[r]["status"] == "cancelled" for r, a in answers.items() if a.get("cancelled"))

    accepted: dict[str, Counter[str]] = defaultdict(Counter)
    orgs: dict[str, Counter[str]] = defaultdict(Counter)
    for d in regs.values():
        if d["status"] == "accepted":
            accepted[d["workshop_id"]][d["actor_group"]] += 1
            orgs[d["workshop_id"]][d["org_key"]] += 1
    for wid, w in workshops.items():
        total = sum(accepted[wid].values())
        assert total <= w["seats"] - w["reserved_seats"], f"{wid} overbooked: {total}"
        assert total == w["seats"] - w["reserved_seats"]  # with this many applicants every open seat is taken
        for g, q in w["quotas"].items():
            assert accepted[wid][g] <= q["max"], f"{wid} {g}: {accepted[wid][g]} > {q['max']}"
            assert accepted[wid][g] >= min(q["min"], 1)
        assert max(orgs[wid].values()) <= w["organisation_cap"]
        counts = db.workshops.find_one({"_id": wid})
        assert counts["accepted"] == total and {g: n for g, n in counts["by_group"].items() if n} == dict(+accepted[wid])

    # exactly one current decision per registration: its events form the sequence 1..n and the last one is the state
    wanted = set(regs)

    def unique(ms: list[Any]) -> dict[str, dict[str, Any]]:
        return {e["id"]: e for e in events(ms) if e.get("subject") in wanted}

    expected = sum(d["decision_seq"] for d in regs.values())
    seen = unique(read_topic(stack.bootstrap, "forum.selection", until=lambda ms: len(unique(ms)) >= expected, timeout=90))
    by_reg: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in seen.values():
        by_reg[e["subject"]].append(e["data"])
    assert set(by_reg) == wanted
    for rid, decisions in by_reg.items():
        seqs = sorted(x["decision_seq"] for x in decisions)
        assert seqs == list(range(1, len(seqs) + 1)), (rid, seqs)
        last = max(decisions, key=lambda x: x["decision_seq"])
        assert (last["status"], last["workshop_id"]) == (regs[rid]["status"], regs[rid]["workshop_id"])
        for x in decisions:  # a move-up takes a waiting person into a workshop they asked for
            if any(r.startswith("moved_up") for r in x["reasons"]):
                assert x["previous_status"] == "waitlisted" and x["workshop_id"] in regs[rid]["preferences"]
    moved = [x for ds in by_reg.values() for x in ds if any(r.startswith("moved_up") for r in x["reasons"])]
    assert moved, "cancellations of accepted people must move someone up"
    assert all(x["reasons"] == ["moved_up_same_group"] for x in moved if x["actor_group"] in {"company", "research"})


def wait_until_decided(mongo: Any, forum_id: str, timeout: float = 240) -> None:
    db = mongo["themenforum_registration"]
    eventually(lambda: db.registrations.count_documents({"forum_id": forum_id, "$or": [
        {"status": "received"}, {"cancel_pending": True}]}) == 0, timeout=timeout, interval=1)


async def second_wave(stack: Any, mongo: Any, forum_id: str, workshops: list[str], answers: dict[str, Any]) -> None:
    """Accepted people cancel while newcomers register: freed seats must go to waiting people."""
    db = mongo["themenforum_registration"]
    leaving = [d["_id"] for d in db.registrations.find({"forum_id": forum_id, "status": "accepted"}).limit(15)]

    async def cancel(client: httpx.AsyncClient, rid: str) -> None:
        r = await client.post(stack.url("registration", f"/api/v1/registrations/{rid}/cancel"), headers=stack.auth)
        assert r.status_code == 200
        answers.setdefault(rid, {})["cancelled"] = True

    newcomers = [person(forum_id=forum_id, preferences=workshops, actor_group=GROUPS[i % 6], organisation=f"Neu {i}")
                 for i in range(40)]
    async with httpx.AsyncClient(timeout=30) as client:
        extra, _ = await asyncio.gather(submit_all(stack, newcomers, 0.0), asyncio.gather(*(cancel(client, r) for r in leaving)))
    answers.update(extra)


def batch_totals(http, stack) -> tuple[float, float]:
    """The registration service's new events consumed and polls that brought any (its `/metrics`)."""
    return consumer_batch_totals(http.get(stack.url("registration", "/metrics")).text)


@pytest.mark.slow
def test_concurrent_submissions_with_duplicates_and_cancellations(stack, http, mongo):
    forum_id, workshops = seeded_copy(stack, http)
    before = batch_totals(http, stack)
    answers = asyncio.run(submit_all(stack, bodies(forum_id, list(workshops), seed=3), cancel_share=0.08))
    wait_until_decided(mongo, forum_id)
    events, polls = (a - b for a, b in zip(batch_totals(http, stack), before, strict=True))
    # Every submission was consumed, and a rush arrives in batches (one transaction's fixed costs shared).
    assert events >= mongo.themenforum_registration.registrations.count_documents({"forum_id": forum_id})
    assert 0 < polls < events / 2, (events, polls)
    asyncio.run(second_wave(stack, mongo, forum_id, list(workshops), answers))
    wait_until_decided(mongo, forum_id)
    check_invariants(stack, mongo, forum_id, workshops, answers)


@pytest.mark.slow
def test_the_same_with_the_registration_service_killed_mid_stream_and_restarted(stack, http, mongo):
    forum_id, workshops = seeded_copy(stack, http)

    def crash_and_restart() -> None:
        stack.kill_service("registration")  # SIGKILL, mid-stream
        # Started from the main thread: the child dies with the thread that spawned it (PDEATHSIG).
        stack.services["registration"].start()

    items = bodies(forum_id, list(workshops), seed=4)
    answers = asyncio.run(submit_all(stack, items, cancel_share=0.08,
                                     on_done=lambda done: done == len(items) // 2 and crash_and_restart()))
    stack.wait_ready("registration")
    wait_until_decided(mongo, forum_id)
    asyncio.run(second_wave(stack, mongo, forum_id, list(workshops), answers))
    wait_until_decided(mongo, forum_id)
    check_invariants(stack, mongo, forum_id, workshops, answers)
