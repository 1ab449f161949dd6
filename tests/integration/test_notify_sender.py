"""The mail sender against SMTP servers started by the test: transient failures, permanent rejection, crash window.

Each test runs a real notify runtime in-process (real broker and store of the session stack, a database of
its own) whose sender talks to an aiosmtpd server that answers as the test wants.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.notify import store as notify_store
from services.notify.compose import message_id
from services.notify.sender import MailSender
from services.notify.settings import NotifySettings
from shared import embedded, topics
from shared.consumer import EventConsumer
from shared.events import utcnow
from shared.runtime import ServiceRuntime
from tests.kafka import events, read_topic


class ScriptedSMTP:
    """Answers DATA with the scripted replies first (e.g. two 451s), then accepts."""

    def __init__(self, replies: list[str]) -> None:
        self.replies, self.accepted, self.attempts = list(replies), [], 0

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.replies:
            return self.replies.pop(0)
        self.accepted.append(envelope.original_content)
        return "250 OK"


@pytest.fixture
async def sender_with(stack):
    """Factory: a started runtime + MailSender pointed at a scripted SMTP server."""
    made: list[tuple[ServiceRuntime, Controller]] = []

    async def make(replies: list[str], **overrides: Any) -> tuple[MailSender, ScriptedSMTP]:
        smtp = ScriptedSMTP(replies)
        controller = Controller(smtp, hostname="127.0.0.1", port=embedded.free_port())
        controller.start()
        settings = NotifySettings(
            kafka_bootstrap_servers=stack.bootstrap, mongodb_url=stack.mongodb_url,
            mongodb_database_prefix=f"nt{uuid.uuid4().hex[:8]}", smtp_host="127.0.0.1", smtp_port=controller.port,
            mail_backoff_s=0.05,
            # A group of its own: in the service's group it took partitions from the stack's notify (whose events it
            # then handled into this test's database), and each join and leave made both wait for a rebalance.
            kafka_group_id=f"notify-sender-test-{uuid.uuid4().hex[:8]}", **overrides)
        runtime = ServiceRuntime(settings, consumer=EventConsumer(), publishes=(topics.NOTIFICATIONS,),
                                 indexes=notify_store.ensure_indexes)
        await runtime.start()
        made.append((runtime, controller))
        return MailSender(runtime, settings), smtp

    yield make
    for runtime, controller in made:
        await runtime.stop()
        controller.stop()


async def queue_one(sender: MailSender) -> dict[str, Any]:
    pid = str(uuid.uuid4())
    await sender.runtime.db.recipients.insert_one({"_id": pid, "email": f"{pid}@example.org", "first_name": "Ada",
                                                   "last_name": "Test", "language": "en"})
    now = utcnow()
    delivery = {"_id": str(uuid.uuid4()), "cause_event_id": str(uuid.uuid4()), "recipient_id": pid,
                "template": "acknowledgement", "forum_id": None, "workshop_id": None, "to": f"{pid}@example.org",
                "language": "en", "context": {}, "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now}
    await sender.runtime.db.deliveries.insert_one(delivery)
    return delivery


async def drain(sender: MailSender, delivery_id: str, until: set[str], timeout: float = 15) -> dict[str, Any]:
    """Run the sender until the delivery reaches one of the states."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await sender.send_one()
        doc = await sender.runtime.db.deliveries.find_one({"_id": delivery_id})
        if doc["status"] in until:
            return doc
        assert asyncio.get_running_loop().time() < deadline, doc
        await asyncio.sleep(0.05)


def on_topic(stack: Any, topic: str, match: Any) -> list[dict[str, Any]]:
    messages = read_topic(stack.bootstrap, topic, timeout=15, until=lambda ms: any(match(e) for e in events(ms)))
    return [e for e in events(messages) if match(e)]


