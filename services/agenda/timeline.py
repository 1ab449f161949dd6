"""The editor's timeline: items placed on a grid of five-minute rows, one column per workshop or room. No I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.events.agenda import AgendaItemData

from .conflicts import Found
from .domain import Room

SLOT_MINUTES = 5
MAX_ROWS = 300  # the stylesheet has row classes up to this number


@dataclass
class Cell:
    """One item on the grid."""

    item: AgendaItemData
    row: int
    row_end: int
    col: int
    col_end: int
    start: str
    end: str
    conflicts: list[Found] = field(default_factory=list)


@dataclass
class DayGrid:
    """One day of the timeline."""

    day: date
    columns: list[tuple[str, str]]
    cells: list[Cell]
    hours: list[tuple[int, str]]
    rows: int


def _slot(moment: datetime, origin: datetime) -> int:
    return int((moment - origin).total_seconds() // (SLOT_MINUTES * 60))


def build(items: Sequence[AgendaItemData], *, view: str, workshops: Sequence[tuple[str, str]], rooms: dict[str, Room],
          days: Sequence[date], day_start: time, day_end: time, tz: str, found: Sequence[Found]) -> list[DayGrid]:
    """Grids per day; plenary items span every workshop column."""
    zone = ZoneInfo(tz)
    by_item: dict[str, list[Found]] = {}
    for conflict in found:
        for item_id in conflict.item_ids:
            by_item.setdefault(item_id, []).append(conflict)
    all_days = sorted(set(days) | {i.starts_at.astimezone(zone).date() for i in items})
    if view == "rooms":
        columns = [(r.room_id, r.name) for r in rooms.values()] + [("", "ohne Raum")]
    else:
        columns = list(workshops)
    index = {key: n for n, (key, _label) in enumerate(columns)}
    grids = []
    for day in all_days:
        mine = [i for i in items if i.starts_at.astimezone(zone).date() == day]
        first = min([datetime.combine(day, day_start, zone), *(i.starts_at for i in mine)])
        last = max([datetime.combine(day, day_end, zone), *(i.ends_at for i in mine)])
        origin = first.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        rows = min(MAX_ROWS - 2, _slot(last, origin) + 1)
        cells = []
        for item in mine:
            if view == "rooms":
                col = index.get(item.room or "", len(columns) - 1)
                span = (col + 2, col + 3)
            elif item.workshop_id is None:
                span = (2, len(columns) + 2)
            else:
                col = index.get(item.workshop_id, 0)
                span = (col + 2, col + 3)
            row = min(rows, _slot(item.starts_at, origin)) + 2
            row_end = max(row + 1, min(rows + 2, _slot(item.ends_at, origin) + 2))
            cells.append(Cell(item, row, row_end, span[0], span[1], item.starts_at.astimezone(zone).strftime("%H:%M"),
                              item.ends_at.astimezone(zone).strftime("%H:%M"), by_item.get(item.item_id, [])))
        hours = []
        moment = origin
        while moment <= last:
            hours.append((_slot(moment, origin) + 2, moment.astimezone(zone).strftime("%H:%M")))
            moment += timedelta(hours=1)
        grids.append(DayGrid(day, columns, sorted(cells, key=lambda c: (c.row, c.col)), hours, rows))
    return grids
