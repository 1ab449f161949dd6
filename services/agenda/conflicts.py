"""Conflict rules for a forum's agenda. No I/O.

`detect_conflicts` looks at all items of one forum at once (parallel workshops share
rooms and moderators) and says which workshops each conflict touches, so that every
workshop's conflict list can be reported on its own key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shared.events.agenda import AgendaItemData, Conflict

from .domain import KINDS_WITHOUT_ROOM, DayWindow, Room


@dataclass(frozen=True, order=True)
class Found:
    """One conflict; `key` identifies it across checks (so unchanged sets are not re-emitted)."""

    kind: str
    item_ids: tuple[str, ...]
    detail: str = ""
    workshop_ids: tuple[str, ...] = field(default=(), compare=False)
    message: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, tuple[str, ...], str]:
        return (self.kind, self.item_ids, self.detail)

    def as_event(self) -> Conflict:
        return Conflict(kind=self.kind, message=self.message, item_ids=list(self.item_ids),
                        workshop_ids=list(self.workshop_ids), detail=self.detail)


def _clock(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def _touches(items: Sequence[AgendaItemData], workshops: Sequence[str]) -> tuple[str, ...]:
    if any(i.workshop_id is None for i in items):
        return tuple(workshops)
    return tuple(sorted({i.workshop_id for i in items if i.workshop_id}))


def overlapping_pairs(items: Sequence[AgendaItemData]) -> list[tuple[AgendaItemData, AgendaItemData]]:
    """Pairs of items whose times overlap (touching ends do not count); a sweep over start times."""
    pairs: list[tuple[AgendaItemData, AgendaItemData]] = []
    active: list[AgendaItemData] = []
    for item in sorted(items, key=lambda i: (i.starts_at, i.item_id)):
        active = [a for a in active if a.ends_at > item.starts_at]
        pairs += [(a, item) for a in active if item.ends_at > a.starts_at]
        active.append(item)
    return pairs


def detect_conflicts(
    items: Sequence[AgendaItemData],
    *,
    workshops: Sequence[str],
    rooms: Mapping[str, Room],
    accepted: Mapping[str, int],
    days: Sequence[DayWindow] = (),
    gap_minutes: int = 0,
    tz: str = "Europe/Berlin",
) -> list[Found]:
    """Every conflict in a forum's agenda, sorted."""
    found: list[Found] = []
    for a, b in overlapping_pairs(items):
        same_room = a.room is not None and a.room == b.room
        shared = set(a.moderators) & set(b.moderators) if a.moderators and b.moderators else set()
        same_agenda = a.workshop_id is None or b.workshop_id is None or a.workshop_id == b.workshop_id
        if not (same_room or shared or same_agenda):
            continue  # parallel workshops may run at the same time
        pair = tuple(sorted((a.item_id, b.item_id)))
        when = f"{_clock(max(a.starts_at, b.starts_at), tz)}–{_clock(min(a.ends_at, b.ends_at), tz)}"
        touched = _touches((a, b), workshops)
        if same_room:
            name = rooms[a.room].name if a.room in rooms else a.room
            found.append(Found("room_double_booked", pair, a.room or "", touched,
                               f"Raum „{name}“ ist {when} doppelt belegt: „{a.title}“ und „{b.title}“."))
        for person in sorted(shared):
            found.append(Found("moderator_double_booked", pair, person, touched,
                               f"{person} moderiert {when} zweimal: „{a.title}“ und „{b.title}“."))
        if same_agenda:
            found.append(Found("overlap", pair, "", touched,
                               f"„{a.title}“ und „{b.title}“ überschneiden sich ({when})."))
    total = sum(accepted.get(w, 0) for w in workshops)
    for item in items:
        found += _item_conflicts(item, workshops, rooms, accepted, total, days, tz)
    for workshop_id in workshops:
        found += _gaps(items, workshop_id, gap_minutes, tz)
    return sorted(found)


def _item_conflicts(
    item: AgendaItemData, workshops: Sequence[str], rooms: Mapping[str, Room], accepted: Mapping[str, int],
    total: int, days: Sequence[DayWindow], tz: str,
) -> list[Found]:
    out: list[Found] = []
    ids, touched = (item.item_id,), _touches((item,), workshops)
    if days and not any(d.contains(item.starts_at, item.ends_at) for d in days):
        out.append(Found("outside_day", ids, "", touched,
                         f"„{item.title}“ liegt außerhalb der Veranstaltungszeit."))
    if item.room is None and item.kind not in KINDS_WITHOUT_ROOM:
        out.append(Found("no_room", ids, "", touched, f"„{item.title}“ hat keinen Raum."))
    room = rooms.get(item.room) if item.room else None
    people = total if item.workshop_id is None else accepted.get(item.workshop_id, 0)
    if room is not None and room.capacity < people:
        out.append(Found("room_too_small", ids, room.room_id, touched,
                         f"Raum „{room.name}“ fasst {room.capacity} Personen, für „{item.title}“ sind {people} zugelassen."))
    return out


def _gaps(items: Sequence[AgendaItemData], workshop_id: str, gap_minutes: int, tz: str) -> list[Found]:
    """Holes in a workshop's day between its first and last item (per calendar day)."""
    zone, out = ZoneInfo(tz), []
    mine = sorted((i for i in items if i.workshop_id in (workshop_id, None)), key=lambda i: (i.starts_at, i.item_id))
    by_day: dict[object, list[AgendaItemData]] = {}
    for item in mine:
        by_day.setdefault(item.starts_at.astimezone(zone).date(), []).append(item)
    for day_items in by_day.values():
        last = day_items[0]
        for item in day_items[1:]:
            if item.starts_at - last.ends_at > timedelta(minutes=gap_minutes):
                span = f"{_clock(last.ends_at, tz)}–{_clock(item.starts_at, tz)}"
                out.append(Found("gap", (last.item_id, item.item_id), f"{workshop_id} {span}", (workshop_id,),
                                 f"Lücke im Ablauf {span} zwischen „{last.title}“ und „{item.title}“."))
            if item.ends_at > last.ends_at:
                last = item
    return out


def conflicts_by_workshop(found: Sequence[Found], workshops: Sequence[str]) -> dict[str, list[Found]]:
    """Each workshop's share of the conflicts."""
    return {w: [f for f in found if w in f.workshop_ids] for w in workshops}