async def test_a_server_that_fails_twice_then_accepts_gets_exactly_one_mail(sender_with, stack):
    sender, smtp = await sender_with(["451 4.3.0 Try again later", "451 4.3.0 Try again later"])
    delivery = await queue_one(sender)
    doc = await drain(sender, delivery["_id"], {"sent", "failed"})
    assert doc["status"] == "sent" and doc["attempts"] == 3 and smtp.attempts == 3 and len(smtp.accepted) == 1
    assert b"Registration received" in smtp.accepted[0]
    for _ in range(3):
        assert await sender.send_one() is False  # nothing left: no second mail
    assert len(smtp.accepted) == 1
    sent = await asyncio.to_thread(on_topic, stack, topics.NOTIFICATIONS,
                                   lambda e: e["type"] == "notification.sent" and e["data"]["notification_id"] == delivery["_id"])
    assert len(sent) == 1


async def test_a_permanent_rejection_is_not_retried_and_reported_as_failed(sender_with, stack):
    sender, smtp = await sender_with(["550 5.1.1 Mailbox unavailable"] * 5)
    delivery = await queue_one(sender)
    doc = await drain(sender, delivery["_id"], {"sent", "failed"})
    assert doc["status"] == "failed" and doc["attempts"] == 1 and smtp.attempts == 1 and "550" in doc["last_error"]
    failed = await asyncio.to_thread(on_topic, stack, topics.NOTIFICATIONS,
                                     lambda e: e["type"] == "notification.failed" and e["data"]["notification_id"] == delivery["_id"])
    assert len(failed) == 1 and failed[0]["data"]["permanent"] is True and failed[0]["data"]["attempts"] == 1
    letters = await asyncio.to_thread(on_topic, stack, topics.DEADLETTER,
                                      lambda e: e.get("event_id") == delivery["cause_event_id"])
    assert letters[0]["service"] == "notify" and letters[0]["event_type"] == "mail.acknowledgement"
    assert "@" not in json.dumps(letters[0])  # the address stays out of the dead letter


async def test_after_the_last_transient_failure_the_mail_is_given_up(sender_with, stack):
    sender, smtp = await sender_with(["451 busy"] * 10, mail_max_attempts=3)
    delivery = await queue_one(sender)
    doc = await drain(sender, delivery["_id"], {"sent", "failed"})
    assert doc["status"] == "failed" and doc["attempts"] == 3 and smtp.attempts == 3 and not smtp.accepted
    failed = await asyncio.to_thread(on_topic, stack, topics.NOTIFICATIONS,
                                     lambda e: e["type"] == "notification.failed" and e["data"]["notification_id"] == delivery["_id"])
    assert failed[0]["data"]["permanent"] is False and failed[0]["data"]["attempts"] == 3


async def test_a_claim_lost_in_a_crash_is_sent_again_with_the_same_message_id(sender_with):
    sender, smtp = await sender_with([])
    delivery = await queue_one(sender)
    # As if an instance claimed it, handed it to the server, and died before recording `sent`:
    await sender.runtime.db.deliveries.update_one({"_id": delivery["_id"]}, {"$set": {
        "status": "sending", "attempts": 1, "claimed_at": utcnow() - timedelta(minutes=5)}})
    assert await sender.send_one() is False  # a fresh claim elsewhere is not stolen
    assert await sender.store.release_stale(utcnow() - timedelta(seconds=60)) == 1
    doc = await drain(sender, delivery["_id"], {"sent"})
    assert doc["attempts"] == 2 and len(smtp.accepted) == 1
    assert f"Message-ID: {message_id(delivery['_id'])}".encode() in smtp.accepted[0]


class RefusingRecipients(ScriptedSMTP):
    """Refuses the recipient itself (a permanent RCPT error, before DATA)."""

    async def handle_RCPT(self, _server: Any, _session: Any, _envelope: Any, _address: str, _options: Any) -> str:
        self.attempts += 1
        return "550 5.1.1 No such user"


async def test_a_worker_reuses_its_connection_and_a_refused_recipient_fails_at_once(sender_with):
    from services.notify.sender import SmtpConnection

    sender, smtp = await sender_with([])
    connection = SmtpConnection(sender.settings)
    first, second = await queue_one(sender), await queue_one(sender)
    assert await sender.send_one(connection) and await sender.send_one(connection)
    assert len(smtp.accepted) == 2 and connection.client is not None and connection.client.is_connected
    await connection.close()
    for d in (first, second):
        assert (await sender.runtime.db.deliveries.find_one({"_id": d["_id"]}))["status"] == "sent"

    refusing, server = await sender_with([])
    server.__class__ = RefusingRecipients
    delivery = await queue_one(refusing)
    doc = await drain(refusing, delivery["_id"], {"sent", "failed"})
    assert doc["status"] == "failed" and doc["attempts"] == 1 and "550" in doc["last_error"]


