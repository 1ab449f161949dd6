"""MongoDB adapter of the notify service: recipients, delivery log, agendas, reminders, webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateMany
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.events import utcnow
from shared.store import insert_or_set, retire_indexes, update_then_read

Session = AsyncClientSession | None


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Indexes for every query this service makes."""
    await db.deliveries.create_indexes([
        IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)]),
        IndexModel([("created_at", DESCENDING)]),
        IndexModel([("recipient_id", ASCENDING), ("status", ASCENDING)]),
    ])
    # Nothing looks deliveries up by their cause (the id derives from it), and `recipient_id` alone (an
    # early version's index) is the prefix of the one above; a delivery is written three times (queued,
    # claimed, sent), and each index costs on every write.
    await retire_indexes(db.deliveries, ("cause_event_id_1", "recipient_id_1"))
    await db.decisions.create_indexes([
        IndexModel([("workshop_id", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("forum_id", ASCENDING), ("status", ASCENDING)]),
    ])
    await db.reminders.create_indexes([IndexModel([("status", ASCENDING), ("due_at", ASCENDING)]),
                                       IndexModel([("forum_id", ASCENDING)])])
    await db.webhooks.create_indexes([IndexModel([("event_types", ASCENDING)])])
    await db.webhook_deliveries.create_indexes([
        IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)]),
        IndexModel([("created_at", DESCENDING)]),
    ])


