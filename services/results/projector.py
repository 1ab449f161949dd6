"""Runs the projection rules against MongoDB (live) or against documents in memory (rebuild)."""

from __future__ import annotations

from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import CloudEvent

from .projection import Docs, Key, Op, apply_update, merge_ops, needs, project

INSERTABLE = {"$set", "$setOnInsert", "$inc"}  # what `apply_update` turns into a new document as an upsert would


class BatchView:
    """The live read models for one consumed batch: reads once, writes once.

    The documents the rules need are read in one query per collection and kept up to
    date in memory as the batch's operations apply, so a later event of the batch sees
    an earlier one's effect. The operations go out as one ordered bulk per collection,
    with consecutive updates of the same document merged where MongoDB would give the
    same result.
    """

    def __init__(self, db: AsyncDatabase[dict[str, Any]], session: AsyncClientSession | None) -> None:
        self.db, self.session = db, session
        self.docs: Docs = {}
        self.absent: set[Key] = set()  # read and not found: the first write creates them with an insert
        self.ops: list[Op] = []

    async def preload(self, keys: list[Key]) -> None:
        by_collection: dict[str, set[str]] = {}
        for collection, id_ in keys:
            if (collection, id_) not in self.docs:
                by_collection.setdefault(collection, set()).add(id_)
        for collection, ids in by_collection.items():
            found = {d["_id"]: d async for d in self.db[collection].find({"_id": {"$in": sorted(ids)}}, session=self.session)}
            self.docs.update({(collection, i): found.get(i) for i in ids})
            self.absent.update((collection, i) for i in ids if i not in found)

    async def get(self, key: Key) -> dict[str, Any] | None:
        if key not in self.docs:
            await self.preload([key])
        return self.docs[key]

    async def apply(self, ops: list[Op]) -> None:
        for op in ops:
            key = (op.collection, op.id)
            if key in self.docs:
                self.docs[key] = apply_update(self.docs[key], op)
            self.ops.append(op)

    async def flush(self) -> None:
        by_collection: dict[str, list[Op]] = {}
        for op in merge_ops(self.ops):
            by_collection.setdefault(op.collection, []).append(op)
        for collection, ops in by_collection.items():
            await self.db[collection].bulk_write([self._write(o) for o in ops], ordered=True, session=self.session)
        self.ops = []

    def _write(self, op: Op) -> InsertOne[dict[str, Any]] | UpdateOne:
        """An insert for the first write of a document the batch read and did not find, else an upsert.

        An upsert that creates a document costs the embedded store about three times an insert (see
        `shared.store.insert_or_set`, also for a writer that creates it in between).
        """
        key = (op.collection, op.id)
        if key in self.absent and set(op.update) <= INSERTABLE and not any("." in f for v in op.update.values() for f in v):
            self.absent.discard(key)
            return InsertOne(apply_update(None, op))
        self.absent.discard(key)
        return UpdateOne({"_id": op.id}, op.update, upsert=True)


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


async def project_event(event: CloudEvent[Any], view: BatchView | MemoryView) -> list[Op]:
    """Read what the rules need, decide, write; returns the operations (for tests)."""
    docs: Docs = {key: await view.get(key) for key in needs(event)}
    ops = project(event, docs)
    await view.apply(ops)
    return ops
