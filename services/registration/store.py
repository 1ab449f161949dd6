"""MongoDB adapter of the registration service: fora, workshops (with fill counts), registrations."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.events.catalogue import ForumConfigured, ForumStatus, WorkshopConfigured
from shared.events.common import ActorGroup

from .domain import WorkshopFill

Session = AsyncClientSession | None


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Indexes for every query this service makes."""
    await db.registrations.create_indexes(
        [
            IndexModel([("forum_id", ASCENDING), ("email_lower", ASCENDING)], unique=True, name="one_per_email"),
            IndexModel([("participant_id", ASCENDING)]),
            IndexModel([("email_lower", ASCENDING)]),  # participant_for(): same person across fora
            IndexModel([("forum_id", ASCENDING), ("status", ASCENDING)]),
        ]
    )
    await db.workshops.create_indexes([IndexModel([("forum_id", ASCENDING), ("number", ASCENDING)])])
    await db.fora.create_indexes([IndexModel([("status", ASCENDING)])])


class RegistrationStore:
    """Queries and writes of the registration service."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    # catalogue -------------------------------------------------------------
    async def get_forum(self, forum_id: str, session: Session = None) -> ForumConfigured | None:
        doc = await self.db.fora.find_one({"_id": forum_id}, {"_id": 0}, session=session)
        return ForumConfigured.model_validate(doc) if doc else None

    async def default_forum(self) -> ForumConfigured | None:
        """The open forum (the earliest by start date when several are open)."""
        doc = await self.db.fora.find_one({"status": ForumStatus.open.value}, {"_id": 0}, sort=[("starts_on", ASCENDING)])
        return ForumConfigured.model_validate(doc) if doc else None

    async def workshops(self, forum_id: str, session: Session = None) -> list[WorkshopConfigured]:
        cursor = self.db.workshops.find({"forum_id": forum_id, "removed": {"$ne": True}}, session=session)
        return [WorkshopConfigured.model_validate(_config(d)) async for d in cursor.sort("number", ASCENDING)]

    async def raw_forum(self, forum_id: str, session: Session = None) -> dict[str, Any] | None:
        return await self.db.fora.find_one({"_id": forum_id}, {"_id": 0}, session=session)

    async def raw_workshop(self, workshop_id: str, session: Session = None) -> dict[str, Any] | None:
        doc = await self.db.workshops.find_one({"_id": workshop_id}, session=session)
        return _config(doc) if doc else None

    async def save_forum(self, forum: ForumConfigured, session: Session) -> None:
        await self.db.fora.update_one(
            {"_id": forum.forum_id}, {"$set": forum.model_dump(mode="json")}, upsert=True, session=session
        )

    async def save_workshop(self, workshop: WorkshopConfigured, session: Session) -> None:
        zero_counts = {f"by_group.{g.value}": 0 for g in ActorGroup}
        await self.db.workshops.update_one(
            {"_id": workshop.workshop_id},
            {"$set": workshop.model_dump(mode="json"), "$setOnInsert": {"accepted": 0, "waitlisted": 0, **zero_counts}},
            upsert=True,
            session=session,
        )

    # selection state ---------------------------------------------------------
    async def fills(self, workshop_ids: list[str], session: Session = None) -> dict[str, WorkshopFill]:
        cursor = self.db.workshops.find({"_id": {"$in": workshop_ids}}, session=session)
        return {d["_id"]: _fill(d) async for d in cursor}

    async def forum_fills(self, forum_id: str) -> list[WorkshopFill]:
        cursor = self.db.workshops.find({"forum_id": forum_id, "removed": {"$ne": True}}).sort("number", ASCENDING)
        return [_fill(d) async for d in cursor]

    async def take_seat(self, fill: WorkshopFill, group: str, session: Session) -> bool:
        """Count one accepted person if a seat and the group's maximum still allow it (atomic)."""
        result = await self.db.workshops.update_one(
            {"_id": fill.workshop_id, "accepted": {"$lt": fill.open_seats}, f"by_group.{group}": {"$lt": fill.group_max(group)}},
            {"$inc": {"accepted": 1, f"by_group.{group}": 1}},
            session=session,
        )
        return result.modified_count == 1

    async def join_waitlist(self, workshop_id: str, session: Session) -> int:
        """Append to a workshop's waiting list; returns the position."""
        doc = await self.db.workshops.find_one_and_update(
            {"_id": workshop_id}, {"$inc": {"waitlisted": 1}}, return_document=ReturnDocument.AFTER, session=session
        )
        return int(doc["waitlisted"])

    # registrations -----------------------------------------------------------
    async def find_by_email(self, forum_id: str, email: str) -> dict[str, Any] | None:
        return await self.db.registrations.find_one({"forum_id": forum_id, "email_lower": email.lower()})

    async def get(self, registration_id: str, session: Session = None) -> dict[str, Any] | None:
        return await self.db.registrations.find_one({"_id": registration_id}, session=session)

    async def insert(self, doc: dict[str, Any], session: Session) -> None:
        await self.db.registrations.insert_one(doc, session=session)

    async def participant_for(self, email: str) -> str | None:
        """The participant id this e-mail already has in another forum, if any."""
        doc = await self.db.registrations.find_one({"email_lower": email.lower()}, {"participant_id": 1})
        return doc["participant_id"] if doc else None

    async def set_decision(self, registration_id: str, fields: dict[str, Any], session: Session) -> None:
        await self.db.registrations.update_one(
            {"_id": registration_id}, {"$set": fields, "$inc": {"decision_seq": 1}}, session=session
        )


def _config(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("_id", "accepted", "by_group", "waitlisted")}


def _fill(doc: dict[str, Any]) -> WorkshopFill:
    return WorkshopFill(
        workshop_id=doc["_id"], number=doc["number"], title=doc["title"], seats=doc["seats"],
        reserved_seats=doc.get("reserved_seats", 0), quotas=doc.get("quotas", {}),
        accepted=doc.get("accepted", 0), by_group=doc.get("by_group", {}), waitlisted=doc.get("waitlisted", 0),
    )
