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
    """Read models held in memory while the rebuild folds every event in.

    Documents are updated in place (a copy per event made a million-event rebuild quadratic in the
    voters of a sketch); `$addToSet` keeps a set next to each list for the membership test.
    """

    def __init__(self) -> None:
        self.collections: dict[str, dict[str, dict[str, Any]]] = {}
        self.members: dict[tuple[str, str, str], set[Any]] = {}
        self.events = 0  # messages folded in (the rebuild reports it)
        self.seen: set[str] = set()  # event ids folded in (a redelivered event counts once, as in the live consumer)

    async def get(self, key: Key) -> dict[str, Any] | None:
        return self.collections.get(key[0], {}).get(key[1])

    async def apply(self, ops: list[Op]) -> None:
        for op in ops:
            docs = self.collections.setdefault(op.collection, {})
            doc = docs.get(op.id)
            if doc is None:
                docs[op.id] = apply_update(None, op)
                for field, value in op.update.get("$addToSet", {}).items():
                    self.members[(op.collection, op.id, field)] = {value}
                continue
            for operator, fields in op.update.items():
                for field, value in fields.items():
                    if operator == "$set":
                        doc[field] = value
                    elif operator == "$inc":
                        doc[field] = doc.get(field, 0) + value
                    elif operator == "$addToSet":
                        key = (op.collection, op.id, field)
                        if key not in self.members:
                            self.members[key] = set(doc.get(field, []))
                        seen = self.members[key]
                        if value not in seen:
                            seen.add(value)
                            doc.setdefault(field, []).append(value)
                    elif operator != "$setOnInsert":
                        raise ValueError(f"unsupported operator {operator}")


async def project_event(event: CloudEvent[Any], view: MongoView | MemoryView) -> list[Op]:
    """Read what the rules need, decide, write; returns the operations (for tests)."""
    docs: Docs = {key: await view.get(key) for key in needs(event)}
    ops = project(event, docs)
    await view.apply(ops)
    return ops
