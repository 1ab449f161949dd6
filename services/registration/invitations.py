"""Invitations: personal links that hold a reserved seat; the use cases inside units of work."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.errors import DuplicateKeyError
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import utcnow
from shared.events.registrations import InvitationSent
from shared.events.selection import DecisionStatus
from shared.store import UnitOfWork

from . import keys, seats
from .domain import IntakeError, RegistrationCreate
from .invitation_rules import Invitee

Db = AsyncDatabase[dict[str, Any]]


async def ensure_indexes(db: Db) -> None:
    """One invitation per e-mail and forum; listings by forum."""
    await db.invitations.create_indexes([
        IndexModel([("forum_id", ASCENDING), ("email_lower", ASCENDING)], unique=True, name="one_invitation_per_email"),
        IndexModel([("forum_id", ASCENDING), ("status", ASCENDING)]),
    ])


async def _key(db: Db) -> bytes:
    """The service's secret for invitation links (made once, kept in its own database)."""
    try:
        doc = await db.service_secrets.find_one_and_update(
            {"_id": "invitation_links"}, {"$setOnInsert": {"key": secrets.token_hex(32)}}, upsert=True,
            return_document=ReturnDocument.AFTER)
    except DuplicateKeyError:  # made concurrently by another request: use that one
        doc = await db.service_secrets.find_one({"_id": "invitation_links"})
    return bytes.fromhex(doc["key"])


