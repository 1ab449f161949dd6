"""`make soak`: the fault campaign and the sustained load run (#7), on the embedded stack, with a report.

Phase 1, faults: SOAK_N (default 2000) concurrent submissions with repeated e-mails and cancellations to a
copy of Themenforum 2; while they arrive, each service in turn is killed with SIGKILL and restarted, then
the store is restarted. Afterwards every invariant is checked across all four services: no overbooking,
every quota and organisation cap held, exactly one current decision per registration with the sequence
1..n on the topic, every service's projection at the registration's current decision, exactly one
delivery per decision event and no second message beyond the resend window the notify README describes.

Phase 2, load: a steady stream of SOAK_RATE submissions/s (default 5) for SOAK_MINUTES (default 10) across
20 fora, with the resident memory of every process sampled each second; the report compares the first and
the last minute.

Writes bench-results/soak.md and exits non-zero when an invariant breaks.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from shared import embedded
from shared.testing import Stack, eventually
from tests.bench.__main__ import RssSampler
from tests.bench.common import processes
from tests.bench.scenario_flow import _bodies, _fora, _post_all
from tests.integration.selection_support import seeded_copy
from tests.integration.test_selection_load import bodies, check_invariants, second_wave, submit_all

FAULTS = ("registration", "agenda", "results", "notify", "store")
DECISION_TEMPLATES = {"accepted", "waitlisted", "rejected", "moved_up", "cancelled"}


class Campaign:
    """Submissions with faults injected at fixed points of progress; times each outage."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.outages: dict[str, dict[str, float]] = {}
        self.waiters: list[asyncio.Task[None]] = []

    async def _ready(self, fault: str, began: float) -> None:
        url = self.stack.url("registration" if fault == "store" else fault, "/readyz")
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                try:
                    if (await client.get(url)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        self.outages[fault]["ready_after_s"] = time.monotonic() - began

    def inject(self, fault: str, submitted: int) -> None:
        """Runs on the event loop's (main) thread: children die with the thread that started them."""
        began = time.monotonic()
        if fault == "store":
            self.stack.mongodb.stop()  # SIGTERM: a restart, the data stays on disk
            self.stack.mongodb.start()
            embedded.wait_for_port(self.stack.mongodb.port, timeout=60, proc=self.stack.mongodb.proc)
        else:
            self.stack.kill_service(fault)  # SIGKILL mid-stream
            self.stack.services[fault].start()
        self.outages[fault] = {"at_submission": submitted}
        self.waiters.append(asyncio.ensure_future(self._ready(fault, began)))

    async def submit(self, items: list[dict[str, Any]], cancel_share: float) -> dict[str, dict[str, Any]]:
        """The load test's submissions (retried while a service is down), with a fault at each sixth."""
        points = {int(len(items) * (k + 1) / (len(FAULTS) + 1)): fault for k, fault in enumerate(FAULTS)}
        answers = await submit_all(self.stack, items, cancel_share,
                                   on_done=lambda done: done in points and self.inject(points.pop(done), done))
        await asyncio.wait_for(asyncio.gather(*self.waiters), timeout=600)
        return answers


def _projections_current(mongo: MongoClient, forum_id: str) -> dict[str, int]:
    """Per service, how many registrations its decision projection has not yet caught up with."""
    regs = {d["_id"]: d for d in mongo.themenforum_registration.registrations.find(
        {"forum_id": forum_id, "decision_seq": {"$gte": 1}}, {"decision_seq": 1, "status": 1, "workshop_id": 1})}
    behind = {}
    for service in ("agenda", "results", "notify"):
        docs = {d["_id"]: d for d in mongo[f"themenforum_{service}"].decisions.find({"forum_id": forum_id})}
        behind[service] = sum(1 for rid, reg in regs.items()
                              if rid not in docs or docs[rid].get("decision_seq", reg["decision_seq"]) != reg["decision_seq"])
    return behind


def _deliveries_settled(mongo: MongoClient, forum_id: str) -> bool:
    return mongo.themenforum_notify.deliveries.count_documents(
        {"forum_id": forum_id, "status": {"$in": ["pending", "sending", "waiting"]}}) == 0


def _mail_check(stack: Stack, mongo: MongoClient, forum_id: str, answers: dict[str, Any]) -> dict[str, int]:
    """One mail delivery per decision event; every sent delivery reached the sink; copies only with the same Message-ID."""
    decision_events = {json.loads(e["value"])["id"] for record in mongo.themenforum_registration.outbox.find(
        {"events.type": "selection.decided", "events.key": {"$in": list(answers)}}, {"events": 1})
        for e in record["events"] if e["type"] == "selection.decided" and e["key"] in answers}
    deliveries = list(mongo.themenforum_notify.deliveries.find({"forum_id": forum_id}, {"template": 1, "status": 1, "cause_event_id": 1}))
    per_event = Counter(d["cause_event_id"] for d in deliveries if d["template"] in DECISION_TEMPLATES)
    unmailed = decision_events - set(per_event)
    assert not unmailed, f"{len(unmailed)} of {len(decision_events)} decisions got no mail delivery"
    assert max(per_event.values()) == 1, "two decision mails for one decision"
    sent = {f"<{d['_id']}" for d in deliveries if d["status"] == "sent"}
    seen: Counter[str] = Counter()
    # Everyone registered to the forum, not only those whose answer the client saw: a submission
    # committed just before a SIGKILL is answered on retry as "existing", without its link.
    emails = {d["email_lower"] for d in mongo.themenforum_registration.registrations.find({"forum_id": forum_id}, {"email_lower": 1})}
    for message in stack.mails():
        if str(message["To"]).lower() in emails:
            seen[str(message["Message-ID"]).split("@")[0]] += 1
    missing = [s for s in sent if seen[s] == 0]
    assert not missing, f"{len(missing)} deliveries recorded as sent never reached the sink"
    strangers = [m for m in seen if m not in sent]
    assert not strangers, f"{len(strangers)} messages the delivery log does not know"
    return {"decisions": len(decision_events), "deliveries": len(deliveries), "sent": len(sent),
            "resent_copies": sum(seen.values()) - len(seen)}


def phase_faults(stack: Stack, mongo: MongoClient, n: int) -> list[str]:
    with httpx.Client(timeout=60) as http:
        forum_id, workshops = seeded_copy(stack, http)
    campaign = Campaign(stack)
    began = time.monotonic()
    answers = asyncio.run(campaign.submit(bodies(forum_id, list(workshops), seed=7, n=n), cancel_share=0.08))
    submitted_s = time.monotonic() - began
    registrations = mongo.themenforum_registration.registrations
    eventually(lambda: registrations.count_documents({"forum_id": forum_id, "$or": [
        {"status": "received"}, {"cancel_pending": True}]}) == 0, timeout=1200, interval=1)
    asyncio.run(second_wave(stack, mongo, forum_id, list(workshops), answers))  # accepted people leave: move-ups
    eventually(lambda: registrations.count_documents({"forum_id": forum_id, "$or": [
        {"status": "received"}, {"cancel_pending": True}]}) == 0, timeout=600, interval=1)
    decided_s = time.monotonic() - began
    check_invariants(stack, mongo, forum_id, workshops, answers)
    eventually(lambda: not any(_projections_current(mongo, forum_id).values()), timeout=1200, interval=2)
    projected_s = time.monotonic() - began
    eventually(lambda: _deliveries_settled(mongo, forum_id), timeout=1200, interval=2)
    time.sleep(3)  # room for a wrong second mail
    mails = _mail_check(stack, mongo, forum_id, answers)
    mailed_s = time.monotonic() - began
    statuses = Counter(d["status"] for d in registrations.find({"forum_id": forum_id}, {"status": 1}))
    lines = [
        f"### Fault campaign: {n} submissions ({len(answers)} registrations after repeated e-mails, "
        f"{sum(1 for a in answers.values() if a.get('cancelled'))} cancelled)",
        "",
        "| fault | injected after submission | service ready again after |",
        "|---|---:|---:|",
        *(f"| {'store restart (SIGTERM)' if f == 'store' else f + ' SIGKILL'} | {o['at_submission']:,} | "
          f"{o.get('ready_after_s', float('nan')):.1f} s |" for f, o in campaign.outages.items()),
        "",
        "| check | result |",
        "|---|---|",
        f"| submissions answered | all {n} ({submitted_s:.0f} s, faults included) |",
        f"| decisions | every registration decided after {decided_s:.0f} s; {dict(statuses)} |",
        "| quotas, seats, organisation caps | held (checked per workshop and actor group) |",
        "| one current decision each | yes: per registration the topic holds decisions 1..n, the last equals the store |",
        f"| agenda, results, notify projections | all at each registration's current decision after {projected_s:.0f} s |",
        f"| mails | {mails['decisions']:,} decision events, each with exactly one decision mail; {mails['deliveries']:,} deliveries "
        f"in all, the {mails['sent']:,} sent all reached the sink "
        f"after {mailed_s:.0f} s; {mails['resent_copies']} resent copies with the same Message-ID (the crash window) |",
    ]
    return lines


def phase_load(stack: Stack, mongo: MongoClient, sampler: RssSampler, rate: float, minutes: float) -> list[str]:
    fora = _fora(stack)
    n = int(rate * minutes * 60)
    mark = len(next(iter(sampler.samples.values()), []))
    began = time.monotonic()
    # Enough senders for the rate whatever the latency (16 offered only 16 / latency: about 40/s at 0.4 s,
    # whatever SOAK_RATE asked for); the achieved rate is reported below.
    seconds, latencies, sent = asyncio.run(_post_all(stack, _bodies(fora, n, 11), concurrency=256, rate=rate))
    registrations = len(sent)  # every submission was answered 200 or 202; a repeated person counts once
    # By forum, not by id: the load phase has fora of its own, and an `$in` of tens of thousands of ids
    # costs the embedded store about a millisecond per id, on every poll. Counted with `find` for the
    # reason `tests/bench/scenario_flow._Flow` gives.
    in_fora = {"forum_id": {"$in": sorted(fora)}}

    def count(collection: Any, extra: dict[str, Any] | None = None) -> int:
        return sum(1 for _ in collection.find({**in_fora, **(extra or {})}, {"_id": 1}))

    def behind() -> dict[str, int]:
        out = {"registration": count(mongo.themenforum_registration.registrations, {"status": "received"})}
        for service in ("agenda", "results", "notify"):
            out[service] = registrations - count(mongo[f"themenforum_{service}"].decisions)
        return out

    lag_at_end = behind()
    eventually(lambda: not any(behind().values()), timeout=1800, interval=5)
    caught_up = time.monotonic() - began - seconds
    lines = [f"### Sustained load: {n:,} submissions at {rate:g}/s for {minutes:g} min across 20 fora "
             f"(achieved: {n / seconds:.1f}/s over {seconds / 60:.1f} min)",
             "",
             f"HTTP intake p50 {statistics.median(latencies):.0f} ms, p99 {sorted(latencies)[int(0.99 * (len(latencies) - 1))]:.0f} ms; "
             f"behind when the last submission was answered: {lag_at_end}; every service caught up {caught_up:.0f} s later.",
             "",
             "| process | RSS first minute MB | RSS last minute MB | peak MB | growth | growth in the last 10 min "
             "| median of each minute MB |",
             "|---|---:|---:|---:|---:|---:|---|"]
    window = 60
    for name, values in sampler.samples.items():
        run = values[mark:]
        if len(run) < 2 * window:
            continue
        first, last = statistics.median(run[:window]), statistics.median(run[-window:])
        # Growth that levels off (a warm-up) and growth that goes on (a leak) end alike; the series tells them apart.
        minutes_ = " · ".join(f"{statistics.median(run[i:i + window]):,.0f}" for i in range(0, len(run) - window + 1, window))
        lines.append(f"| {name} | {first:,.0f} | {last:,.0f} | {max(run):,.0f} | {100 * (last - first) / first:+.0f} % "
                     f"| {_last_ten(run, window)} | {minutes_} |")
    return lines


def _last_ten(run: list[float], window: int) -> str:
    """Growth from the minute ten minutes before the end to the last minute; '–' for a shorter run.

    The services' resident size rises while the allocator reaches its high-water mark (CPython's
    small-object arenas are kept once touched) and then stays: a run longer than ten minutes shows
    whether the last ten are flat, which is what a leak would not be.
    """
    if len(run) < 11 * window:
        return "–"
    before, last = statistics.median(run[-11 * window:-10 * window]), statistics.median(run[-window:])
    return f"{100 * (last - before) / before:+.1f} %"


def main() -> None:
    n = int(os.environ.get("SOAK_N", 2000))
    rate, minutes = float(os.environ.get("SOAK_RATE", 5)), float(os.environ.get("SOAK_MINUTES", 10))
    stack = Stack().start()
    sampler = RssSampler(lambda: processes(stack))
    sampler.start()
    mongo: MongoClient = MongoClient(stack.mongodb_url, tz_aware=True)
    started, failed = time.time(), False
    report: list[str] = []
    try:
        report += phase_faults(stack, mongo, n)
        report += ["", *phase_load(stack, mongo, sampler, rate, minutes)]
    except (AssertionError, TimeoutError) as exc:
        failed = True
        report += ["", f"**FAILED:** {exc}"]
        print(f"soak failed: logs kept in {stack.logs}", file=sys.stderr)
    finally:
        sampler.stopped.set()
        mongo.close()
        stack.stop()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    text = "\n".join([f"Soak run {time.strftime('%Y-%m-%d %H:%M', time.gmtime(started))} UTC on {machine} (embedded stack)",
                      "", *report])
    print(text)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "soak.md").write_text(text + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
