"""Agenda rules. No I/O.

Items, rooms and the forum's day windows; the effective agenda of one workshop (its
own items plus the plenary items shared by all workshops); diffs between versions;
and the participation counters that room checks rely on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.events.agenda import AgendaDiff, AgendaItemData

KINDS_DE = {
    "welcome": "Begrüßung", "input": "Impulsvortrag", "working_phase": "Arbeitsphase", "break": "Pause",
    "plenary": "Plenum", "discussion": "Diskussion", "results": "Ergebnispräsentation",
}
KINDS_EN = {
    "welcome": "Welcome", "input": "Input talk", "working_phase": "Working phase", "break": "Break",
    "plenary": "Plenary", "discussion": "Discussion", "results": "Results presentation",
}
# Breaks happen in the foyer or anywhere; every other kind needs a room.
KINDS_WITHOUT_ROOM = frozenset({"break"})
COMPARED_FIELDS = ("workshop_id", "starts_at", "ends_at", "title", "kind", "room", "room_name", "moderators", "description")


@dataclass(frozen=True)
class Room:
    """A room of the venue."""

    room_id: str
    name: str
    capacity: int


@dataclass(frozen=True)
class DayWindow:
    """One day of a forum and the hours in which agenda items may lie (local time)."""

    day: date
    start: time
    end: time
    tz: str = "Europe/Berlin"

    def contains(self, starts_at: datetime, ends_at: datetime) -> bool:
        zone = ZoneInfo(self.tz)
        lo = datetime.combine(self.day, self.start, zone)
        hi = datetime.combine(self.day, self.end, zone)
        return lo <= starts_at and ends_at <= hi


def day_windows(starts_on: date | None, ends_on: date | None, start: time, end: time, tz: str) -> list[DayWindow]:
    """Every day of a forum with its opening hours."""
    if starts_on is None:
        return []
    last = ends_on or starts_on
    return [DayWindow(starts_on + timedelta(days=n), start, end, tz) for n in range((last - starts_on).days + 1)]


def effective_items(items: Iterable[AgendaItemData], workshop_id: str) -> list[AgendaItemData]:
    """The agenda of one workshop: its own items and the shared plenary items, in time order."""
    mine = [i for i in items if i.workshop_id in (workshop_id, None)]
    return sorted(mine, key=lambda i: (i.starts_at, i.workshop_id is not None, i.ends_at, i.item_id))


def _comparable(item: AgendaItemData) -> dict[str, Any]:
    return item.model_dump(mode="json", include=set(COMPARED_FIELDS))


def diff_items(before: Sequence[AgendaItemData], after: Sequence[AgendaItemData]) -> AgendaDiff:
    """What changed from one version to the next: added, removed and changed items (changed fields only)."""
    old = {i.item_id: i for i in before}
    new = {i.item_id: i for i in after}
    changed: list[dict[str, object]] = []
    for item_id in [i.item_id for i in after if i.item_id in old]:
        a, b = _comparable(old[item_id]), _comparable(new[item_id])
        fields = [f for f in COMPARED_FIELDS if a[f] != b[f]]
        if fields:
            changed.append({"item_id": item_id, "title": new[item_id].title,
                            "before": {f: a[f] for f in fields}, "after": {f: b[f] for f in fields}})
    return AgendaDiff(
        added=[i for i in after if i.item_id not in old],
        removed=[i for i in before if i.item_id not in new],
        changed=changed,
    )


def diff_is_empty(diff: AgendaDiff) -> bool:
    """True when two versions are the same."""
    return not (diff.added or diff.removed or diff.changed)


def shifted(item: AgendaItemData, minutes: int) -> AgendaItemData:
    """The item moved by some minutes (its length stays)."""
    delta = timedelta(minutes=minutes)
    return item.model_copy(update={"starts_at": item.starts_at + delta, "ends_at": item.ends_at + delta})


def local_datetime(day: date, clock: str, tz: str) -> datetime:
    """A day and a wall-clock time `HH:MM` in the forum's time zone."""
    hours, minutes = (int(p) for p in clock.split(":", 1))
    return datetime.combine(day, time(hours, minutes), ZoneInfo(tz))


def count_changes(previous: dict[str, Any] | None, status: str, workshop_id: str | None, group: str) -> list[tuple[str, str, int]]:
    """Counter increments (workshop, field, delta) when a registration's decision changes."""
    changes: list[tuple[str, str, int]] = []
    if previous and previous.get("status") == "accepted" and previous.get("workshop_id"):
        changes += [(previous["workshop_id"], "accepted_total", -1),
                    (previous["workshop_id"], f"accepted_by_group.{previous['actor_group']}", -1)]
    if status == "accepted" and workshop_id:
        changes += [(workshop_id, "accepted_total", 1), (workshop_id, f"accepted_by_group.{group}", 1)]
    return changes