def _mac(key: bytes, invitation_id: str) -> str:
    digest = hmac.new(key, invitation_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


async def link_token(db: Db, invitation_id: str) -> str:
    """The token of an invitation's personal links (the same every time, so reminders carry the same link)."""
    return f"{invitation_id}.{_mac(await _key(db), invitation_id)}"


async def by_token(db: Db, token: str) -> dict[str, Any] | None:
    """The invitation a token belongs to, if the token is genuine."""
    invitation_id, _, mac = token.partition(".")
    if not mac or not hmac.compare_digest(mac, _mac(await _key(db), invitation_id)):
        return None
    return await db.invitations.find_one({"_id": invitation_id})


async def check_invitation(db: Db, forum_id: str, body: RegistrationCreate) -> dict[str, Any] | None:
    """The invitation a registration comes with (None without a token); IntakeError when the token is not valid here."""
    if not body.invitation_token:
        return None
    invitation = await by_token(db, body.invitation_token)
    if invitation is None or invitation["forum_id"] != forum_id:
        raise IntakeError("invitation_token", "Diese Einladung ist ungültig oder gehört zu einer anderen Veranstaltung.",
                          "unknown_invitation")
    return invitation


def registration_fields(invitation: dict[str, Any] | None) -> dict[str, Any]:
    """What a registration document remembers of its invitation."""
    return {"invitation_id": invitation["_id"], "invited_workshop_id": invitation["workshop_id"]} if invitation else {}


async def mark_answered(uow: UnitOfWork, invitation: dict[str, Any] | None, status: str, registration_id: str | None) -> None:
    """Record the invitee's answer (accepted through a registration, or declined)."""
    if invitation is None:
        return
    await uow.db.invitations.update_one(
        {"_id": invitation["_id"]}, {"$set": {"status": status, "registration_id": registration_id, "answered_at": utcnow()}},
        session=uow.session)


async def _take_reserved(uow: UnitOfWork, workshop_id: str) -> bool:
    """Count one invitee on a reserved seat if one is left (optimistic on the current count)."""
    doc = await uow.db.workshops.find_one({"_id": workshop_id}, session=uow.session)
    if doc is None or doc.get("removed"):
        return False
    # `version` is bumped like every write to a workshop's counts (batch deciders guard their writes with it).
    taken = doc.get("reserved_taken", 0)
    if taken >= doc.get("reserved_seats", 0):
        return False
    current = {"reserved_taken": taken} if taken else {"$or": [{"reserved_taken": {"$exists": False}}, {"reserved_taken": 0}]}
    result = await uow.db.workshops.update_one({"_id": workshop_id, **current}, {"$inc": {"reserved_taken": 1, "version": 1}},
                                               session=uow.session)
    return result.modified_count == 1


async def decide_invited(uow: UnitOfWork, reg: dict[str, Any]) -> None:
    """An invitee gets a reserved seat of their workshop; when none is left they go through normal selection."""
    workshop_id = reg["invited_workshop_id"]
    if not await _take_reserved(uow, workshop_id):
        await seats.decide(uow, reg)
        return
    workshop = await uow.db.workshops.find_one({"_id": workshop_id}, {"number": 1, "title": 1}, session=uow.session)
    await seats.record(uow, reg, status=DecisionStatus.accepted, workshop_id=workshop_id, reasons=["invited"],
                       explanation=f"Sie haben über Ihre persönliche Einladung einen reservierten Platz im Workshop "
                                   f"{workshop['number']} „{workshop['title']}“ erhalten.",
                       first_choice=reg["preferences"][0] == workshop_id,
                       extra={"reserved_seat": workshop_id, "waitlist_seq": None, "waitlist_position": None})


async def release_reserved(uow: UnitOfWork, reg: dict[str, Any]) -> None:
    """A cancelling invitee gives their reserved seat back (it stays reserved for invitees)."""
    if not reg.get("reserved_seat"):
        return
    await uow.db.workshops.update_one({"_id": reg["reserved_seat"]}, {"$inc": {"reserved_taken": -1, "version": 1}},
                                      session=uow.session)
    await uow.db.registrations.update_one({"_id": reg["_id"]}, {"$set": {"reserved_seat": None}}, session=uow.session)
    if reg.get("invitation_id"):
        await uow.db.invitations.update_one({"_id": reg["invitation_id"]}, {"$set": {"status": "cancelled"}},
                                            session=uow.session)


async def import_invitees(uow: UnitOfWork, forum_id: str, invitees: list[Invitee], base_url: str) -> dict[str, int]:
    """Store new invitations and emit `invitation.sent` for each; people invited before are skipped."""
    created = skipped = 0
    for person in invitees:
        if await uow.db.invitations.find_one({"forum_id": forum_id, "email_lower": person.email.lower()},
                                             {"_id": 1}, session=uow.session):
            skipped += 1
            continue
        invitation_id = str(uuid.uuid4())
        doc = {"_id": invitation_id, "forum_id": forum_id, **person.__dict__, "actor_group": person.actor_group.value,
               "email_lower": person.email.lower(), "status": "pending", "sent": 1, "created_at": utcnow()}
        await uow.db.invitations.insert_one(doc, session=uow.session)
        await _emit_sent(uow, doc, base_url, sequence=1)
        created += 1
    return {"created": created, "skipped": skipped}


async def remind_pending(uow: UnitOfWork, forum_id: str, base_url: str) -> int:
    """Send a reminder to everyone who has not answered yet; returns how many."""
    pending = [d async for d in uow.db.invitations.find({"forum_id": forum_id, "status": "pending"}, session=uow.session)]
    for doc in pending:
        doc["sent"] = doc.get("sent", 1) + 1
        await uow.db.invitations.update_one({"_id": doc["_id"]}, {"$set": {"sent": doc["sent"]}}, session=uow.session)
        await _emit_sent(uow, doc, base_url, sequence=doc["sent"])
    return len(pending)


async def _emit_sent(uow: UnitOfWork, doc: dict[str, Any], base_url: str, *, sequence: int) -> None:
    token = await link_token(uow.db, doc["_id"])
    key = await keys.key_for(uow, doc["_id"])  # issued before the first invitation it seals
    uow.emit("invitation.sent", subject=doc["_id"], data=keys.seal_invitation(InvitationSent(
        invitation_id=doc["_id"], forum_id=doc["forum_id"], workshop_id=doc["workshop_id"], first_name=doc["first_name"],
        last_name=doc["last_name"], email=doc["email"], organisation=doc["organisation"], language=doc.get("language", "de"),
        reminder=sequence > 1, sequence=sequence, invitation_url=f"{base_url}/?invitation={token}",
        decline_url=f"{base_url}/invitation/{token}/decline", sent_at=utcnow()), key))


async def form_values(db: Db, token: str) -> dict[str, str] | None:
    """The public form's values for an invitation link (None when the link is not valid)."""
    invitation = await by_token(db, token)
    if invitation is None:
        return None
    return {"forum_id": invitation["forum_id"], "first_name": invitation["first_name"], "last_name": invitation["last_name"],
            "email": invitation["email"], "organisation": invitation["organisation"], "actor_group": invitation["actor_group"],
            "preference_0": invitation["workshop_id"], "invitation_token": token}


async def listing(db: Db, forum_id: str) -> list[dict[str, Any]]:
    """Invitations of a forum with their answers (accepted, declined, pending = not answered)."""
    cursor = db.invitations.find({"forum_id": forum_id}, {"email_lower": 0}).sort("created_at", ASCENDING)
    return [{"id": d["_id"], "first_name": d["first_name"], "last_name": d["last_name"], "email": d["email"],
             "organisation": d["organisation"], "actor_group": d["actor_group"], "workshop_id": d["workshop_id"],
             "status": d["status"], "registration_id": d.get("registration_id"), "mails_sent": d.get("sent", 1)}
            async for d in cursor]
