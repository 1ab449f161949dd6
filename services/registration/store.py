"""MongoDB adapter of the registration service: fora, workshops (with fill counts), registrations, batch runs."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import utcnow
from shared.events.catalogue import ForumConfigured, ForumStatus, WorkshopConfigured
from shared.events.common import ActorGroup
from shared.store import retire_indexes, update_then_read

from .selection import Candidate, WorkshopFill

Session = AsyncClientSession | None


# Dropped: (forum_id, status) is the prefix of the preferences index, which serves those queries;
# near duplicates are read through the forum prefix. Each index costs about 0.06 ms on every write of
# a registration on the embedded store (measured), and a registration is written at least twice.
# (forum_id, org_key) gave way to the one field `forum_org`: the near-duplicate check reads every
# (forum, organisation) pair of an intake batch in one `$in` instead of one query per forum.
RETIRED_INDEXES = ("forum_id_1_status_1", "forum_id_1_near_duplicate_of_1", "forum_id_1_org_key_1",
                   "one_per_email", "email_lower_1", "forum_id_1_status_1_preferences_1_waitlist_seq_1")
FORUM_ORG_MIGRATION = "registrations.forum_org"


def forum_org(forum_id: str, org_key: str) -> str:
    """A registration's forum and normalised organisation as one indexed value (`$in` over pairs in one query)."""
    return f"{forum_id}\x1f{org_key}"


