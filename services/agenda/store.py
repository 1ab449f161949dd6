"""MongoDB adapter of the agenda service: owns its collections and their indexes."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared import keyring, pii
from shared.events.agenda import AgendaItemData
from shared.store import insert_or_set

from .domain import Room

Session = AsyncClientSession | None


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Indexes for every query this service makes."""
    await db.catalogue_workshops.create_indexes([IndexModel([("forum_id", ASCENDING), ("number", ASCENDING)])])
    await db.participation.create_indexes([IndexModel([("forum_id", ASCENDING)])])
    await db.agenda_items.create_indexes([IndexModel([("forum_id", ASCENDING), ("starts_at", ASCENDING)])])
    await db.agenda_versions.create_indexes([IndexModel([("workshop_id", ASCENDING), ("version", DESCENDING)], unique=True)])
    await db.agenda_conflicts.create_indexes([IndexModel([("forum_id", ASCENDING)])])
    await db.decisions.create_indexes([IndexModel([("workshop_id", ASCENDING), ("status", ASCENDING)])])
    await db.people.create_indexes([IndexModel([("participant_id", ASCENDING)])])
    await db.breakout_groups.create_indexes([IndexModel([("forum_id", ASCENDING)])])


def item_from_doc(doc: dict[str, Any]) -> AgendaItemData:
    """An agenda item from its stored document."""
    return AgendaItemData.model_validate({**doc, "item_id": doc["_id"]})


