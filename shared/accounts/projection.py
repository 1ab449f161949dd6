"""Every service's copy of the staff accounts and tokens, built from `forum.staff` events."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import CloudEvent
from shared.events.staff import StaffAccountChanged, StaffTokenIssued, StaffTokenRevoked
from shared.store import UnitOfWork

from . import BUILTIN_ADMIN, token_hash

ACCOUNTS = "staff_accounts"
TOKENS = "staff_tokens"
BUILTIN = {"_id": BUILTIN_ADMIN, "roles": ["admin"], "workshops": [], "disabled": False, "builtin": True}


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Tokens are looked up by their hash on every API call."""
    await db[TOKENS].create_indexes([IndexModel([("hash", ASCENDING)], unique=True)])


def account_doc(data: StaffAccountChanged) -> dict[str, Any]:
    """The stored form of an account (the same in the owner and in every projection)."""
    return {"_id": data.username, "display_name": data.display_name, "roles": [r.value for r in data.roles],
            "workshops": list(data.workshops), "disabled": data.disabled, "password_hash": data.password_hash,
            "version": data.version}


async def on_account_changed(event: CloudEvent[StaffAccountChanged], uow: UnitOfWork) -> None:
    """Keep the newest version of the account (events of one account arrive in order; replays are skipped)."""
    accounts = uow.db[ACCOUNTS]
    current = await accounts.find_one({"_id": event.data.username}, {"version": 1}, session=uow.session)
    if current is None or current.get("version", 0) < event.data.version:
        await accounts.replace_one({"_id": event.data.username}, account_doc(event.data), upsert=True, session=uow.session)


async def on_token_issued(event: CloudEvent[StaffTokenIssued], uow: UnitOfWork) -> None:
    """Record the token's hash; a revocation that came first is kept."""
    d = event.data
    await uow.db[TOKENS].update_one({"_id": d.token_id}, {"$setOnInsert": {"revoked": False}, "$set": {
        "hash": d.token_hash, "username": d.username, "roles": [r.value for r in d.roles], "workshops": list(d.workshops),
        "label": d.label, "issued_at": d.issued_at}}, upsert=True, session=uow.session)


async def on_token_revoked(event: CloudEvent[StaffTokenRevoked], uow: UnitOfWork) -> None:
    """Mark the token revoked (for good)."""
    await uow.db[TOKENS].update_one({"_id": event.data.token_id}, {"$set": {
        "revoked": True, "revoked_at": event.data.revoked_at}, "$setOnInsert": {"hash": f"revoked:{event.data.token_id}"}},
        upsert=True, session=uow.session)


def register(consumer: Any) -> None:
    """Let a service's consumer keep the projection (and nothing else see these events)."""
    consumer.on("staff.account_changed")(on_account_changed)
    consumer.on("staff.token_issued")(on_token_issued)
    consumer.on("staff.token_revoked")(on_token_revoked)


async def find_account(db: AsyncDatabase[dict[str, Any]], username: str) -> dict[str, Any] | None:
    """The account (the built-in admin included), or None."""
    if username == BUILTIN_ADMIN:
        return dict(BUILTIN)
    return await db[ACCOUNTS].find_one({"_id": username})


async def find_token(db: AsyncDatabase[dict[str, Any]], token: str) -> dict[str, Any] | None:
    """The unrevoked token record behind a presented token, or None."""
    record = await db[TOKENS].find_one({"hash": token_hash(token)})
    return record if record is not None and not record.get("revoked") else None
