"""The iCalendar invitation for a workshop (pure: data in, bytes out)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from .domain import _as_dt, agenda_lines

PRODID = "-//Themenforum//Notify//DE"


def workshop_uid(workshop_id: str) -> str:
    """The UID stays the same for the workshop's whole life, so calendars update in place."""
    return f"workshop-{workshop_id}@themenforum"


def workshop_invitation(
    *, workshop_id: str, workshop_title: str, forum_title: str, venue: str, day: date | None, tz: str,
    items: list[dict[str, Any]], version: int, organiser: str, attendee: str | None, stamp: datetime,
) -> bytes:
    """A METHOD:REQUEST calendar with one event spanning the workshop day; SEQUENCE is the agenda version."""
    zone = ZoneInfo(tz)
    starts = [d for d in (_as_dt(i.get("starts_at")) for i in items) if d]
    ends = [d for d in (_as_dt(i.get("ends_at")) for i in items) if d]
    if starts and ends:
        begin, end = min(starts), max(ends)
    elif day is not None:
        begin, end = datetime.combine(day, time(9, 0), zone), datetime.combine(day, time(17, 0), zone)
    else:
        raise ValueError("neither agenda items nor a forum date: no time for the invitation")
    rooms = sorted({i["room"] for i in items if i.get("room")})
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add("uid", workshop_uid(workshop_id))
    event.add("sequence", version)
    event.add("dtstamp", stamp)
    event.add("dtstart", begin.astimezone(zone))
    event.add("dtend", end.astimezone(zone))
    event.add("summary", f"{workshop_title} – {forum_title}")
    event.add("location", ", ".join(filter(None, [venue, *rooms])) or venue)
    event.add("description", "\n".join(agenda_lines(items, tz)) or forum_title)
    event.add("status", "CONFIRMED")
    org = vCalAddress(f"mailto:{organiser}")
    org.params["cn"] = vText("Themenforum")
    event.add("organizer", org)
    if attendee:
        event.add("attendee", vCalAddress(f"mailto:{attendee}"), parameters={"ROLE": "REQ-PARTICIPANT", "RSVP": "FALSE"})
    cal.add_component(event)
    cal.add_missing_timezones(first_date=date(begin.year - 1, 1, 1), last_date=date(end.year + 2, 1, 1))  # VTIMEZONE for Europe/Berlin, so every client reads local times right
    return cal.to_ical()
