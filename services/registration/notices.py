"""Privacy-notice history: every version and wording a forum ever showed stays retrievable."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import utcnow
from shared.events.catalogue import ForumConfigured

from .retention_rules import notice_id

Db = AsyncDatabase[dict[str, Any]]


async def ensure_indexes(db: Db) -> None:
    """Notices by forum and version (history listing, fallback look-up)."""
    await db.privacy_notices.create_indexes([IndexModel([("forum_id", ASCENDING), ("version", ASCENDING)])])


async def record_notice(db: Db, forum: ForumConfigured, session: AsyncClientSession | None = None) -> str:
    """Keep the forum's current notice (once per wording); returns its id."""
    key = notice_id(forum.forum_id, forum.privacy_notice_version, forum.privacy_notice_text)
    await db.privacy_notices.update_one(
        {"_id": key}, {"$setOnInsert": {"forum_id": forum.forum_id, "version": forum.privacy_notice_version,
                                        "text": forum.privacy_notice_text, "recorded_at": utcnow()}},
        upsert=True, session=session)
    return key


async def record_all(runtime: Any) -> None:
    """Start-up: fora configured before the history existed get their current notice recorded."""
    async for doc in runtime.db.fora.find({}, {"_id": 0}):
        await record_notice(runtime.db, ForumConfigured.model_validate(doc))


async def notice_for(db: Db, registration: dict[str, Any]) -> dict[str, Any] | None:
    """The notice a person consented to: the exact wording when recorded, else the version's wording of that time."""
    if registration.get("consent_notice_id"):
        found = await db.privacy_notices.find_one({"_id": registration["consent_notice_id"]})
        if found:
            return found
    cursor = db.privacy_notices.find({"forum_id": registration["forum_id"], "version": registration.get("consent_version")})
    candidates = [d async for d in cursor.sort("recorded_at", ASCENDING)]
    submitted = registration.get("created_at")
    before = [d for d in candidates if submitted is None or d["recorded_at"] <= submitted]
    return (before or candidates or [None])[-1 if before else 0]


async def history(db: Db, forum_id: str) -> list[dict[str, Any]]:
    """Every notice of a forum, newest first."""
    cursor = db.privacy_notices.find({"forum_id": forum_id}).sort("recorded_at", DESCENDING).limit(200)
    return [{"id": d["_id"], "version": d["version"], "text": d["text"], "recorded_at": d["recorded_at"]} async for d in cursor]
