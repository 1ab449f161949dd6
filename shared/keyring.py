"""Every service's copy of the per-person data keys (`forum.keys`), kept in its own store.

A key arrives as `participant.key_issued`; erasure deletes it (the service's erasure handler calls
`forget`, and the key's tombstone on `forum.keys` does the same). A forgotten owner is remembered
by id only, so a key that arrives after the erasure (topics are not ordered among each other, and a
broker that does not compact replays old keys) is never stored again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared import pii, topics
from shared.consumer import Batch, EventConsumer
from shared.store import UnitOfWork, insert_or_set

COLLECTION = "participant_keys"
Db = AsyncDatabase[dict[str, Any]]
Session = AsyncClientSession | None


async def remember(db: Db, keys: dict[str, str], session: Session, **extra: Any) -> None:
    """Store keys by owner id, except for owners erased already (one read, one bulk write)."""
    if not keys:
        return
    known = {d["_id"]: d.get("erased", False)
             async for d in db[COLLECTION].find({"_id": {"$in": sorted(keys)}}, {"erased": 1}, session=session)}
    writes = [insert_or_set(owner in known, owner, {"key": key, **extra})
              for owner, key in keys.items() if not known.get(owner)]
    if writes:
        await db[COLLECTION].bulk_write(writes, ordered=True, session=session)


async def forget(db: Db, owners: Iterable[str], session: Session) -> None:
    """Delete the owners' keys for good (their sealed values can no longer be opened here)."""
    for owner in sorted(set(owners)):
        await db[COLLECTION].replace_one({"_id": owner}, {"key": None, "erased": True}, upsert=True, session=session)


async def keys_for(db: Db, owners: Iterable[str], session: Session = None) -> dict[str, str]:
    """The known keys of these owners (missing: not arrived yet, or erased)."""
    ids = sorted({o for o in owners if o})
    if not ids:
        return {}
    return {d["_id"]: d["key"] async for d in db[COLLECTION].find({"_id": {"$in": ids}}, session=session) if d.get("key")}


async def erased(db: Db, owners: Iterable[str], session: Session = None) -> set[str]:
    """Which of these owners were erased here (their keys are gone for good, not merely late)."""
    ids = sorted({o for o in owners if o})
    if not ids:
        return set()
    return {d["_id"] async for d in db[COLLECTION].find({"_id": {"$in": ids}, "erased": True}, {"_id": 1}, session=session)}


async def open_fields(db: Db, owner_id: str, values: dict[str, Any], session: Session = None,
                      placeholder: str = pii.ERASED) -> dict[str, Any]:
    """A copy of `values` with its sealed fields opened (the placeholder where the key is gone)."""
    if not any(pii.is_sealed(v) for v in values.values()):
        return dict(values)
    keys = await keys_for(db, [owner_id], session)
    return {f: pii.open_or(keys, owner_id, f, v, placeholder) if pii.is_sealed(v) else v for f, v in values.items()}


async def _on_keys(batch: Batch) -> None:
    uow0 = batch[0][1]
    await remember(uow0.db, {e.data.participant_id: e.data.key for e, _ in batch}, uow0.session)


async def _on_tombstone(owner_id: str, uow: UnitOfWork) -> None:
    await forget(uow.db, [owner_id], uow.session)


def register(consumer: EventConsumer) -> None:
    """Keep the keys in this service's store: `participant.key_issued` and the tombstones of `forum.keys`."""
    consumer.on_batch("participant.key_issued")(_on_keys)
    consumer.on_tombstone(topics.KEYS)(_on_tombstone)
