"""Forum set-up use cases inside one unit of work: fora, workshops (with re-checks), archive, clone, open/close."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from shared.events.catalogue import ForumStatus, SelectionMode, WorkshopConfigured
from shared.events.selection import DecisionStatus
from shared.store import UnitOfWork

from . import catalogue, seats
from .setup_domain import (
    CONFIRMABLE, CloneCreate, Conflict, ForumWrite, Seated, WorkshopWrite, clone_of, displaced, displaced_explanation,
    forum_config, opening_gaps, reduction_conflicts, slug, workshop_config,
)
from .store import RegistrationStore


class NotFound(LookupError):
    """No such forum or workshop."""


class Refused(Exception):
    """The change would make current decisions invalid; `confirmable` when staff may confirm it."""

    def __init__(self, conflicts: list[Conflict], confirmable: bool) -> None:
        super().__init__("; ".join(c.message for c in conflicts))
        self.conflicts, self.confirmable = conflicts, confirmable


async def create_forum(uow: UnitOfWork, body: ForumWrite) -> str:
    """A new draft forum; its id comes from the title unless given."""
    forum_id = body.forum_id or f"{slug(body.title)}-{secrets.token_hex(2)}"
    store = RegistrationStore(uow.db)
    if await store.raw_forum(forum_id, uow.session) is not None:
        raise Refused([Conflict("forum_id", "forum_exists", "Diese Kennung ist bereits vergeben.")], confirmable=False)
    await catalogue.configure_forum(uow, forum_config(body, forum_id, None))
    return forum_id


async def update_forum(uow: UnitOfWork, forum_id: str, body: ForumWrite) -> bool:
    """Change a forum's configuration (not its status)."""
    current = await RegistrationStore(uow.db).get_forum(forum_id, uow.session)
    if current is None:
        raise NotFound(forum_id)
    return await catalogue.configure_forum(uow, forum_config(body, forum_id, current))


async def set_status(uow: UnitOfWork, forum_id: str, status: ForumStatus, at: datetime) -> bool:
    """Open, close or archive a forum by hand (an archived forum stays archived)."""
    forum = await RegistrationStore(uow.db).get_forum(forum_id, uow.session)
    if forum is None:
        raise NotFound(forum_id)
    if forum.status == ForumStatus.archived and status != ForumStatus.archived:
        raise Refused([Conflict("status", "archived", "Die Veranstaltung ist archiviert.")], confirmable=False)
    if status == ForumStatus.archived:
        return await catalogue.configure_forum(uow, forum.model_copy(update={"status": status}))
    if status == ForumStatus.open:
        missing = opening_gaps(forum, await RegistrationStore(uow.db).workshops(forum_id, uow.session))
        if missing:
            raise Refused(missing, confirmable=False)
    return await catalogue.set_registration_status(uow, forum_id, status, at=at)


async def clone_forum(uow: UnitOfWork, forum_id: str, body: CloneCreate) -> str:
    """A draft copy of a forum and its workshops, with new ids and no people."""
    store = RegistrationStore(uow.db)
    forum = await store.get_forum(forum_id, uow.session)
    if forum is None:
        raise NotFound(forum_id)
    new_id = body.forum_id or f"{slug(body.title or forum.title)}-{secrets.token_hex(2)}"
    if await store.raw_forum(new_id, uow.session) is not None:
        raise Refused([Conflict("forum_id", "forum_exists", "Diese Kennung ist bereits vergeben.")], confirmable=False)
    copy, workshops = clone_of(forum, await store.workshops(forum_id, uow.session), new_id, body.title)
    await catalogue.configure_forum(uow, copy)
    for workshop in workshops:
        await catalogue.configure_workshop(uow, workshop)
    return new_id


