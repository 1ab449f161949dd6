"""MongoDB adapter of the notify service: recipients and the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Session = AsyncClientSession | None


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Indexes for every query this service makes."""
    await db.deliveries.create_indexes(
        [
            IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)]),
            IndexModel([("created_at", DESCENDING)]),
            IndexModel([("recipient_id", ASCENDING)]),
        ]
    )


class NotifyStore:
    """Reads and writes of the notify service."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    async def save_recipient(self, participant_id: str, fields: dict[str, Any], session: Session) -> None:
        await self.db.recipients.update_one({"_id": participant_id}, {"$set": fields}, upsert=True, session=session)

    async def recipient(self, participant_id: str, session: Session = None) -> dict[str, Any] | None:
        return await self.db.recipients.find_one({"_id": participant_id}, session=session)

    async def add_delivery(self, doc: dict[str, Any], session: Session) -> bool:
        """Record a pending delivery; False if this (event, recipient, template) exists already."""
        try:
            await self.db.deliveries.insert_one(doc, session=session)
        except DuplicateKeyError:
            return False
        return True

    async def claim_due(self, now: datetime) -> dict[str, Any] | None:
        """Take one due delivery for sending (atomic, so two instances never take the same)."""
        return await self.db.deliveries.find_one_and_update(
            {"status": "pending", "next_attempt_at": {"$lte": now}},
            {"$set": {"status": "sending", "claimed_at": now}, "$inc": {"attempts": 1}},
            sort=[("next_attempt_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def release_stale(self, before: datetime) -> int:
        """Deliveries left `sending` by a crash go back to pending (see the README on the duplicate window)."""
        result = await self.db.deliveries.update_many(
            {"status": "sending", "claimed_at": {"$lt": before}}, {"$set": {"status": "pending"}}
        )
        return result.modified_count

    async def mark(self, delivery_id: str, fields: dict[str, Any], session: Session = None) -> None:
        await self.db.deliveries.update_one({"_id": delivery_id}, {"$set": fields}, session=session)

    async def list(self, limit: int, status: str | None = None) -> list[dict[str, Any]]:
        query = {"status": status} if status else {}
        projection = {"to": 0, "context": 0}
        cursor = self.db.deliveries.find(query, projection).sort("created_at", DESCENDING).limit(limit)
        return [d async for d in cursor]
