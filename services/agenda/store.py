"""MongoDB adapter of the agenda service."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Indexes for every query this service makes."""
    await db.catalogue_workshops.create_indexes([IndexModel([("forum_id", ASCENDING)])])
    await db.participation.create_indexes([IndexModel([("forum_id", ASCENDING)])])


class AgendaStore:
    """Queries and writes of the agenda service."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    async def add_counts(self, forum_id: str, changes: list[tuple[str, str, int]], session: AsyncClientSession | None) -> None:
        for workshop_id, field, delta in changes:
            await self.db.participation.update_one(
                {"_id": workshop_id}, {"$inc": {field: delta}, "$set": {"forum_id": forum_id}}, upsert=True, session=session
            )

    async def participation(self, workshop_id: str) -> dict[str, Any]:
        doc = await self.db.participation.find_one({"_id": workshop_id}) or {}
        return {"registered_first_choice": doc.get("registered_first_choice", 0),
                "accepted_total": doc.get("accepted_total", 0), "accepted_by_group": doc.get("accepted_by_group", {})}

    async def workshop(self, workshop_id: str) -> dict[str, Any] | None:
        return await self.db.catalogue_workshops.find_one({"_id": workshop_id})

    async def published_agenda(self, workshop_id: str) -> dict[str, Any] | None:
        return await self.db.agenda_versions.find_one({"workshop_id": workshop_id}, sort=[("version", -1)])
