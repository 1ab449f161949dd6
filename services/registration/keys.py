"""The registration service owns the per-person data keys that seal personal fields in its events.

One key per participant (and one per invitation), made when it is first needed, stored here and
issued on `forum.keys` in the same transaction as the first event it seals. Erasure forgets the
key, scrubs it from the outbox record that carried it and publishes its tombstone.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from pymongo import ASCENDING, IndexModel

from shared import keyring, pii, topics
from shared.events import utcnow
from shared.events.keys import ParticipantKeyIssued
from shared.events.registrations import InvitationSent, RegistrationSubmitted
from shared.store import UnitOfWork

log = structlog.get_logger()
TOMBSTONES = "key_tombstones"


async def ensure_indexes(db: Any) -> None:
    await db[TOMBSTONES].create_indexes([IndexModel([("published", ASCENDING)])])


def issue(uow: UnitOfWork, owner_id: str, key: str) -> dict[str, Any]:
    """Emit the key on `forum.keys` (before the events it seals); returns the key's store record."""
    uow.emit("participant.key_issued", subject=owner_id, data=ParticipantKeyIssued(participant_id=owner_id, key=key))
    return {"_id": owner_id, "key": key, "cause": uow.cause, "created_at": utcnow()}


async def key_for(uow: UnitOfWork, owner_id: str) -> str:
    """The owner's key; a new one is stored and issued through this unit's outbox."""
    found = await keyring.keys_for(uow.db, [owner_id], uow.session)
    if owner_id in found:
        return found[owner_id]
    key = pii.new_key()
    await uow.db[keyring.COLLECTION].insert_one(issue(uow, owner_id, key), session=uow.session)
    return key


def seal_submitted(event: RegistrationSubmitted, key: str) -> RegistrationSubmitted:
    """The event with its personal fields sealed for the participant."""
    values = {f: getattr(event, f) for f in pii.PERSONAL_FIELDS}
    return event.model_copy(update=pii.seal_fields(key, event.participant_id, values))


def seal_invitation(event: InvitationSent, key: str) -> InvitationSent:
    """The invitation with name, address and organisation sealed for the invitation id."""
    values = {f: getattr(event, f) for f in ("first_name", "last_name", "email", "organisation")}
    return event.model_copy(update=pii.seal_fields(key, event.invitation_id, values))


async def shred(uow: UnitOfWork, owners: list[str]) -> None:
    """Erasure: forget the keys, drop them from the outbox records that carried them, queue their tombstones."""
    records = [d async for d in uow.db[keyring.COLLECTION].find({"_id": {"$in": owners}, "cause": {"$exists": True}},
                                                                {"cause": 1}, session=uow.session)]
    for record in records:
        await uow.db.outbox.update_one({"_id": record["cause"]},
                                       {"$pull": {"events": {"type": "participant.key_issued", "key": record["_id"]}}},
                                       session=uow.session)
    await keyring.forget(uow.db, owners, uow.session)
    for owner in owners:
        await uow.db[TOMBSTONES].update_one({"_id": owner}, {"$set": {"published": False, "created_at": utcnow()}},
                                            upsert=True, session=uow.session)


async def publish_tombstones(runtime: Any) -> int:
    """Publish the pending tombstones (null values keyed by owner id) on `forum.keys`; returns how many.

    FastStream cannot send a null value, so a plain aiokafka producer does (erasures are rare).
    """
    pending = [d["_id"] async for d in runtime.db[TOMBSTONES].find({"published": False}).limit(500)]
    if not pending:
        return 0
    producer = AIOKafkaProducer(bootstrap_servers=runtime.settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(topics.KEYS, None, key=owner.encode()) for owner in pending])
    finally:
        await producer.stop()
    await runtime.db[TOMBSTONES].update_many({"_id": {"$in": pending}}, {"$set": {"published": True}})
    return len(pending)


async def run_tombstones(runtime: Any, interval_s: float = 2.0) -> None:
    """Background: publish what an erasure left pending (after a bus outage too)."""
    while True:
        try:
            await publish_tombstones(runtime)
        except Exception as exc:  # noqa: BLE001 - retried on the next round
            log.warning("keys.tombstones_failed", error=type(exc).__name__)
        await asyncio.sleep(interval_s)
