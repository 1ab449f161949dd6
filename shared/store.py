"""MongoDB wiring: client factory, the outbox, and the unit of work that ties them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import structlog
from pymongo import ASCENDING, AsyncMongoClient, InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from pydantic import BaseModel

from shared.events import CloudEvent, CATALOGUE, derived_id, encode, make_event, utcnow

log = structlog.get_logger()

Publish = Callable[[str, str, bytes, dict[str, str]], Awaitable[None]]


def connect(url: str, appname: str = "themenforum") -> AsyncMongoClient[dict[str, Any]]:
    """A client for the given URL; it connects lazily (call in the lifespan, not at import).

    The application name shows in the server's logs, `currentOp` and profiler, per service.
    """
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000, appname=appname)


async def update_then_read(collection: Any, query: dict[str, Any], update: dict[str, Any], *, session: Any = None,
                           projection: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """`find_one_and_update(..., return_document=AFTER)` for a query with an `_id`: a conditional
    `update_one`, then a read by `_id`; None when nothing matched.

    SecantusDB's findAndModify costs time in proportion to the collection (measured: 6 ms at 1,000
    documents, 139 ms at 30,000, against 0.4 ms for `update_one` by `_id` at any size), which made
    notify's claims and registration's decisions slower the longer a server ran. On MongoDB both are
    index lookups. Inside a transaction the read sees the update; outside one, use it only where the
    query's condition makes the document the caller's alone (a claim), since another writer may come
    between the update and the read.
    """
    result = await collection.update_one(query, update, session=session)
    if not result.matched_count:
        return None
    return await collection.find_one({"_id": query["_id"]}, projection, session=session)


def insert_or_set(known: bool, _id: Any, fields: dict[str, Any]) -> InsertOne[dict[str, Any]] | UpdateOne:
    """A bulk write that creates the document when a read in the same transaction found none, and sets fields otherwise.

    In place of an upsert: the embedded store spends about three times the CPU on an upsert that
    creates a document as on the insert (measured 0.25-0.34 against 0.09-0.11 ms per document,
    one secondary index). Should another writer create the same document after the read, the insert
    conflicts: on the embedded store the transaction is retried at once (`with_transaction`), and
    an error raised instead makes the consumer handle the event again; either way the retry reads
    the document and sets its fields (tests/integration/test_outbox.py).
    """
    return UpdateOne({"_id": _id}, {"$set": fields}) if known else InsertOne({"_id": _id, **fields})


async def retire_indexes(collection: Any, names: tuple[str, ...]) -> None:
    """Drop indexes an earlier version created that nothing queries any more (each one costs on every write)."""
    existing = await collection.index_information()
    for name in names:
        if name in existing:
            await collection.drop_index(name)


class AlreadyProcessed(Exception):
    """The event behind this unit of work was handled before."""


class Outbox:
    """Events stored in the same transaction as the state that caused them.

    The document's `_id` is the cause (an event id or a request key), so it doubles as
    the idempotency record: a cause that is already in the outbox is not handled again.
    After commit the events are published; a relay publishes what a crash left behind.

    What is still to publish is kept apart, in `outbox_pending` (one small entry per transaction
    whose records carry events, removed once they are on the bus), so that the outbox itself needs no
    index but `_id`. On the embedded store every further index costs about as much as the
    document on each insert and update (measured: 0.025 against 0.077 ms per insert, 0.14
    against 0.20 ms per "published" mark), and most records (a consumer's processed events)
    never carry an event.
    """

    LEGACY_INDEX = "published_1_created_at_1"

    def __init__(self, db: AsyncDatabase[dict[str, Any]], publish: Publish, *, mark_delay_s: float = 0.1) -> None:
        self.collection = db["outbox"]
        self.pending = db["outbox_pending"]
        self._publish = publish
        self.mark_delay_s = mark_delay_s
        self._to_mark: set[str] = set()
        self._marker: asyncio.Task[None] | None = None

    async def ensure_indexes(self) -> None:
        """Move a store written by the earlier layout (a `published` flag and its index) to the pending list."""
        if self.LEGACY_INDEX not in await self.collection.index_information():
            return
        async for record in self.collection.find({"published": False}, {"created_at": 1}):
            await self.pending.update_one({"_id": record["_id"]}, {"$setOnInsert": {"created_at": record["created_at"]}},
                                          upsert=True)
        await retire_indexes(self.collection, (self.LEGACY_INDEX,))

    async def insert(self, records: list[dict[str, Any]], session: AsyncClientSession) -> None:
        """Store records inside the transaction, and one entry on the pending list for those that carry events.

        One entry per transaction, not per record: a consumed batch of 200 events costs one pending
        insert and, once published, one delete. The entry's id is the first such record's id; it
        lists the others under `records`.
        """
        await self.collection.insert_many(records, ordered=True, session=session)
        if carrying := [r for r in records if r["events"]]:
            entry: dict[str, Any] = {"_id": carrying[0]["_id"], "created_at": carrying[0]["created_at"]}
            if len(carrying) > 1:
                entry["records"] = [r["_id"] for r in carrying]
            await self.pending.insert_one(entry, session=session)

    async def seen(self, cause: str, session: AsyncClientSession | None = None) -> dict[str, Any] | None:
        """The outbox record of a cause, if it was processed."""
        return await self.collection.find_one({"_id": cause}, session=session)

    async def seen_many(self, causes: list[str]) -> dict[str, dict[str, Any]]:
        """The outbox records of those causes that were processed (one query)."""
        return {r["_id"]: r async for r in self.collection.find({"_id": {"$in": causes}})}

    async def republish(self, records: list[dict[str, Any]]) -> None:
        """Publish again the pending entries these records belong to (a crash or a bus failure left them).

        A whole entry goes out, so the records stored with one of them are published too; consumers
        drop what they had already by event id. The pending list is read without an index of its own.
        """
        ids = [r["_id"] for r in records if r.get("events")]
        if not ids:
            return
        entries = [d async for d in self.pending.find({"$or": [{"_id": {"$in": ids}}, {"records": {"$in": ids}}]})
                   .sort("created_at", ASCENDING)]
        await self._publish_entries(entries)

    async def publish_record(self, record: dict[str, Any]) -> None:
        """Publish a record's events in order, then take it off the pending list."""
        await self.publish_records([record])

    async def publish_records(self, records: list[dict[str, Any]]) -> None:
        """Publish the events of the records one `insert` stored (in order per key), then take their entry off the list."""
        carrying = [r for r in records if r["events"]]
        if not carrying:
            return
        await self._publish_events([item for record in carrying for item in record["events"]])
        self._mark([carrying[0]["_id"]])

    async def _publish_entries(self, entries: list[dict[str, Any]]) -> None:
        """Publish the records of pending entries in the entries' order, then take the entries off the list."""
        if not entries:
            return
        wanted = [rid for e in entries for rid in e.get("records") or [e["_id"]]]
        found = {r["_id"]: r async for r in self.collection.find({"_id": {"$in": wanted}})}
        # A record emptied by erasure (or gone) has nothing left to publish; its entry leaves the list all the same.
        await self._publish_events([item for rid in wanted for item in (found.get(rid) or {}).get("events", [])])
        self._mark([e["_id"] for e in entries])

    def _mark(self, entry_ids: list[str]) -> None:
        self._to_mark.update(entry_ids)
        if self._to_mark and (self._marker is None or self._marker.done()):
            self._marker = asyncio.create_task(self._mark_soon(), name="outbox-mark")

    async def _mark_soon(self) -> None:
        """Take published records off the pending list in one write per short interval, not one per unit of work.

        Until then a record is published again only by the relay, which takes records older than
        a few seconds; consumers drop the repeat by event id. So the delay costs nothing but a
        possible repeat after a crash, which the outbox allows anyway.
        """
        await asyncio.sleep(self.mark_delay_s)
        await self.flush_marks()

    async def flush_marks(self) -> bool:
        """Take every record published so far off the pending list (also called on stop); False if that failed."""
        while self._to_mark:
            ids, self._to_mark = sorted(self._to_mark), set()
            try:
                await self.pending.delete_many({"_id": {"$in": ids}})
            except Exception as exc:  # noqa: BLE001 - left pending, the relay publishes them again
                log.warning("outbox.mark_failed", count=len(ids), error=type(exc).__name__)
                return False
        return True

    async def _publish_events(self, items: list[dict[str, Any]]) -> None:
        """Publish outbox event items (topic, key, type, value) in order."""
        if items:
            await self._publish_many([(i["topic"], i["key"], i["value"].encode(), {"ce_type": i["type"]}) for i in items])

    async def _publish_many(self, messages: list[tuple[str, str, bytes, dict[str, str]]]) -> None:
        send_many = getattr(self._publish, "send_many", None)
        if send_many is not None:
            await send_many(messages)
            return
        for message in messages:
            await self._publish(*message)

    async def relay_pending(self, *, older_than: timedelta = timedelta(0), batch: int = 500) -> int:
        """Publish every entry a crash or a bus failure left pending, oldest first; returns how many entries.

        The pending list holds only what is in flight (a few hundred entries under a rush), so it
        is read without an index of its own; after a long bus outage it is read in batches.
        """
        cutoff = utcnow() - older_than
        count = 0
        while True:
            due = [d async for d in self.pending.find({"created_at": {"$lte": cutoff}}).sort("created_at", ASCENDING)
                   .limit(batch)]
            if not due:
                return count
            await self._publish_entries(due)
            count += len(due)
            if not await self.flush_marks() or len(due) < batch:
                return count


class UnitOfWork:
    """One transaction: state changes plus the events they cause, recorded under `cause`."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db: AsyncDatabase[dict[str, Any]],
        outbox: Outbox,
        *,
        cause: str,
        source: str,
        correlation_id: str | None = None,
    ) -> None:
        self.client, self.db, self.outbox = client, db, outbox
        self.cause, self.source, self.correlation_id = cause, source, correlation_id
        self.session: AsyncClientSession | None = None
        self.events: list[CloudEvent[Any]] = []

    def emit(self, type_: str, *, subject: str, data: BaseModel) -> CloudEvent[Any]:
        """Queue an event; its id derives from the cause, so a replay yields the same id."""
        event = make_event(
            type_,
            subject=subject,
            data=data,
            source=self.source,
            correlation_id=self.correlation_id,
            event_id=derived_id(self.cause, len(self.events)),
        )
        self.events.append(event)
        return event

    async def run(self, work: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
        """Run `work` in a transaction with the outbox record; publish after commit.

        Raises AlreadyProcessed when the cause was handled before (its events are
        published again if a crash left them unpublished).
        """
        record = await self.outbox.seen(self.cause)
        if record is not None:
            await self.outbox.republish([record])
            raise AlreadyProcessed(self.cause)

        result: Any = None
        record: dict[str, Any] = {}

        async def callback(session: AsyncClientSession) -> None:
            nonlocal result, record
            self.session, self.events = session, []
            result = await work(self)
            record = self._record()
            await self.outbox.insert([record], session)

        async with self.client.start_session() as session:
            try:
                await session.with_transaction(callback)
            except DuplicateKeyError as exc:
                if "outbox" in str(exc) or "_id_" in str(exc):
                    raise AlreadyProcessed(self.cause) from exc
                raise
        if self.events:
            await self.outbox.publish_record(record)  # the record as committed; no need to read it back
        return result

    def record(self) -> dict[str, Any]:
        """The outbox record of this unit: its cause and the events it emitted."""
        return self._record()

    def _record(self) -> dict[str, Any]:
        return {
            "_id": self.cause,
            "created_at": utcnow(),
            "events": [
                {"topic": CATALOGUE[e.type].topic, "key": e.subject, "type": e.type, "value": encode(e).decode()}
                for e in self.events
            ],
        }


Work = Callable[[UnitOfWork], Awaitable[Any]]


async def run_together(client: AsyncMongoClient[dict[str, Any]], outbox: Outbox, units: list[UnitOfWork],
                       work: Callable[[], Awaitable[None]]) -> None:
    """Run the work of several units (a consumed batch) in ONE transaction, then publish all their events.

    Every unit shares the session and still gets its own outbox record (its idempotency
    record), so the processed-event ids go in with the state changes in one bulk insert.
    Any failure aborts the whole transaction and is raised; the caller then handles the
    units one by one, so that one bad event cannot take the others with it.
    """
    records: list[dict[str, Any]] = []

    async def callback(session: AsyncClientSession) -> None:
        for uow in units:
            uow.session, uow.events = session, []
        await work()
        records[:] = [uow.record() for uow in units]
        await outbox.insert(records, session)

    async with client.start_session() as session:
        await session.with_transaction(callback)
    await outbox.publish_records([r for r in records if r["events"]])
