"""The rebuild equals the live read models for mail deliveries: retries, failures, redelivered reports, a busy topic."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime

from shared.events import encode, make_event
from shared.events.notifications import NotificationFailed, NotificationSent
from shared.testing import eventually
from tests.integration.test_notify_sender import drain, sender_with  # noqa: F401 - the fixture is used below
from tests.integration.test_results_live import rebuild
from tests.kafka import produce


async def queue_for(sender, forum: str, template: str) -> dict:
    """One pending delivery of the forum in the in-process sender's own database."""
    pid = str(uuid.uuid4())
    now = datetime.now(UTC)
    delivery = {"_id": str(uuid.uuid4()), "cause_event_id": str(uuid.uuid4()), "recipient_id": pid, "template": template,
                "forum_id": forum, "workshop_id": None, "to": f"{pid}@example.org", "language": "de", "context": {},
                "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now}
    await sender.runtime.db.recipients.insert_one({"_id": pid, "email": delivery["to"], "first_name": "Ada", "last_name": "Test",
                                                   "language": "de"})
    await sender.runtime.db.catalogue_fora.update_one({"_id": forum}, {"$set": {"forum_id": forum, "title": "Testforum"}}, upsert=True)
    await sender.runtime.db.deliveries.insert_one(delivery)
    return delivery


def report(forum: str, n: int, outcome: str) -> tuple[bytes, bytes]:
    pid = str(uuid.uuid4())
    if outcome == "sent":
        data = NotificationSent(notification_id=f"{forum}-{n}", recipient_id=pid, template="reminder", cause_event_id=str(n),
                                forum_id=forum, sent_at=datetime.now(UTC))
    else:
        data = NotificationFailed(notification_id=f"{forum}-{n}", recipient_id=pid, template="reminder", cause_event_id=str(n),
                                  forum_id=forum, attempts=5, error=f"SMTPResponseException: 452 mailbox of {pid}@example.org full")
    return pid.encode(), encode(make_event(f"notification.{outcome}", subject=pid, source="test", data=data))


async def test_the_rebuilt_delivery_figures_equal_the_live_ones_with_retries_failures_and_a_busy_topic(sender_with, stack, mongo):  # noqa: F811
    forum = f"rb-del-{uuid.uuid4().hex[:8]}"
    # Real reports from notify's sender: sent after two transient refusals, a permanent refusal, retries given up.
    retried, _ = await sender_with(["451 4.3.0 Try again later", "451 4.3.0 Try again later"])
    refused, _ = await sender_with(["550 5.1.1 <nobody@example.org> unknown user"])
    given_up, _ = await sender_with(["451 4.3.0 busy"] * 5, mail_max_attempts=2)
    outcomes = []
    for sender, template in ((retried, "accepted"), (refused, "accepted"), (given_up, "waitlisted")):
        delivery = await queue_for(sender, forum, template)
        outcomes.append((await drain(sender, delivery["_id"], {"sent", "failed"}))["status"])
    assert outcomes == ["sent", "failed", "failed"]

    # Reports published twice (an outbox relay that crashed after publishing publishes again).
    first = [report(forum, n, "sent" if n % 4 else "failed") for n in range(20)]
    await asyncio.to_thread(produce, stack.bootstrap, "forum.notifications", first + first)

    # More reports keep arriving while the rebuild reads and compares: it follows them until the live side agrees.
    later = [report(forum, n, "sent") for n in range(100, 400)]
    flowing = threading.Event()

    def trickle() -> None:
        for start in range(0, len(later), 5):
            produce(stack.bootstrap, "forum.notifications", later[start:start + 5])
            flowing.set()
            time.sleep(0.1)

    flow = threading.Thread(target=trickle)
    flow.start()
    try:
        flowing.wait(10)
        during = await asyncio.to_thread(rebuild, stack)
        # Without following the topics the comparison is a race with the live consumer (seen in the full bench).
        unsettled = await asyncio.to_thread(rebuild, stack, "--settle-s", "0")
    finally:
        flow.join()
    print("rebuild while reports flow:", during, unsettled)
    assert during["equal"], during
    outcome = await asyncio.to_thread(rebuild, stack)  # and once the flow has stopped, with every figure
    assert outcome["equal"], outcome
    db = mongo["themenforum_results"]
    rebuilt = {d["_id"]: d for d in db.rebuild_reporting_deliveries.find({"forum_id": forum})}
    assert {k: (d.get("sent", 0), d.get("failed", 0)) for k, d in rebuilt.items()} == {
        f"{forum}|accepted": (1, 1), f"{forum}|waitlisted": (0, 1), f"{forum}|reminder": (315, 5)}
    live = {d["_id"]: d for d in db.reporting_deliveries.find({"forum_id": forum})}
    assert live == rebuilt
    failures = list(db.rebuild_reporting_delivery_failures.find({"forum_id": forum}))
    assert len(failures) == 7 and not any("@example.org" in f["error"] for f in failures)
    assert {f["permanent"] for f in failures} == {True, False}
    eventually(lambda: db.reporting_delivery_failures.count_documents({"forum_id": forum}) == 7)


async def test_the_bench_rebuild_from_n_produced_events_reads_and_folds_every_one(stack, mongo):
    from tests.bench.rebuild_load import rebuild_from_events

    (result,) = await rebuild_from_events(stack, 3000)
    assert result.n == 3000 and "INCOMPLETE" not in result.note, result.note
    assert mongo["themenforum_results"].benchrebuild_reporting_votes.count_documents({}) >= 27
