"""MongoDB adapter of the results service: reporting read models."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Indexes for every query this service makes."""
    await db.reporting_participation.create_indexes([IndexModel([("forum_id", ASCENDING)])])
    await db.reporting_deliveries.create_indexes([IndexModel([("forum_id", ASCENDING)])])
    await db.catalogue_workshops.create_indexes([IndexModel([("forum_id", ASCENDING)])])


class ReportingStore:
    """Reads and writes of the reporting collections."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    async def bump_cell(self, cell_id: str, cell: dict[str, str], field: str, delta: int, session: AsyncClientSession | None) -> None:
        await self.db.reporting_participation.update_one(
            {"_id": cell_id}, {"$inc": {field: delta}, "$setOnInsert": cell}, upsert=True, session=session
        )

    async def bump_delivery(self, forum_id: str, template: str, outcome: str, session: AsyncClientSession | None) -> None:
        await self.db.reporting_deliveries.update_one(
            {"_id": f"{forum_id}|{template}"}, {"$inc": {outcome: 1}, "$setOnInsert": {"forum_id": forum_id, "template": template}},
            upsert=True, session=session,
        )

    async def cells(self, forum_id: str) -> list[dict[str, Any]]:
        return [d async for d in self.db.reporting_participation.find({"forum_id": forum_id}, {"_id": 0})]

    async def deliveries(self, forum_id: str) -> list[dict[str, Any]]:
        return [d async for d in self.db.reporting_deliveries.find({"forum_id": forum_id}, {"_id": 0})]

    async def forum(self, forum_id: str) -> dict[str, Any] | None:
        return await self.db.catalogue_fora.find_one({"_id": forum_id}, {"_id": 0})

    async def workshops(self, forum_id: str) -> list[dict[str, Any]]:
        cursor = self.db.catalogue_workshops.find({"forum_id": forum_id, "removed": {"$ne": True}}, {"_id": 0})
        return [d async for d in cursor.sort("number", ASCENDING)]
