"""MongoDB adapter of the results service: capture (working) collections and reporting read models."""

from __future__ import annotations

import secrets
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.store import update_then_read

from .domain import DEFAULT_DOTS

Session = AsyncClientSession | None


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Indexes for every query this service makes."""
    by_forum = [IndexModel([("forum_id", ASCENDING)])]
    for name in ("reporting_participation", "reporting_deliveries", "catalogue_workshops", "reporting_selection",
                 "reporting_conflicts", "reporting_results", "reporting_delivery_failures", "reporting_votes",
                 "reporting_ideas", "reporting_sketches", "reporting_agenda", "decisions"):
        await db[name].create_indexes(by_forum)
    for name in ("ideas", "sketches", "votes", "voters"):
        await db[name].create_indexes([IndexModel([("workshop_id", ASCENDING)])])
    await db.voters.create_indexes([IndexModel([("token_hash", ASCENDING)], unique=True),
                                    IndexModel([("registration_id", ASCENDING)]), IndexModel([("participant_id", ASCENDING)])])
    await db.reporting_agenda.create_indexes([IndexModel([("workshop_id", ASCENDING), ("version", DESCENDING)])])


_VOTING_KEYS: dict[tuple[int, str], bytes] = {}


async def voting_key(db: AsyncDatabase[dict[str, Any]]) -> bytes:
    """The key voting links derive from (made once, kept in this service's store; read once per process)."""
    known = _VOTING_KEYS.get((id(db.client), db.name))
    if known is not None:
        return known
    doc = await db.service_keys.find_one_and_update(
        {"_id": "voting"}, {"$setOnInsert": {"key": secrets.token_hex(32)}}, upsert=True, return_document=ReturnDocument.AFTER)
    _VOTING_KEYS[(id(db.client), db.name)] = key = bytes.fromhex(doc["key"])
    return key


class ReportingStore:
    """Reads of the reporting collections (written only by the projections)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    async def _all(self, collection: str, query: dict[str, Any], sort: str | None = None) -> list[dict[str, Any]]:
        cursor = self.db[collection].find(query)
        if sort:
            cursor = cursor.sort(sort, ASCENDING)
        return [d async for d in cursor]

    async def forum(self, forum_id: str) -> dict[str, Any] | None:
        return await self.db.catalogue_fora.find_one({"_id": forum_id}, {"_id": 0})

    async def fora(self) -> list[dict[str, Any]]:
        return await self._all("catalogue_fora", {}, "forum_id")

    async def workshops(self, forum_id: str) -> list[dict[str, Any]]:
        return [w for w in await self._all("catalogue_workshops", {"forum_id": forum_id}, "number") if not w.get("removed")]

    async def cells(self, forum_id: str) -> list[dict[str, Any]]:
        return [d async for d in self.db.reporting_participation.find({"forum_id": forum_id}, {"_id": 0})]

    async def deliveries(self, forum_id: str) -> list[dict[str, Any]]:
        return [d async for d in self.db.reporting_deliveries.find({"forum_id": forum_id}, {"_id": 0})]

    async def forum_figures(self, forum_id: str) -> dict[str, Any]:
        return await self.db.reporting_forum.find_one({"_id": forum_id}, {"_id": 0}) or {}

    async def by_forum(self, collection: str, forum_id: str) -> list[dict[str, Any]]:
        return await self._all(collection, {"forum_id": forum_id})

    async def agenda_versions(self, forum_id: str) -> list[dict[str, Any]]:
        return await self._all("reporting_agenda", {"forum_id": forum_id}, "version")


class CaptureStore:
    """The moderators' working collections (written in the same transaction as their events)."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], session: Session = None) -> None:
        self.db, self.session = db, session

    async def workshop_state(self, workshop_id: str) -> dict[str, Any]:
        return self.state_of(workshop_id, await self.db.workshop_state.find_one({"_id": workshop_id}, session=self.session))

    @staticmethod
    def state_of(workshop_id: str, doc: dict[str, Any] | None) -> dict[str, Any]:
        """A workshop's capture and voting state, with the defaults for what was never set."""
        return {"_id": workshop_id, "version": 1, "finalized_version": 0, "dots": DEFAULT_DOTS, "voting_closed": False, **(doc or {})}

    async def set_workshop_state(self, workshop_id: str, fields: dict[str, Any]) -> None:
        await self.db.workshop_state.update_one({"_id": workshop_id}, {"$set": fields}, upsert=True, session=self.session)

    async def get(self, collection: str, key: str) -> dict[str, Any] | None:
        return await self.db[collection].find_one({"_id": key}, session=self.session)

    async def put(self, collection: str, doc: dict[str, Any]) -> None:
        await self.db[collection].replace_one({"_id": doc["_id"]}, doc, upsert=True, session=self.session)

    async def of_workshop(self, collection: str, workshop_id: str) -> list[dict[str, Any]]:
        return [d async for d in self.db[collection].find({"workshop_id": workshop_id}, session=self.session)]

    async def spend(self, voter: str, dots: int, budget: int) -> dict[str, Any] | None:
        """Take dots from a ballot only if the budget allows (atomic conditional update)."""
        return await update_then_read(self.db.voters, {"_id": voter, "active": True, "dots_used": {"$lte": budget - dots}},
                                      {"$inc": {"dots_used": dots}}, session=self.session)

    async def voter_by_token(self, token_hash: str) -> dict[str, Any] | None:
        return await self.db.voters.find_one({"token_hash": token_hash}, session=self.session)

    async def erase_ballots(self, participant_id: str) -> None:
        await self.db.voters.delete_many({"participant_id": participant_id}, session=self.session)
