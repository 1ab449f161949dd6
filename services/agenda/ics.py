"""iCalendar export of a published agenda: stable UIDs, SEQUENCE = version, TZID of the forum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from shared.events.agenda import AgendaItemData

from .domain import KINDS_DE


def item_uid(item_id: str) -> str:
    """The same item keeps its UID in every version and in every workshop's feed."""
    return f"{item_id}@agenda.themenforum"


def _event(item: AgendaItemData, version: int, stamp: Any, tz: ZoneInfo, url: str, cancelled: bool = False) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", item_uid(item.item_id))
    event.add("sequence", version)
    event.add("dtstamp", stamp)
    event.add("last-modified", stamp)
    event.add("dtstart", item.starts_at.astimezone(tz))
    event.add("dtend", item.ends_at.astimezone(tz))
    event.add("summary", item.title)
    if item.room_name or item.room:
        event.add("location", item.room_name or item.room)
    text = KINDS_DE.get(item.kind, item.kind)
    if item.moderators:
        text += " · Moderation: " + ", ".join(item.moderators)
    event.add("description", f"{text}\n\n{item.description}".strip())
    event.add("categories", [KINDS_DE.get(item.kind, item.kind)])
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("url", url)
    return event


def agenda_calendar(version: dict[str, Any], *, title: str, tz: str, url: str,
                    removed: Sequence[AgendaItemData] = ()) -> bytes:
    """The calendar of one published version; items removed in earlier versions stay as cancelled."""
    zone = ZoneInfo(tz)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Themenforum//Agenda//DE")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", title)
    calendar.add("x-wr-timezone", tz)
    items = [AgendaItemData.model_validate(i) for i in version["items"]]
    current = {i.item_id for i in items}
    for item in items:
        calendar.add_component(_event(item, version["version"], version["published_at"], zone, url))
    for item in removed:
        if item.item_id not in current:
            calendar.add_component(_event(item, version["version"], version["published_at"], zone, url, cancelled=True))
    calendar.add_missing_timezones()
    return calendar.to_ical()