class NotifyStore:
    """Reads and writes of the notify service."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    # recipients ------------------------------------------------------------------------
    async def save_recipient(self, participant_id: str, fields: dict[str, Any], session: Session) -> None:
        """Remember how to reach a person, unless they were erased (the erasure can overtake the registration)."""
        if await self.db.erased_participants.find_one({"_id": participant_id}, session=session):
            return
        await self.db.recipients.update_one({"_id": participant_id}, {"$set": fields}, upsert=True, session=session)

    async def save_recipients(self, people: dict[str, dict[str, Any]], session: Session) -> None:
        """`save_recipient` for many people: one read of the tombstones, one bulk write."""
        erased = {d["_id"] async for d in self.db.erased_participants.find({"_id": {"$in": sorted(people)}}, session=session)}
        known = {d["_id"] async for d in self.db.recipients.find({"_id": {"$in": sorted(people)}}, {"_id": 1}, session=session)}
        writes = [insert_or_set(pid in known, pid, fields) for pid, fields in people.items() if pid not in erased]
        if writes:
            await self.db.recipients.bulk_write(writes, ordered=True, session=session)

    async def release_waiting_many(self, emails: dict[str, str], now: datetime, session: Session) -> int:
        """Deliveries that waited for these people's addresses become due; returns how many people had some.

        Most have nothing waiting, so look first.

        One bulk of one update per person who has something waiting: a decision often reaches
        notify before the registration with the address (two topics), so about a third of the
        people of a rush have a mail waiting (census of the flow bench: one command each before).
        """
        if not emails:
            return 0
        waiting = {d["recipient_id"] async for d in self.db.deliveries.find(
            {"recipient_id": {"$in": sorted(emails)}, "status": "waiting"}, {"recipient_id": 1}, session=session)}
        if waiting:
            await self.db.deliveries.bulk_write([UpdateMany(
                {"recipient_id": pid, "status": "waiting"}, {"$set": {"status": "pending", "to": emails[pid], "next_attempt_at": now}})
                for pid in sorted(waiting)], ordered=True, session=session)
        return len(waiting)

    async def recipient(self, participant_id: str, session: Session = None) -> dict[str, Any] | None:
        return await self.db.recipients.find_one({"_id": participant_id}, session=session)

    async def recipients(self, participant_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Several recipients in one read, by id."""
        return {d["_id"]: d async for d in self.db.recipients.find({"_id": {"$in": participant_ids}})} if participant_ids else {}

    async def waiting(self, limit: int = 200) -> list[dict[str, Any]]:
        cursor = self.db.deliveries.find({"status": "waiting"}, {"recipient_id": 1}).limit(limit)
        return [d async for d in cursor]

    # deliveries ------------------------------------------------------------------------
    async def add_delivery(self, doc: dict[str, Any], session: Session) -> bool:
        """Record a delivery; False if this (event, recipient, template) exists already or the person was erased."""
        if await self.db.erased_participants.find_one({"_id": doc["recipient_id"]}, session=session):
            return False  # events about an erased person may still arrive (e.g. the cancellation erasure caused)
        try:
            await self.db.deliveries.insert_one(doc, session=session)
        except DuplicateKeyError:
            return False
        return True

    async def release_stale(self, before: datetime) -> int:
        """Deliveries left `sending` by a crash go back to pending (see the README on the duplicate window)."""
        result = await self.db.deliveries.update_many(
            {"status": "sending", "claimed_at": {"$lt": before}}, {"$set": {"status": "pending", "next_attempt_at": utcnow()}}
        )
        return result.modified_count

    async def mark(self, delivery_id: str, fields: dict[str, Any], session: Session = None) -> None:
        await self.db.deliveries.update_one({"_id": delivery_id}, {"$set": fields}, session=session)

    async def list(self, limit: int, status: str | None = None) -> list[dict[str, Any]]:
        query = {"status": status} if status else {}
        projection = {"to": 0, "context": 0}
        cursor = self.db.deliveries.find(query, projection).sort("created_at", DESCENDING).limit(limit)
        return [d async for d in cursor]

    # catalogue, agendas and decisions (projections) -------------------------------------
    async def forum(self, forum_id: str | None, session: Session = None) -> dict[str, Any] | None:
        return await self.db.catalogue_fora.find_one({"_id": forum_id}, session=session) if forum_id else None

    async def workshop(self, workshop_id: str | None, session: Session = None) -> dict[str, Any] | None:
        return await self.db.catalogue_workshops.find_one({"_id": workshop_id}, session=session) if workshop_id else None

    async def agenda(self, workshop_id: str | None, session: Session = None) -> dict[str, Any] | None:
        return await self.db.agendas.find_one({"_id": workshop_id}, session=session) if workshop_id else None

    async def save_agenda(self, workshop_id: str, version: int, items: list[dict[str, Any]], session: Session) -> bool:
        """Keep the newest published agenda of a workshop; False when this version is not newer."""
        current = await self.agenda(workshop_id, session)
        if current is not None and current.get("version", 0) >= version:
            return False
        await self.db.agendas.update_one({"_id": workshop_id}, {"$set": {"version": version, "items": items}},
                                         upsert=True, session=session)
        return True

    async def accepted(self, *, session: Session, workshop_id: str | None = None,
                       forum_id: str | None = None) -> list[dict[str, Any]]:
        """Current decisions `accepted` in a workshop or a forum."""
        query: dict[str, Any] = {"status": "accepted"}
        query.update({"workshop_id": workshop_id} if workshop_id else {"forum_id": forum_id})
        return [d async for d in self.db.decisions.find(query, session=session)]

    # reminders -------------------------------------------------------------------------
    async def schedule_reminders(self, forum_id: str, reminders: list[dict[str, Any]], session: Session) -> None:
        """Add these reminders (idempotent by id); scheduled ones for another date are dropped."""
        ids = [r["_id"] for r in reminders]
        await self.db.reminders.update_many({"forum_id": forum_id, "status": "scheduled", "_id": {"$nin": ids}},
                                            {"$set": {"status": "superseded"}}, session=session)
        await self.db.reminders.update_many({"_id": {"$in": ids}, "status": "superseded"},
                                            {"$set": {"status": "scheduled"}}, session=session)
        for reminder in reminders:
            await self.db.reminders.update_one({"_id": reminder["_id"]}, {"$setOnInsert": reminder}, upsert=True,
                                               session=session)

    async def due_reminder_ids(self, now: datetime) -> list[str]:
        cursor = self.db.reminders.find({"status": "scheduled", "due_at": {"$lte": now}}, {"_id": 1}).limit(50)
        return [r["_id"] async for r in cursor]

    async def claim_reminder(self, reminder_id: str, now: datetime, instance: str, session: Session) -> dict[str, Any] | None:
        """Mark a due reminder fired (atomic: of two instances only one gets it)."""
        return await update_then_read(self.db.reminders, {"_id": reminder_id, "status": "scheduled", "due_at": {"$lte": now}},
                                      {"$set": {"status": "fired", "fired_at": now, "fired_by": instance}}, session=session)

    async def reminders(self, forum_id: str | None = None) -> list[dict[str, Any]]:
        query = {"forum_id": forum_id} if forum_id else {}
        return [r async for r in self.db.reminders.find(query).sort("due_at", ASCENDING).limit(500)]

    # privacy ---------------------------------------------------------------------------
    async def erase(self, participant_id: str, session: Session) -> None:
        """Remove the person's address and name; unsent mails to them are dropped, later ones never queued."""
        await self.db.erased_participants.update_one({"_id": participant_id}, {"$set": {"erased": True}}, upsert=True,
                                                     session=session)
        await self.db.recipients.delete_one({"_id": participant_id}, session=session)
        await self.db.deliveries.update_many(
            {"recipient_id": participant_id, "status": {"$in": ["waiting", "pending"]}},
            {"$set": {"status": "failed", "last_error": "erased"}}, session=session)
        await self.db.deliveries.update_many({"recipient_id": participant_id}, {"$set": {"to": None, "context": {}}},
                                             session=session)
