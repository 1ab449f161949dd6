"""Projection helpers several services use to follow other services' facts."""

from __future__ import annotations

from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.events.catalogue import ForumConfigured, WorkshopConfigured
from shared.events.selection import SelectionDecided
from shared.store import insert_or_set


async def project_forum(db: AsyncDatabase[dict[str, Any]], forum: ForumConfigured, session: AsyncClientSession | None) -> None:
    """Keep this service's copy of a forum's configuration (newer revisions win)."""
    if await _is_newer(db.catalogue_fora, forum.forum_id, forum.revision, session):
        await db.catalogue_fora.update_one(
            {"_id": forum.forum_id}, {"$set": forum.model_dump(mode="json")}, upsert=True, session=session
        )


async def project_workshop(db: AsyncDatabase[dict[str, Any]], workshop: WorkshopConfigured, session: AsyncClientSession | None) -> None:
    """Keep this service's copy of a workshop's configuration (newer revisions win)."""
    if await _is_newer(db.catalogue_workshops, workshop.workshop_id, workshop.revision, session):
        await db.catalogue_workshops.update_one(
            {"_id": workshop.workshop_id}, {"$set": workshop.model_dump(mode="json")}, upsert=True, session=session
        )


async def _is_newer(collection: Any, key: str, revision: int, session: AsyncClientSession | None) -> bool:
    current = await collection.find_one({"_id": key}, {"revision": 1}, session=session)
    return current is None or current.get("revision", 0) < revision


async def apply_decision_transitions(
    db: AsyncDatabase[dict[str, Any]], decisions: list[SelectionDecided], session: AsyncClientSession | None
) -> list[tuple[dict[str, Any] | None, bool]]:
    """Record each registration's latest decision; per decision (previous decision, whether this one is newer).

    Decisions for one registration arrive in order (same key), but a replay may bring an
    older one again: `decision_seq` makes the projection ignore it. One read, one bulk write.
    """
    ids = sorted({d.registration_id for d in decisions})
    latest: dict[str, dict[str, Any] | None] = dict.fromkeys(ids)
    latest.update({doc["_id"]: doc async for doc in db.decisions.find({"_id": {"$in": ids}}, session=session)})
    answers: list[tuple[dict[str, Any] | None, bool]] = []
    writes: list[InsertOne[dict[str, Any]] | UpdateOne] = []
    for decision in decisions:
        previous = latest[decision.registration_id]
        if previous is not None and previous.get("decision_seq", 0) >= decision.decision_seq:
            answers.append((previous, False))
            continue
        fields = {"forum_id": decision.forum_id, "status": decision.status.value, "workshop_id": decision.workshop_id,
                  "actor_group": decision.actor_group.value, "municipality": decision.municipality,
                  "participant_id": decision.participant_id, "decision_seq": decision.decision_seq,
                  "first_choice": decision.first_choice}
        writes.append(insert_or_set(previous is not None, decision.registration_id, fields))
        latest[decision.registration_id] = {"_id": decision.registration_id, **(previous or {}), **fields}
        answers.append((previous, True))
    if writes:
        await db.decisions.bulk_write(writes, ordered=True, session=session)
    return answers