async def ensure_indexes(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Indexes for every query this service makes, and no more (each one costs on every write)."""
    await db.registrations.create_indexes(
        [
            # One registration per address and forum; its prefix serves by_emails() (the same person across fora).
            IndexModel([("email_lower", ASCENDING), ("forum_id", ASCENDING)], unique=True, name="one_email_per_forum"),
            IndexModel([("participant_id", ASCENDING)]),
            IndexModel([("workshop_id", ASCENDING), ("status", ASCENDING), ("waitlist_seq", ASCENDING)]),
            # Staff listings by status, and move_up_candidates() in waiting-list order (preferences checked on the
            # documents: in the index, the array made three entries per registration to rewrite on every decision).
            IndexModel([("forum_id", ASCENDING), ("status", ASCENDING), ("waitlist_seq", ASCENDING)]),
            IndexModel([("forum_org", ASCENDING)]),  # same_organisations()
        ]
    )
    await _fill_forum_org(db)
    await retire_indexes(db.registrations, RETIRED_INDEXES)
    await db.workshops.create_indexes([IndexModel([("forum_id", ASCENDING), ("number", ASCENDING)])])
    await db.fora.create_indexes([IndexModel([("status", ASCENDING)])])


async def _fill_forum_org(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Give registrations stored before `forum_org` existed that field (once per database: a marker records it)."""
    if await db.migrations.find_one({"_id": FORUM_ORG_MIGRATION}):
        return
    missing = db.registrations.find({"forum_org": {"$exists": False}}, {"forum_id": 1, "org_key": 1})
    updates = [UpdateOne({"_id": d["_id"]}, {"$set": {"forum_org": forum_org(d["forum_id"], d.get("org_key", ""))}})
               async for d in missing]
    for start in range(0, len(updates), 500):
        await db.registrations.bulk_write(updates[start:start + 500], ordered=False)
    await db.migrations.update_one({"_id": FORUM_ORG_MIGRATION}, {"$set": {"done_at": utcnow(), "registrations": len(updates)}},
                                   upsert=True)


class RegistrationStore:
    """Queries and writes of the registration service."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    # catalogue -------------------------------------------------------------
    async def get_forum(self, forum_id: str, session: Session = None) -> ForumConfigured | None:
        doc = await self.db.fora.find_one({"_id": forum_id}, {"_id": 0}, session=session)
        return ForumConfigured.model_validate(doc) if doc else None

    async def get_fora(self, forum_ids: set[str], session: Session = None) -> dict[str, ForumConfigured]:
        """Several fora in one read (by id)."""
        cursor = self.db.fora.find({"_id": {"$in": sorted(forum_ids)}}, session=session)
        return {d["_id"]: ForumConfigured.model_validate({k: v for k, v in d.items() if k != "_id"}) async for d in cursor}

    async def workshop_ids_of(self, forum_ids: set[str]) -> dict[str, set[str]]:
        """The ids of the current workshops of several fora, in one read of the ids only.

        Intake checks each preference against them. The whole documents carry the fill counts,
        one entry per organisation, so reading them for every intake batch cost the store and the
        service more than the rest of the check (profile of the flow bench).
        """
        found: dict[str, set[str]] = {f: set() for f in forum_ids}
        async for d in self.db.workshops.find({"forum_id": {"$in": sorted(forum_ids)}, "removed": {"$ne": True}}, {"forum_id": 1}):
            found[d["forum_id"]].add(d["_id"])
        return found

    async def default_forum(self) -> ForumConfigured | None:
        """The open forum (the earliest by start date when several are open)."""
        doc = await self.db.fora.find_one({"status": ForumStatus.open.value}, {"_id": 0}, sort=[("starts_on", ASCENDING)])
        return ForumConfigured.model_validate(doc) if doc else None

    async def workshops(self, forum_id: str, session: Session = None) -> list[WorkshopConfigured]:
        cursor = self.db.workshops.find({"forum_id": forum_id, "removed": {"$ne": True}}, session=session)
        return [WorkshopConfigured.model_validate(_config(d)) async for d in cursor.sort("number", ASCENDING)]

    async def raw_forum(self, forum_id: str, session: Session = None) -> dict[str, Any] | None:
        return await self.db.fora.find_one({"_id": forum_id}, {"_id": 0}, session=session)

    async def raw_workshop(self, workshop_id: str, session: Session = None) -> dict[str, Any] | None:
        doc = await self.db.workshops.find_one({"_id": workshop_id}, session=session)
        return _config(doc) if doc else None

    async def save_forum(self, forum: ForumConfigured, session: Session) -> None:
        await self.db.fora.update_one(
            {"_id": forum.forum_id}, {"$set": forum.model_dump(mode="json")}, upsert=True, session=session
        )

    async def save_workshop(self, workshop: WorkshopConfigured, session: Session) -> None:
        zero_counts = {f"by_group.{g.value}": 0 for g in ActorGroup}
        await self.db.workshops.update_one(
            {"_id": workshop.workshop_id},
            {"$set": workshop.model_dump(mode="json"), "$setOnInsert": {"accepted": 0, "waitlisted": 0, **zero_counts},
             "$inc": {"version": 1}},
            upsert=True,
            session=session,
        )

    # selection state ---------------------------------------------------------
    async def fills(self, workshop_ids: list[str], session: Session = None) -> dict[str, WorkshopFill]:
        cursor = self.db.workshops.find({"_id": {"$in": workshop_ids}}, session=session)
        return {d["_id"]: _fill(d) async for d in cursor}

    async def fill_docs(self, workshop_ids: list[str], session: Session) -> dict[str, tuple[WorkshopFill, int]]:
        """Fill counts with the version they were read at (for guarded batch writes)."""
        cursor = self.db.workshops.find({"_id": {"$in": workshop_ids}}, session=session)
        return {d["_id"]: (_fill(d), int(d.get("version", 0))) async for d in cursor}

    async def save_fills(self, fills: list[WorkshopFill], versions: dict[str, int], session: Session) -> bool:
        """Write a batch's counts if no one changed the workshops since they were read; False otherwise."""
        if not fills:
            return True
        result = await self.db.workshops.bulk_write([
            UpdateOne({"_id": f.workshop_id, "version": versions[f.workshop_id] or {"$in": [0, None]}},
                      {"$set": {"accepted": f.accepted, "by_group": f.by_group, "by_org": f.by_org, "waitlisted": f.waitlisted},
                       "$inc": {"version": 1}})
            for f in fills], ordered=True, session=session)
        return result.matched_count == len(fills)

    async def forum_fills(self, forum_id: str, session: Session = None) -> list[WorkshopFill]:
        cursor = self.db.workshops.find({"forum_id": forum_id, "removed": {"$ne": True}}, session=session).sort("number", ASCENDING)
        return [_fill(d) async for d in cursor]

    async def take_seat(self, fill: WorkshopFill, group: str, org: str, session: Session) -> bool:
        """Count one accepted person if seats, the group's maximum and the organisation cap still allow it (atomic)."""
        cap = fill.organisation_cap if fill.organisation_cap is not None else fill.open_seats
        result = await self.db.workshops.update_one(
            {"_id": fill.workshop_id, "accepted": {"$lt": fill.open_seats}, f"by_group.{group}": {"$lt": fill.group_max(group)},
             "$or": [{f"by_org.{org}": {"$exists": False}}, {f"by_org.{org}": {"$lt": cap}}]},
            {"$inc": {"accepted": 1, f"by_group.{group}": 1, f"by_org.{org}": 1, "version": 1}},
            session=session,
        )
        return result.modified_count == 1

    async def release_seat(self, workshop_id: str, group: str, org: str, session: Session) -> None:
        """Free one accepted person's seat."""
        await self.db.workshops.update_one(
            {"_id": workshop_id}, {"$inc": {"accepted": -1, f"by_group.{group}": -1, f"by_org.{org}": -1, "version": 1}},
            session=session,
        )

    async def count_waitlisted(self, workshop_id: str, delta: int, session: Session) -> None:
        await self.db.workshops.update_one({"_id": workshop_id}, {"$inc": {"waitlisted": delta, "version": 1}}, session=session)

    async def next_waitlist_seq(self, forum_id: str, session: Session, step: int = 1) -> int:
        """A forum-wide, increasing number that orders the waiting lists."""
        doc = await self.db.counters.find_one_and_update(
            {"_id": _waitlist_counter(forum_id)}, {"$inc": {"seq": step}}, upsert=True, return_document=ReturnDocument.AFTER,
            session=session,
        )
        return int(doc["seq"])

    async def next_waitlist_seqs(self, steps: dict[str, int], session: Session) -> dict[str, int]:
        """Take `step` numbers of each forum's waiting-list sequence at once; returns each forum's first number.

        Two commands for any number of fora (one bulk, one read), inside the caller's transaction.
        """
        steps = {forum: step for forum, step in steps.items() if step > 0}
        if not steps:
            return {}
        ids = {forum: _waitlist_counter(forum) for forum in steps}
        await self.db.counters.bulk_write([UpdateOne({"_id": ids[forum]}, {"$inc": {"seq": step}}, upsert=True)
                                           for forum, step in sorted(steps.items())], ordered=True, session=session)
        last = {d["_id"]: int(d["seq"]) async for d in self.db.counters.find({"_id": {"$in": sorted(ids.values())}},
                                                                              session=session)}
        return {forum: last[ids[forum]] - step + 1 for forum, step in steps.items()}

    async def waitlist_position(self, doc: dict[str, Any], session: Session = None) -> int | None:
        """Live place on the waiting list (1 = next to move up)."""
        if doc.get("status") != "waitlisted" or doc.get("waitlist_seq") is None:
            return None
        return await self.db.registrations.count_documents(
            {"workshop_id": doc["workshop_id"], "status": "waitlisted", "waitlist_seq": {"$lte": doc["waitlist_seq"]}},
            session=session,
        )

    async def move_up_candidates(self, forum_id: str, workshop_id: str, session: Session, limit: int = 300) -> list[Candidate]:
        """Waitlisted registrations that listed this workshop, in waiting-list order (at most `limit`).

        The preferences are checked here, not in the query: a condition on the array makes the
        embedded store scan the collection, and no index holds them (see `ensure_indexes`).
        """
        cursor = self.db.registrations.find(
            {"forum_id": forum_id, "status": "waitlisted"},
            {"actor_group": 1, "org_key": 1, "preferences": 1, "waitlist_seq": 1}, session=session,
        ).sort("waitlist_seq", ASCENDING)
        found: list[Candidate] = []
        async for d in cursor:
            if workshop_id in d["preferences"]:
                found.append(Candidate(d["_id"], d["actor_group"], d.get("org_key", ""), tuple(d["preferences"]),
                                       d.get("waitlist_seq", 0)))
                if len(found) == limit:
                    await cursor.close()
                    break
        return found

    async def waitlist(self, workshop_id: str) -> list[dict[str, Any]]:
        cursor = self.db.registrations.find({"workshop_id": workshop_id, "status": "waitlisted"}, PUBLIC_FIELDS)
        return [d async for d in cursor.sort("waitlist_seq", ASCENDING)]

    async def active(self, forum_id: str, session: Session = None) -> list[dict[str, Any]]:
        """Registrations still in the running (not cancelled)."""
        cursor = self.db.registrations.find(
            {"forum_id": forum_id, "status": {"$in": ["received", "accepted", "waitlisted", "rejected"]}}, session=session
        )
        return [d async for d in cursor]

    async def listing(self, forum_id: str, status: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"forum_id": forum_id} | ({"status": status} if status else {})
        return [d async for d in self.db.registrations.find(query, PUBLIC_FIELDS)]

    async def near_duplicates(self, forum_id: str) -> list[dict[str, Any]]:
        # Through the forum prefix of the status index: a condition on the array makes the embedded store scan.
        return [d async for d in self.db.registrations.find({"forum_id": forum_id}, PUBLIC_FIELDS) if d.get("near_duplicate_of")]

    async def reset_counts(self, forum_id: str, fills: dict[str, WorkshopFill], session: Session) -> None:
        """Set every workshop's counts (after a batch run)."""
        for fill in fills.values():
            await self.db.workshops.update_one(
                {"_id": fill.workshop_id},
                {"$set": {"accepted": fill.accepted, "by_group": fill.by_group, "by_org": fill.by_org,
                          "waitlisted": fill.waitlisted}, "$inc": {"version": 1}}, session=session)

    # batch runs ---------------------------------------------------------------
    async def save_run(self, run: dict[str, Any]) -> None:
        await self.db.batch_runs.insert_one(run)

    async def get_run(self, run_id: str, session: Session = None) -> dict[str, Any] | None:
        return await self.db.batch_runs.find_one({"_id": run_id}, session=session)

    async def mark_run_published(self, run_id: str, session: Session) -> bool:
        result = await self.db.batch_runs.update_one({"_id": run_id, "published": {"$ne": True}},
                                                     {"$set": {"published": True}}, session=session)
        return result.modified_count == 1

    # registrations -----------------------------------------------------------
    async def find_by_email(self, forum_id: str, email: str) -> dict[str, Any] | None:
        return await self.db.registrations.find_one({"forum_id": forum_id, "email_lower": email.lower()})

    async def get(self, registration_id: str, session: Session = None) -> dict[str, Any] | None:
        return await self.db.registrations.find_one({"_id": registration_id}, session=session)

    async def by_emails(self, emails: list[str]) -> list[dict[str, Any]]:
        """Registrations of these addresses in any forum (duplicates and participant ids, one query)."""
        cursor = self.db.registrations.find({"email_lower": {"$in": emails}},
                                            {"forum_id": 1, "email_lower": 1, "participant_id": 1, "status": 1})
        return [d async for d in cursor]

    async def same_organisations(self, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Registrations per (forum, organisation) for the near-duplicate check (at most 200 each), in one query.

        Through the combined field `forum_org`: `$in` on forum and organisation as two fields would
        read their cross product (measured on SecantusDB: 1.9 s for 64 pairs in 20,000
        registrations), and one query per forum cost a round trip and a command each.
        """
        found: dict[tuple[str, str], list[dict[str, Any]]] = {pair: [] for pair in pairs}
        cursor = self.db.registrations.find({"forum_org": {"$in": sorted(forum_org(*pair) for pair in pairs)}},
                                            {"forum_id": 1, "org_key": 1, "first_name": 1, "last_name": 1, "status": 1})
        async for d in cursor:
            same = found.get((d["forum_id"], d.get("org_key", "")))
            if same is not None and len(same) < 200:
                same.append(d)
        return found

    async def insert_many(self, docs: list[dict[str, Any]], session: Session) -> None:
        await self.db.registrations.insert_many(docs, ordered=True, session=session)

    async def get_many(self, ids: list[str], session: Session) -> dict[str, dict[str, Any]]:
        return {d["_id"]: d async for d in self.db.registrations.find({"_id": {"$in": ids}}, session=session)}

    async def bulk_update(self, updates: list[UpdateOne], session: Session) -> None:
        if updates:
            await self.db.registrations.bulk_write(updates, ordered=True, session=session)

    async def insert(self, doc: dict[str, Any], session: Session) -> None:
        await self.db.registrations.insert_one(doc, session=session)

    async def set_decision(self, registration_id: str, fields: dict[str, Any], session: Session) -> int:
        """Record a new current decision; returns its sequence number."""
        doc = await update_then_read(self.db.registrations, {"_id": registration_id}, decision_update(fields),
                                     projection={"decision_seq": 1}, session=session)
        assert doc is not None, "decision for an unknown registration"
        return int(doc["decision_seq"])

    async def mark_cancelled(self, registration_id: str, session: Session) -> dict[str, Any] | None:
        """Set the status to cancelled; returns the document before, or None if it was cancelled already."""
        before = await self.db.registrations.find_one({"_id": registration_id, "status": {"$ne": "cancelled"}}, session=session)
        if before is None:
            return None
        # Conditional on the status read: a concurrent cancellation makes this match nothing (see update_then_read).
        changed = await self.db.registrations.update_one({"_id": registration_id, "status": before["status"]},
                                                         {"$set": {"status": "cancelled", "cancel_pending": True}}, session=session)
        return before if changed.modified_count else None


PUBLIC_FIELDS = {"token_hash": 0, "email_lower": 0, "decision_history": 0}
HISTORY = ("status", "workshop_id", "reasons", "explanation", "waitlist_position")


def decision_update(fields: dict[str, Any]) -> dict[str, Any]:
    """The write of a new current decision: its fields, the next sequence number, and an entry in its history."""
    entry = {k: fields.get(k) for k in HISTORY} | {"decided_at": utcnow()}
    return {"$set": fields, "$inc": {"decision_seq": 1}, "$push": {"decision_history": entry}}


def _waitlist_counter(forum_id: str) -> str:
    """The counters document of a forum's waiting-list sequence."""
    return f"waitlist:{forum_id}"


def _config(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("_id", "accepted", "by_group", "by_org", "waitlisted", "reserved_taken", "version")}


def _fill(doc: dict[str, Any]) -> WorkshopFill:
    return WorkshopFill(
        workshop_id=doc["_id"], number=doc["number"], title=doc["title"], seats=doc["seats"],
        reserved_seats=doc.get("reserved_seats", 0), quotas=doc.get("quotas", {}), organisation_cap=doc.get("organisation_cap"),
        accepted=doc.get("accepted", 0), by_group=doc.get("by_group", {}), by_org=doc.get("by_org", {}),
        waitlisted=doc.get("waitlisted", 0),
    )
