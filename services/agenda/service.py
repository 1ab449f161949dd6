"""Agenda use cases: edit the draft, check conflicts, publish versions. Each runs in a unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.asynchronous.database import AsyncDatabase

from shared.events import utcnow
from shared.events.agenda import AgendaConflictDetected, AgendaItemData, AgendaPublished, AgendaUpdated
from shared.store import UnitOfWork

from .conflicts import Found, conflicts_by_workshop, detect_conflicts
from .domain import DayWindow, Room, day_windows, diff_is_empty, diff_items, effective_items, shifted
from .schemas import AgendaItemWrite, RoomWrite
from .store import AgendaStore, Session, item_from_doc


class Rejected(ValueError):
    """An edit that does not fit the forum (answered with 422 naming the field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class ForumAgenda:
    """Everything the agenda of one forum is checked and shown with."""

    forum_id: str
    forum: dict[str, Any]
    workshops: list[dict[str, Any]]
    venue: dict[str, Any]
    items: list[AgendaItemData]
    accepted: dict[str, int]

    @property
    def tz(self) -> str:
        return self.forum.get("timezone") or "Europe/Berlin"

    @property
    def workshop_ids(self) -> list[str]:
        return [w["_id"] for w in self.workshops]

    @property
    def rooms(self) -> dict[str, Room]:
        return AgendaStore.rooms(self.venue)

    @property
    def days(self) -> list[DayWindow]:
        start, end = (time.fromisoformat(self.venue[k]) for k in ("day_start", "day_end"))
        parse = lambda v: date.fromisoformat(v) if isinstance(v, str) else v  # noqa: E731
        return day_windows(parse(self.forum.get("starts_on")), parse(self.forum.get("ends_on")), start, end, self.tz)

    def conflicts(self) -> list[Found]:
        """The current conflicts of the draft."""
        return detect_conflicts(self.items, workshops=self.workshop_ids, rooms=self.rooms, accepted=self.accepted,
                                days=self.days, gap_minutes=int(self.venue.get("gap_minutes", 0)), tz=self.tz)

    def published_items(self, workshop_id: str) -> list[AgendaItemData]:
        """A workshop's agenda as it would be published (room names filled in)."""
        rooms = self.rooms
        return [i.model_copy(update={"room_name": rooms[i.room].name if i.room in rooms else None})
                for i in effective_items(self.items, workshop_id)]


async def load(db: AsyncDatabase[dict[str, Any]], forum_id: str, session: Session = None) -> ForumAgenda:
    """Read a forum's agenda, venue, workshops and counts."""
    return (await load_many(db, [forum_id], session))[forum_id]


async def load_many(db: AsyncDatabase[dict[str, Any]], forum_ids: list[str], session: Session = None) -> dict[str, ForumAgenda]:
    """`load` for several fora: one query per collection, whatever their number."""
    store = AgendaStore(db)
    fora, workshops = await store.fora_of(forum_ids, session), await store.workshops_of(forum_ids, session)
    venues, items = await store.venues_of(forum_ids, session), await store.items_of(forum_ids, session)
    accepted = await store.accepted_counts(forum_ids, session)
    return {f: ForumAgenda(f, fora.get(f) or {}, workshops[f], venues[f], items[f], accepted[f]) for f in forum_ids}


async def recheck(uow: UnitOfWork, forum_id: str) -> list[Found]:
    """Check the forum's agenda; emit `agenda.conflict_detected` for each workshop whose set of conflicts changed."""
    return (await recheck_many({forum_id: uow}))[forum_id]


async def recheck_many(uows: dict[str, UnitOfWork]) -> dict[str, list[Found]]:
    """`recheck` for several fora (each with the unit of work its events are emitted in), reading them together."""
    first = next(iter(uows.values()))
    store, forum_ids = AgendaStore(first.db), sorted(uows)
    agendas = await load_many(first.db, forum_ids, first.session)
    reported = await store.reported_conflicts(forum_ids, first.session)
    found: dict[str, list[Found]] = {}
    for forum_id in forum_ids:
        agenda, uow = agendas[forum_id], uows[forum_id]
        found[forum_id] = agenda.conflicts()
        for workshop_id, mine in conflicts_by_workshop(found[forum_id], agenda.workshop_ids).items():
            now = [f.as_event().model_dump() for f in mine]
            before = reported[forum_id].get(workshop_id, {}).get("conflicts")
            if now == before or (before is None and not now):
                continue
            await store.save_conflicts(workshop_id, forum_id, now, uow.session)
            if _keys(now) != _keys(before or []):  # counts in messages change often; the set of conflicts seldom
                uow.emit("agenda.conflict_detected", subject=workshop_id, data=AgendaConflictDetected(
                    workshop_id=workshop_id, forum_id=forum_id, conflicts=[f.as_event() for f in mine]))
    return found


def _keys(conflicts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((c["kind"], tuple(c["item_ids"]), c.get("detail", "")) for c in conflicts)


def _localise(value: datetime, tz: str) -> datetime:
    return value.replace(tzinfo=ZoneInfo(tz)) if value.tzinfo is None else value


async def save_item(uow: UnitOfWork, forum_id: str, body: AgendaItemWrite, item_id: str | None = None) -> AgendaItemData:
    """Create or replace a draft item, then check the forum again."""
    store = AgendaStore(uow.db)
    agenda = await load(uow.db, forum_id, uow.session)
    if item_id is not None and (await store.item(item_id, uow.session) or {}).get("forum_id") != forum_id:
        raise KeyError(item_id)
    if body.workshop_id is not None and body.workshop_id not in agenda.workshop_ids:
        raise Rejected("workshop_id", "Diesen Workshop gibt es in diesem Forum nicht.")
    if body.room is not None and body.room not in agenda.rooms:
        raise Rejected("room", "Diesen Raum gibt es nicht.")
    starts, ends = _localise(body.starts_at, agenda.tz), _localise(body.ends_at, agenda.tz)
    if ends <= starts:
        raise Rejected("ends_at", "Das Ende muss nach dem Beginn liegen.")
    item = AgendaItemData(item_id=item_id or f"item-{uuid.uuid4().hex[:12]}",
                          **body.model_dump(exclude={"starts_at", "ends_at"}), starts_at=starts, ends_at=ends)
    await store.save_item(forum_id, item, uow.session)
    await _changed(uow, forum_id)
    return item


async def move_item(uow: UnitOfWork, forum_id: str, item_id: str, minutes: int) -> AgendaItemData:
    """Move a draft item by some minutes."""
    store = AgendaStore(uow.db)
    doc = await store.item(item_id, uow.session)
    if doc is None or doc.get("forum_id") != forum_id:
        raise KeyError(item_id)
    item = shifted(item_from_doc(doc), minutes)
    await store.save_item(forum_id, item, uow.session)
    await _changed(uow, forum_id)
    return item


async def delete_item(uow: UnitOfWork, forum_id: str, item_id: str) -> None:
    """Remove a draft item."""
    doc = await AgendaStore(uow.db).item(item_id, uow.session)
    if doc is None or doc.get("forum_id") != forum_id:
        raise KeyError(item_id)
    await AgendaStore(uow.db).delete_item(item_id, uow.session)
    await _changed(uow, forum_id)


async def save_room(uow: UnitOfWork, forum_id: str, room_id: str, body: RoomWrite) -> None:
    """Add or change a room."""
    store = AgendaStore(uow.db)
    venue = await store.venue(forum_id, uow.session)
    rooms = [r for r in venue["rooms"] if r["room_id"] != room_id] + [{"room_id": room_id, **body.model_dump()}]
    await store.save_venue(forum_id, {"rooms": sorted(rooms, key=lambda r: r["name"])}, uow.session)
    await _changed(uow, forum_id)


async def _changed(uow: UnitOfWork, forum_id: str) -> None:
    await AgendaStore(uow.db).bump_revision(forum_id, uow.session)
    await recheck(uow, forum_id)


async def pending(db: AsyncDatabase[dict[str, Any]], forum_id: str, session: Session = None) -> list[dict[str, Any]]:
    """Per workshop: the next version and its diff against the last published one."""
    store = AgendaStore(db)
    agenda = await load(db, forum_id, session)
    out = []
    for workshop in agenda.workshops:
        last = await store.published_agenda(workshop["_id"], session=session)
        before = [AgendaItemData.model_validate(i) for i in last["items"]] if last else []
        items = agenda.published_items(workshop["_id"])
        diff = diff_items(before, items)
        out.append({"workshop_id": workshop["_id"], "title": workshop.get("title", ""), "items": items, "diff": diff,
                    "previous_version": last["version"] if last else 0,
                    "changed": last is None or not diff_is_empty(diff)})
    return out


async def publish(uow: UnitOfWork, forum_id: str) -> list[dict[str, Any]]:
    """Publish every workshop whose agenda changed: `agenda.published` first, `agenda.updated` with the diff after."""
    store, published = AgendaStore(uow.db), []
    for change in await pending(uow.db, forum_id, uow.session):
        if not change["changed"]:
            continue
        version, workshop_id, items = change["previous_version"] + 1, change["workshop_id"], change["items"]
        await store.save_version({"workshop_id": workshop_id, "forum_id": forum_id, "version": version,
                                  "title": change["title"], "published_at": utcnow(),
                                  "items": [i.model_dump(mode="json") for i in items],
                                  "diff": change["diff"].model_dump(mode="json") if version > 1 else None}, uow.session)
        if version == 1:
            uow.emit("agenda.published", subject=workshop_id,
                     data=AgendaPublished(workshop_id=workshop_id, forum_id=forum_id, version=1, items=items))
        else:
            uow.emit("agenda.updated", subject=workshop_id, data=AgendaUpdated(
                workshop_id=workshop_id, forum_id=forum_id, version=version, items=items, diff=change["diff"]))
        published.append({"workshop_id": workshop_id, "version": version,
                          "diff": change["diff"].model_dump(mode="json")})
    return published
