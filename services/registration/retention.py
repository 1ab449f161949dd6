"""Retention: a forum's personal data is anonymised by itself a configured time after the forum.

Each step is a unit of work with a cause of its own (one per person, one for the forum's
invitations, one for the forum), so a restart or a second instance skips what is done and a
crash mid-way resumes where it stopped. People are erased through the same path as an
erasure request (`requested_by: retention`), but their registrations are not cancelled: the
forum is over, and the report keeps counting them. A person who is also registered for a
forum whose retention is still running keeps their data there; only this forum's records
are anonymised now, and the erasure everywhere follows with their last forum.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import structlog
from pymongo import ASCENDING, IndexModel

from shared.events.catalogue import ForumConfigured
from shared.store import AlreadyProcessed, UnitOfWork

from .erasure import anonymise_registrations, erase_participant, forget_invitations
from .retention_rules import RETENTION_REQUESTER, erase_everywhere, retention_cause, retention_due_at

log = structlog.get_logger()


async def ensure_indexes(db: Any) -> None:
    """Retention records by whether the forum was anonymised (the scheduler's query)."""
    await db.retention.create_indexes([IndexModel([("anonymised_at", ASCENDING)])])


async def record_of(db: Any, forum_id: str) -> dict[str, Any] | None:
    """The forum's retention record (when it was anonymised, how many people), if it was."""
    return await db.retention.find_one({"_id": forum_id})


async def _fora(db: Any) -> list[ForumConfigured]:
    return [ForumConfigured.model_validate(d) async for d in db.fora.find({}, {"_id": 0})]


async def anonymise_due_fora(runtime: Any, now: datetime, default_days: int) -> list[str]:
    """Anonymise every forum whose retention date has passed and that is not anonymised yet; returns their ids."""
    fora = await _fora(runtime.db)
    done = {d["_id"] async for d in runtime.db.retention.find({"anonymised_at": {"$ne": None}}, {"_id": 1})}
    due = {f.forum_id: at for f in fora if (at := retention_due_at(f, default_days)) is not None and now >= at}
    expired = done | set(due)
    finished = []
    for forum_id in sorted(set(due) - done):
        handled = await anonymise_forum(runtime, forum_id, expired)
        if await _finish(runtime, forum_id, now, due[forum_id]):
            log.info("registration.retention_anonymised", forum_id=forum_id, **handled)
            finished.append(forum_id)
    return finished


async def anonymise_forum(runtime: Any, forum_id: str, expired: set[str]) -> dict[str, int]:
    """Anonymise the forum's people (each once) and its invitations; returns how many were handled now."""
    db = runtime.db
    regs = [d async for d in db.registrations.find({"forum_id": forum_id, "erased": {"$ne": True}},
                                                     {"participant_id": 1, "invitation_id": 1})]
    people: dict[str, list[dict[str, Any]]] = {}
    for reg in regs:
        people.setdefault(reg["participant_id"], []).append(reg)
    elsewhere: dict[str, set[str]] = {}
    async for d in db.registrations.find({"participant_id": {"$in": sorted(people)}, "forum_id": {"$ne": forum_id},
                                          "erased": {"$ne": True}}, {"participant_id": 1, "forum_id": 1}):
        elsewhere.setdefault(d["participant_id"], set()).add(d["forum_id"])
    handled = 0
    for participant_id, own in sorted(people.items()):
        everywhere = erase_everywhere(elsewhere.get(participant_id, set()), expired)
        handled += await _once(runtime, retention_cause(forum_id, participant_id),
                               lambda uow, p=participant_id, o=own, e=everywhere: _anonymise_person(uow, p, o, e))
    invitations = [d["_id"] async for d in db.invitations.find({"forum_id": forum_id, "erased": {"$ne": True}}, {"_id": 1})]
    forgotten = 0
    if invitations:
        forgotten = len(invitations) * await _once(
            runtime, retention_cause(forum_id, "invitations"),
            lambda uow: forget_invitations(uow, invitations, RETENTION_REQUESTER))
    return {"participants": handled, "invitations": forgotten}


async def _anonymise_person(uow: UnitOfWork, participant_id: str, own: list[dict[str, Any]], everywhere: bool) -> None:
    if everywhere:
        await erase_participant(uow, participant_id, RETENTION_REQUESTER)
        return
    await forget_invitations(uow, [d["invitation_id"] for d in own if d.get("invitation_id")], RETENTION_REQUESTER)
    await anonymise_registrations(uow, [d["_id"] for d in own])


async def _once(runtime: Any, cause: str, work: Any) -> int:
    """Run one step unless its cause was handled before (by this or another instance); 1 if it ran now."""
    try:
        await runtime.unit_of_work(cause=cause).run(work)
    except AlreadyProcessed:
        return 0
    return 1


async def _finish(runtime: Any, forum_id: str, now: datetime, due_at: datetime) -> bool:
    """Record that the forum is anonymised, with how many of its records are (once; the first instance's record stays)."""
    async def work(uow: UnitOfWork) -> None:
        where = {"forum_id": forum_id, "erased": True}
        counts = {"registrations": await uow.db.registrations.count_documents(where, session=uow.session),
                  "invitations": await uow.db.invitations.count_documents(where, session=uow.session)}
        await uow.db.retention.update_one({"_id": forum_id}, {"$set": {"anonymised_at": now, "due_at": due_at, **counts}},
                                          upsert=True, session=uow.session)
    return bool(await _once(runtime, retention_cause(forum_id), work))


async def run_retention(runtime: Any, clock: Any, default_days: int, interval_s: float) -> None:
    """Check for due fora every `interval_s` for the life of the service."""
    while True:
        try:
            await anonymise_due_fora(runtime, clock.now(), default_days)
        except Exception as exc:  # noqa: BLE001 - the scheduler must outlive passing outages; the next round resumes
            log.warning("registration.retention_check_failed", error=type(exc).__name__)
        await asyncio.sleep(interval_s)