class AgendaStore:
    """Queries and writes of the agenda service."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    # catalogue projection and counts --------------------------------------------------
    async def add_counts(self, changes: dict[str, list[tuple[str, str, int]]], session: Session) -> None:
        """Add count changes (per forum: workshop, field, delta), summed per workshop: one bulk write."""
        by_workshop: dict[tuple[str, str], dict[str, int]] = {}
        for forum_id, forum_changes in changes.items():
            for workshop_id, field, delta in forum_changes:
                row = by_workshop.setdefault((workshop_id, forum_id), {})
                row[field] = row.get(field, 0) + delta
        if by_workshop:
            await self.db.participation.bulk_write([
                UpdateOne({"_id": w}, {"$inc": inc, "$set": {"forum_id": forum_id}}, upsert=True)
                for (w, forum_id), inc in sorted(by_workshop.items())], ordered=True, session=session)

    async def participation(self, workshop_id: str, session: Session = None) -> dict[str, Any]:
        doc = await self.db.participation.find_one({"_id": workshop_id}, session=session) or {}
        return {"registered_first_choice": doc.get("registered_first_choice", 0),
                "accepted_total": doc.get("accepted_total", 0), "accepted_by_group": doc.get("accepted_by_group", {})}

    async def accepted_counts(self, forum_ids: list[str], session: Session = None) -> dict[str, dict[str, int]]:
        """Accepted people per workshop, per forum."""
        out: dict[str, dict[str, int]] = {f: {} for f in forum_ids}
        async for d in self.db.participation.find({"forum_id": {"$in": forum_ids}}, {"accepted_total": 1, "forum_id": 1},
                                                  session=session):
            out[d["forum_id"]][d["_id"]] = d.get("accepted_total", 0)
        return out

    async def workshop(self, workshop_id: str, session: Session = None) -> dict[str, Any] | None:
        return await self.db.catalogue_workshops.find_one({"_id": workshop_id}, session=session)

    async def workshops(self, forum_id: str, session: Session = None) -> list[dict[str, Any]]:
        return (await self.workshops_of([forum_id], session))[forum_id]

    async def workshops_of(self, forum_ids: list[str], session: Session = None) -> dict[str, list[dict[str, Any]]]:
        """The workshops of each forum, by number."""
        out: dict[str, list[dict[str, Any]]] = {f: [] for f in forum_ids}
        async for d in self.db.catalogue_workshops.find({"forum_id": {"$in": forum_ids}, "removed": {"$ne": True}},
                                                        session=session):
            out[d["forum_id"]].append(d)
        return {f: sorted(docs, key=lambda d: d.get("number", 0)) for f, docs in out.items()}

    async def forum(self, forum_id: str, session: Session = None) -> dict[str, Any] | None:
        return (await self.fora_of([forum_id], session)).get(forum_id)

    async def fora_of(self, forum_ids: list[str], session: Session = None) -> dict[str, dict[str, Any]]:
        return {d["_id"]: d async for d in self.db.catalogue_fora.find({"_id": {"$in": forum_ids}}, session=session)}

    async def fora(self) -> list[dict[str, Any]]:
        return [d async for d in self.db.catalogue_fora.find({})]

    # venue and draft --------------------------------------------------------------------
    async def venue(self, forum_id: str, session: Session = None) -> dict[str, Any]:
        """Rooms, moderators, opening hours and the draft revision of a forum's agenda."""
        return (await self.venues_of([forum_id], session))[forum_id]

    async def venues_of(self, forum_ids: list[str], session: Session = None) -> dict[str, dict[str, Any]]:
        docs = {d["_id"]: d async for d in self.db.agenda_settings.find({"_id": {"$in": forum_ids}}, session=session)}
        return {f: {"rooms": [], "moderators": [], "day_start": "09:00", "day_end": "17:00", "gap_minutes": 0,
                    "draft_revision": 0, **docs.get(f, {})} for f in forum_ids}

    @staticmethod
    def rooms(venue: dict[str, Any]) -> dict[str, Room]:
        return {r["room_id"]: Room(r["room_id"], r["name"], int(r["capacity"])) for r in venue["rooms"]}

    async def save_venue(self, forum_id: str, fields: dict[str, Any], session: Session) -> None:
        await self.db.agenda_settings.update_one({"_id": forum_id}, {"$set": fields}, upsert=True, session=session)

    async def bump_revision(self, forum_id: str, session: Session) -> None:
        await self.db.agenda_settings.update_one({"_id": forum_id}, {"$inc": {"draft_revision": 1}}, upsert=True,
                                                 session=session)

    async def items(self, forum_id: str, session: Session = None) -> list[AgendaItemData]:
        return (await self.items_of([forum_id], session))[forum_id]

    async def items_of(self, forum_ids: list[str], session: Session = None) -> dict[str, list[AgendaItemData]]:
        """Each forum's draft items by start."""
        out: dict[str, list[AgendaItemData]] = {f: [] for f in forum_ids}
        docs = self.db.agenda_items.find({"forum_id": {"$in": forum_ids}}, session=session).sort("starts_at", ASCENDING)
        async for d in docs:
            out[d["forum_id"]].append(item_from_doc(d))
        return out

    async def item(self, item_id: str, session: Session = None) -> dict[str, Any] | None:
        return await self.db.agenda_items.find_one({"_id": item_id}, session=session)

    async def save_item(self, forum_id: str, item: AgendaItemData, session: Session, *, only_new: bool = False) -> None:
        doc = {**item.model_dump(exclude={"item_id"}), "forum_id": forum_id}
        update = {"$setOnInsert": doc} if only_new else {"$set": doc}
        await self.db.agenda_items.update_one({"_id": item.item_id}, update, upsert=True, session=session)

    async def delete_item(self, item_id: str, session: Session) -> bool:
        return (await self.db.agenda_items.delete_one({"_id": item_id}, session=session)).deleted_count == 1

    # published versions -------------------------------------------------------------------
    async def published_agenda(self, workshop_id: str, version: int | None = None, session: Session = None) -> dict[str, Any] | None:
        if version is not None:
            return await self.db.agenda_versions.find_one({"workshop_id": workshop_id, "version": version}, session=session)
        return await self.db.agenda_versions.find_one({"workshop_id": workshop_id}, sort=[("version", -1)], session=session)

    async def versions(self, workshop_id: str) -> list[dict[str, Any]]:
        docs = self.db.agenda_versions.find({"workshop_id": workshop_id}, {"items": 0}).sort("version", DESCENDING)
        return [d async for d in docs]

    async def removed_items(self, workshop_id: str) -> list[dict[str, Any]]:
        """Items removed in any published version (calendars must learn they are cancelled)."""
        docs = self.db.agenda_versions.find({"workshop_id": workshop_id}, {"diff.removed": 1})
        return [i async for v in docs for i in ((v.get("diff") or {}).get("removed") or [])]

    async def save_version(self, doc: dict[str, Any], session: Session) -> None:
        await self.db.agenda_versions.insert_one({"_id": f"{doc['workshop_id']}:{doc['version']}", **doc}, session=session)

    # conflicts ------------------------------------------------------------------------
    async def reported_conflicts(self, forum_ids: list[str], session: Session = None) -> dict[str, dict[str, dict[str, Any]]]:
        """The conflicts last reported, per forum and workshop."""
        out: dict[str, dict[str, dict[str, Any]]] = {f: {} for f in forum_ids}
        async for d in self.db.agenda_conflicts.find({"forum_id": {"$in": forum_ids}}, session=session):
            out[d["forum_id"]][d["_id"]] = d
        return out

    async def save_conflicts(self, workshop_id: str, forum_id: str, conflicts: list[dict[str, Any]], session: Session) -> None:
        await self.db.agenda_conflicts.update_one(
            {"_id": workshop_id}, {"$set": {"forum_id": forum_id, "conflicts": conflicts}}, upsert=True, session=session)

    # people and breakout groups ------------------------------------------------------------
    async def update_person(self, registration_id: str, fields: dict[str, Any], session: Session) -> None:
        """Change a known person (no upsert: an erased person stays gone)."""
        await self.db.people.update_one({"_id": registration_id}, {"$set": fields}, session=session)

    async def save_people(self, people: dict[str, dict[str, Any]], session: Session) -> None:
        """Store people (insert or set), except those erased already (an erasure can overtake the registration)."""
        pids = sorted({f["participant_id"] for f in people.values() if f.get("participant_id")})
        erased = {d["_id"] async for d in self.db.erased_participants.find({"_id": {"$in": pids}}, session=session)} if pids else set()
        known = {d["_id"] async for d in self.db.people.find({"_id": {"$in": sorted(people)}}, {"_id": 1}, session=session)}
        writes = [insert_or_set(r in known, r, f) for r, f in people.items() if f.get("participant_id") not in erased]
        if writes:
            await self.db.people.bulk_write(writes, ordered=True, session=session)

    async def erase_person(self, participant_id: str, session: Session) -> None:
        """Delete the person's name and organisation and remember the erasure (a tombstone with the id only)."""
        await self.db.people.delete_many({"participant_id": participant_id}, session=session)
        await self.db.erased_participants.update_one({"_id": participant_id}, {"$set": {"erased": True}}, upsert=True,
                                                     session=session)

    async def accepted_people(self, workshop_id: str, session: Session = None) -> list[dict[str, Any]]:
        """Accepted registrations of a workshop with their actor group and organisation (opened; `sealed_organisation` as stored)."""
        decisions = [d async for d in self.db.decisions.find({"workshop_id": workshop_id, "status": "accepted"}, session=session)]
        people = await self.people_opened([d["_id"] for d in decisions], session)
        return [{"registration_id": d["_id"], "actor_group": d["actor_group"],
                 **people.get(d["_id"], {"organisation": "", "name": "", "sealed_organisation": ""})} for d in decisions]

    async def people_opened(self, registration_ids: list[str], session: Session = None) -> dict[str, dict[str, str]]:
        """Organisation and name per registration, opened with the keys this service holds.

        The store keeps them sealed as they came; a person whose key is erased (or not here yet)
        shows without name and organisation.
        """
        docs = [p async for p in self.db.people.find({"_id": {"$in": registration_ids}}, session=session)]
        keys = await keyring.keys_for(self.db, [p.get("participant_id", "") for p in docs], session)
        opened = {}
        for p in docs:
            owner = p.get("participant_id")
            first, last, org = (pii.open_or(keys, owner, f, p.get(f, ""), "") for f in ("first_name", "last_name", "organisation"))
            name = f"{first} {last}".strip() if "first_name" in p else p.get("name", "")  # documents before data version 2
            opened[p["_id"]] = {"organisation": org, "name": name, "sealed_organisation": p.get("organisation", "")}
        return opened

    async def save_groups(self, workshop_id: str, doc: dict[str, Any], session: Session) -> None:
        await self.db.breakout_groups.replace_one({"_id": workshop_id}, doc, upsert=True, session=session)

    async def groups(self, workshop_id: str) -> dict[str, Any] | None:
        return await self.db.breakout_groups.find_one({"_id": workshop_id})
