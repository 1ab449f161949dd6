"""Runs the projection rules against MongoDB (live) or against documents in memory (rebuild)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import CloudEvent

from .projection import Docs, Key, Op, apply_update, needs, project


class MongoView:
    """The live read models: reads and upserts inside the consumer's transaction."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], session: AsyncClientSession | None) -> None:
        self.db, self.session = db, session

    async def get(self, key: Key) -> dict[str, Any] | None:
        return await self.db[key[0]].find_one({"_id": key[1]}, session=self.session)

    async def apply(self, ops: list[Op]) -> None:
        for op in ops:
            await self.db[op.collection].update_one({"_id": op.id}, op.update, upsert=True, session=self.session)


class MemoryView:
    """Read models held in memory while the rebuild folds every event in."""

    def __init__(self) -> None:
        self.collections: dict[str, dict[str, dict[str, Any]]] = {}
        self.events = 0  # messages folded in (the rebuild reports it)
        self.seen: set[str] = set()  # event ids folded in (a redelivered event counts once, as in the live consumer)

    async def get(self, key: Key) -> dict[str, Any] | None:
        return self.collections.get(key[0], {}).get(key[1])

    async def apply(self, ops: list[Op]) -> None:
        for op in ops:
            docs = self.collections.setdefault(op.collection, {})
            docs[op.id] = apply_update(docs.get(op.id), op)


async def project_event(event: CloudEvent[Any], view: MongoView | MemoryView) -> list[Op]:
    """Read what the rules need, decide, write; returns the operations (for tests)."""
    docs: Docs = {key: await view.get(key) for key in needs(event)}
    ops = project(event, docs)
    await view.apply(ops)
    return ops
