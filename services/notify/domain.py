"""Which message a person gets for which event, and how it reads. No I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.events import derived_id

TEMPLATE_DIR = Path(__file__).parent / "templates" / "mail"
_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)

# Every kind of mail the service sends; each has <kind>.<lang>.subject.txt / .txt / .html.
TEMPLATES = ("acknowledgement", "accepted", "waitlisted", "moved_up", "rejected", "cancelled",
             "agenda_changed", "reminder", "report_available", "invitation", "invitation_reminder", "voting_link")
# Kinds that carry the workshop's calendar invitation.
CALENDAR_TEMPLATES = frozenset({"accepted", "moved_up", "agenda_changed", "reminder"})


@dataclass(frozen=True)
class RenderedMail:
    """Subject, plain text and HTML of one message."""

    subject: str
    text: str
    html: str


def delivery_id(cause_event_id: str, recipient_id: str, template: str) -> str:
    """One delivery per (event, recipient, template): the key that makes sending idempotent."""
    return derived_id("delivery", cause_event_id, recipient_id, template)


def render(template: str, language: str, context: dict[str, Any]) -> RenderedMail:
    """Render a mail template in the person's language (German when unknown)."""
    lang = language if language in ("de", "en") else "de"
    ctx = {"lang": lang, **context}
    subject = _env.get_template(f"{template}.{lang}.subject.txt").render(**ctx).strip()
    text = _env.get_template(f"{template}.{lang}.txt").render(**ctx)
    html = _env.get_template(f"{template}.{lang}.html").render(**ctx)
    return RenderedMail(subject, text, html)


def next_attempt_at(now: datetime, attempt: int, base_s: float, rng: random.Random | None = None) -> datetime:
    """Exponential backoff with full jitter after the given attempt number."""
    rng = rng or random.Random()
    return now + timedelta(seconds=base_s * (2 ** (attempt - 1)) * (0.5 + rng.random()))


def is_permanent(code: int | None) -> bool:
    """SMTP 5xx replies are permanent: retrying will not help."""
    return code is not None and 500 <= code < 600


# Decisions ---------------------------------------------------------------------------------

def decision_template(previous: dict[str, Any] | None, status: str, workshop_id: str | None) -> str | None:
    """The mail a decision change causes, or None when nothing the person cares about changed.

    A new waiting-list position alone sends nothing; accepted after waitlisted is a move-up;
    accepted into another workshop is a new acceptance (with a new invitation).
    """
    before = (previous or {}).get("status")
    same_workshop = (previous or {}).get("workshop_id") == workshop_id
    if status == "accepted":
        if before == "accepted" and same_workshop:
            return None
        return "moved_up" if before == "waitlisted" else "accepted"
    if status == before and (same_workshop or status in ("rejected", "cancelled")):
        return None
    return status if status in ("waitlisted", "rejected", "cancelled") else None


# Agenda ------------------------------------------------------------------------------------

FIELD_LABELS = {
    "de": {"starts_at": "Beginn", "ends_at": "Ende", "title": "Titel", "room": "Raum", "kind": "Art",
           "moderators": "Moderation", "description": "Beschreibung"},
    "en": {"starts_at": "Start", "ends_at": "End", "title": "Title", "room": "Room", "kind": "Kind",
           "moderators": "Moderation", "description": "Description"},
}
CHANGE_WORDS = {"de": {"added": "Neu", "removed": "Entfällt", "changed": "Geändert"},
                "en": {"added": "New", "removed": "Cancelled", "changed": "Changed"}}


def _as_dt(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def local_time(value: Any, tz: str) -> str:
    """HH:MM in the forum's time zone (the value itself when it is no time)."""
    moment = _as_dt(value)
    if moment is None:
        return ", ".join(value) if isinstance(value, list) else str(value if value is not None else "–")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def agenda_lines(items: list[dict[str, Any]], tz: str) -> list[str]:
    """One readable line per agenda item, in time order."""
    ordered = sorted(items, key=lambda i: str(i.get("starts_at")))
    return [f"{local_time(i['starts_at'], tz)}–{local_time(i['ends_at'], tz)} {i['title']}"
            + (f" ({i['room']})" if i.get("room") else "") for i in ordered]


def describe_changes(diff: dict[str, Any] | None, items: list[dict[str, Any]], lang: str, tz: str) -> list[str]:
    """What changed between two agenda versions, one line per change, in the person's language."""
    if not diff:
        return []
    words, labels = CHANGE_WORDS[lang], FIELD_LABELS[lang]
    titles = {i["item_id"]: i["title"] for i in items}
    lines = [f"{words['added']}: {line}" for line in agenda_lines(diff.get("added", []), tz)]
    lines += [f"{words['removed']}: {line}" for line in agenda_lines(diff.get("removed", []), tz)]
    for change in diff.get("changed", []):
        before, after = change.get("before") or {}, change.get("after") or {}
        title = titles.get(str(change.get("item_id")), before.get("title") or str(change.get("item_id")))
        parts = [f"{labels.get(k, k)} {local_time(before.get(k), tz)} → {local_time(after.get(k), tz)}"
                 for k in sorted(set(before) | set(after))]
        lines.append(f"{words['changed']}: {title}: " + "; ".join(parts))
    return lines


def items_for_workshop(items: list[dict[str, Any]], workshop_id: str) -> list[dict[str, Any]]:
    """The workshop's own items plus the plenary items every workshop shares."""
    return [i for i in items if i.get("workshop_id") in (None, workshop_id)]


# Reminders ---------------------------------------------------------------------------------

REMINDER_HOUR = time(9, 0)


def reminder_due_times(starts_on: date, tz: str, days_before: list[int]) -> dict[int, datetime]:
    """When each reminder is due: 09:00 local time, N days before the forum's first day."""
    zone = ZoneInfo(tz)
    return {n: datetime.combine(starts_on - timedelta(days=n), REMINDER_HOUR, zone) for n in sorted(set(days_before))}


def reminder_id(forum_id: str, starts_on: date, days_before: int) -> str:
    """Stable id of one reminder: a changed date makes a new reminder, the same date the same one."""
    return derived_id("reminder", forum_id, starts_on.isoformat(), days_before)


def forum_start(starts_on: date, tz: str) -> datetime:
    """The start of the forum's first day in its time zone."""
    return datetime.combine(starts_on, time(0, 0), ZoneInfo(tz))