async def test_a_claim_batch_reads_its_recipients_and_keys_once_and_each_mail_opens_its_own_address(sender_with, monkeypatch):
    from shared import keyring, pii

    sender, smtp = await sender_with([])
    people = []
    for n in range(6):
        delivery = await queue_one(sender)
        pid, key = delivery["recipient_id"], pii.new_key()
        sealed = pii.seal_fields(key, pid, {"email": f"person{n}@example.org", "first_name": f"Name{n}"})
        await sender.runtime.db.recipients.update_one({"_id": pid}, {"$set": sealed})
        await sender.runtime.db.deliveries.update_one({"_id": delivery["_id"]}, {"$set": {"to": sealed["email"]}})
        if n < 5:  # the sixth person's key has not arrived: that mail waits
            await keyring.remember(sender.runtime.db, {pid: key}, None)
        people.append((delivery["_id"], f"person{n}@example.org"))
    single_reads = []
    original = notify_store.NotifyStore.recipient
    monkeypatch.setattr(notify_store.NotifyStore, "recipient",
                        lambda self, pid, session=None: single_reads.append(pid) or original(self, pid, session))

    while await sender.send_one():
        pass
    assert single_reads == [] and sender.prefetched == {}  # read with their claims, each taken by its mail
    assert len(smtp.accepted) == 5
    by_address = {n: next((m for m in smtp.accepted if f"To: person{n}@example.org".encode() in m), b"") for n in range(5)}
    assert all(f"Name{n}".encode() in mail for n, mail in by_address.items()), smtp.accepted[0][:600]
    statuses = {d["_id"]: d["status"] async for d in sender.runtime.db.deliveries.find()}
    assert [statuses[i] for i, _ in people] == ["sent"] * 5 + ["waiting"]


async def test_the_sweep_releases_waiting_mails_of_every_person_now_reachable_and_only_those(sender_with):
    from shared import keyring, pii

    sender, _ = await sender_with([])
    db = sender.runtime.db
    keyed, keyless, unknown, plain, plain_again = [await queue_one(sender) for _ in range(5)]
    for delivery, key in ((keyed, pii.new_key()), (keyless, pii.new_key())):
        pid = delivery["recipient_id"]
        await db.recipients.update_one({"_id": pid}, {"$set": pii.seal_fields(key, pid, {"email": f"{pid}@example.org"})})
        if delivery is keyed:
            await keyring.remember(db, {pid: key}, None)
    await db.recipients.delete_one({"_id": unknown["recipient_id"]})
    await db.deliveries.update_one({"_id": plain_again["_id"]}, {"$set": {"recipient_id": plain["recipient_id"]}})
    await db.deliveries.update_many({}, {"$set": {"status": "waiting", "to": None}})

    await sender.release_known_recipients()
    status = {d["_id"]: (d["status"], d["to"]) async for d in db.deliveries.find()}
    assert status[keyed["_id"]][0] == "pending" and pii.is_sealed(status[keyed["_id"]][1])  # opened only to send
    assert status[plain["_id"]] == status[plain_again["_id"]] == ("pending", f"{plain['recipient_id']}@example.org")
    assert status[keyless["_id"]] == status[unknown["_id"]] == ("waiting", None)


async def test_a_failed_read_for_the_claim_batch_only_costs_the_shortcut(sender_with, monkeypatch):
    sender, smtp = await sender_with([])
    deliveries = [await queue_one(sender) for _ in range(3)]

    async def store_away(self, participant_ids):
        raise ConnectionError("store away for a moment")

    monkeypatch.setattr(notify_store.NotifyStore, "recipients", store_away)
    while await sender.send_one():
        pass
    assert len(smtp.accepted) == 3 and sender.prefetched == {}  # each mail read its own recipient
    assert {d["status"] async for d in sender.runtime.db.deliveries.find({"_id": {"$in": [d["_id"] for d in deliveries]}})} == {"sent"}