async def save_workshop(uow: UnitOfWork, forum_id: str, workshop_id: str | None, body: WorkshopWrite,
                        confirm: bool) -> dict[str, Any]:
    """Create or change a workshop; a change that breaks decisions needs `confirm`, then the selection re-checks."""
    store = RegistrationStore(uow.db)
    forum = await store.get_forum(forum_id, uow.session)
    if forum is None:
        raise NotFound(forum_id)
    existing = await store.workshops(forum_id, uow.session)
    number = max((w.number for w in existing), default=0) + 1
    workshop_id = workshop_id or f"{forum_id}-ws{number}"
    current = await uow.db.workshops.find_one({"_id": workshop_id}, session=uow.session)
    if current is not None and current["forum_id"] != forum_id:
        raise Refused([Conflict("workshop_id", "workshop_elsewhere", "Diese Workshop-Kennung gehört zu einer anderen "
                                                                      "Veranstaltung.")], confirmable=False)
    new = workshop_config(body, forum_id, workshop_id, current["number"] if current else number)
    if current is None:
        await catalogue.configure_workshop(uow, new)
        return {"id": workshop_id, "displaced": [], "moved_up": []}
    fill = (await store.fills([workshop_id], uow.session))[workshop_id]
    conflicts = reduction_conflicts(fill, new, current.get("reserved_taken", 0))
    if conflicts and (not confirm or any(c.code not in CONFIRMABLE for c in conflicts)):
        raise Refused(conflicts, confirmable=all(c.code in CONFIRMABLE for c in conflicts))
    await catalogue.configure_workshop(uow, new.model_copy(update={"removed": False}))
    gone = await _displace(uow, fill, new) if conflicts else []
    rolling = forum.selection_mode == SelectionMode.rolling  # batch mode waits for the staff's run
    moved = await _refill(uow, forum_id, workshop_id, new.seats) if rolling else []
    return {"id": workshop_id, "displaced": gone, "moved_up": moved}


async def _displace(uow: UnitOfWork, fill: Any, new: WorkshopConfigured) -> list[str]:
    """Put the people who no longer fit (latest first) on the waiting list through the normal decision path."""
    store = RegistrationStore(uow.db)
    cursor = uow.db.registrations.find({"workshop_id": fill.workshop_id, "status": "accepted", "seat": fill.workshop_id},
                                       session=uow.session)
    docs = sorted([d async for d in cursor], key=lambda d: (d.get("created_at"), d["_id"]), reverse=True)
    by_id = {d["_id"]: d for d in docs}
    people = [Seated(d["_id"], d["actor_group"], d.get("org_key", "")) for d in docs]
    out = []
    for person, reason in displaced(people, fill, new):
        reg = by_id[person.registration_id]
        await store.release_seat(fill.workshop_id, person.group, person.org, uow.session)
        seq = await store.next_waitlist_seq(reg["forum_id"], uow.session)
        await store.count_waitlisted(fill.workshop_id, 1, uow.session)
        ahead = await store.waitlist_position({**reg, "status": "waitlisted", "waitlist_seq": seq}, uow.session) or 0
        position = ahead + 1  # the person is not counted as waitlisted yet
        await seats.record(uow, reg, status=DecisionStatus.waitlisted, workshop_id=fill.workshop_id,
                           reasons=["workshop_reduced", reason],
                           explanation=displaced_explanation(new.number, new.title, reason, person.group)
                           + f" Sie stehen auf Platz {position} der Warteliste.",
                           extra={"seat": None, "waitlist_seq": seq, "waitlist_position": position})
        out.append(person.registration_id)
    return out


async def _refill(uow: UnitOfWork, forum_id: str, workshop_id: str, limit: int) -> list[str]:
    """Move waiting people up while the (possibly larger) workshop has room for them."""
    moved = []
    for _ in range(limit):
        chosen = await seats.refill(uow, forum_id, workshop_id, "")
        if chosen is None:
            break
        moved.append(chosen)
    return moved


async def remove_workshop(uow: UnitOfWork, forum_id: str, workshop_id: str) -> bool:
    """Remove a workshop nobody is placed in or waiting for (others must be moved first)."""
    doc = await uow.db.workshops.find_one({"_id": workshop_id, "forum_id": forum_id}, session=uow.session)
    if doc is None:
        raise NotFound(workshop_id)
    people = await uow.db.registrations.count_documents(
        {"workshop_id": workshop_id, "status": {"$in": ["accepted", "waitlisted"]}}, session=uow.session)
    if people or doc.get("reserved_taken", 0):
        raise Refused([Conflict("workshop_id", "workshop_in_use",
                                f"Im Workshop sind noch {people + doc.get('reserved_taken', 0)} Personen angenommen oder "
                                "auf der Warteliste; bitte zuerst umbuchen.")], confirmable=False)
    config = (await RegistrationStore(uow.db).raw_workshop(workshop_id, uow.session)) or {}
    return await catalogue.configure_workshop(uow, WorkshopConfigured.model_validate({**config, "removed": True}))
