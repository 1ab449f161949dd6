"""Put a mail together: the template context from the projections, and the MIME message. No I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from .domain import CALENDAR_TEMPLATES, agenda_lines, describe_changes, items_for_workshop, render
from .invitation import workshop_invitation

MONTHS_DE = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
             "November", "Dezember")


def format_day(day: date | None, lang: str) -> str:
    """25. März 2027 / 25 March 2027."""
    if day is None:
        return ""
    if lang == "de":
        return f"{day.day}. {MONTHS_DE[day.month - 1]} {day.year}"
    return f"{day.day} {day.strftime('%B')} {day.year}"


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def mail_context(
    delivery: dict[str, Any], *, recipient: dict[str, Any] | None, forum: dict[str, Any] | None,
    workshop: dict[str, Any] | None, agenda: dict[str, Any] | None, report_base_url: str = "",
) -> dict[str, Any]:
    """Everything a template may use, with defaults, from the delivery and the current projections."""
    lang = delivery.get("language", "de")
    forum, recipient, workshop = forum or {}, recipient or {}, workshop or {}
    tz = forum.get("timezone") or "Europe/Berlin"
    stored = dict(delivery.get("context") or {})
    snapshot = stored.pop("agenda_snapshot", None) or agenda or {}
    workshop_id = delivery.get("workshop_id")
    items = items_for_workshop(snapshot.get("items", []), workshop_id) if workshop_id else []
    forum_id = delivery.get("forum_id") or forum.get("forum_id") or ""
    ctx: dict[str, Any] = {
        "first_name": recipient.get("first_name", ""), "last_name": recipient.get("last_name", ""),
        "forum_title": forum.get("title") or forum_id, "forum_date": format_day(_day(forum.get("starts_on")), lang),
        "venue": forum.get("venue", ""), "contact_email": forum.get("contact_email", ""),
        "workshop_title": workshop.get("title", workshop_id or ""), "waitlist_position": None, "explanation": "",
        "agenda": agenda_lines(items, tz) if delivery["template"] in CALENDAR_TEMPLATES else [],
        "agenda_version": snapshot.get("version", 0), "days_before": None,
        "report_url": f"{report_base_url.rstrip('/')}/api/v1/reports/{forum_id}" if report_base_url else "",
    }
    ctx.update({k: v for k, v in stored.items() if k != "diff"})
    ctx["changes"] = describe_changes(stored.get("diff"), items, lang, tz)
    ctx["_calendar"] = {"items": items, "version": snapshot.get("version", 0), "tz": tz,
                        "day": _day(forum.get("starts_on"))}
    return ctx


def message_id(delivery_id: str) -> str:
    """Deterministic: a resend after a crash carries the same Message-ID as the first try."""
    return f"<{delivery_id}@themenforum.local>"


def build_message(delivery: dict[str, Any], context: dict[str, Any], *, mail_from: str,
                  stamp: datetime | None = None) -> EmailMessage:
    """The MIME message: plain text, HTML alternative, and the ICS invitation where the kind has one."""
    template = delivery["template"]
    mail = render(template, delivery.get("language", "de"), context)
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = delivery["to"]
    message["Subject"] = mail.subject
    # The same Message-ID on a resend lets mail systems drop the duplicate (see README).
    message["Message-ID"] = message_id(delivery["_id"])
    message["X-Themenforum-Delivery"] = delivery["_id"]
    message["X-Themenforum-Template"] = template
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    calendar = context.get("_calendar") or {}
    if template in CALENDAR_TEMPLATES and delivery.get("workshop_id") and (calendar.get("items") or calendar.get("day")):
        ics = workshop_invitation(
            workshop_id=delivery["workshop_id"], workshop_title=context["workshop_title"],
            forum_title=context["forum_title"], venue=context["venue"], day=calendar.get("day"), tz=calendar["tz"],
            items=calendar["items"], version=calendar["version"], organiser=parseaddr(mail_from)[1],
            attendee=delivery["to"], stamp=stamp or datetime.now(UTC),
        )
        message.add_attachment(ics, maintype="text", subtype="calendar", filename="einladung.ics",
                               params={"method": "REQUEST"})
    return message


SAMPLE_ITEMS = [
    {"item_id": "s1", "workshop_id": None, "starts_at": "2027-03-25T08:30:00+00:00", "ends_at": "2027-03-25T09:00:00+00:00",
     "title": "Begrüßung", "kind": "welcome", "room": "Saal"},
    {"item_id": "s2", "workshop_id": "sample-ws", "starts_at": "2027-03-25T09:00:00+00:00",
     "ends_at": "2027-03-25T11:00:00+00:00", "title": "Arbeitsphase 1", "kind": "working_phase", "room": "Raum 2"},
]
SAMPLE_DIFF = {"added": [], "removed": [],
               "changed": [{"item_id": "s2", "before": {"room": "Raum 1"}, "after": {"room": "Raum 2"}}]}


def sample(template: str, language: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A delivery and context with made-up data, for staff previews of every template."""
    delivery = {"_id": "vorschau", "template": template, "language": language, "to": "ada.beispiel@example.org",
                "forum_id": "themenforum-2", "workshop_id": "sample-ws",
                "context": {"waitlist_position": 3, "days_before": 7, "diff": SAMPLE_DIFF, "dots": 5,
                            "voting_url": "http://localhost:8003/abstimmung/beispiel-link",
                            "explanation": "Beispiel: Sie wurden in Ihrem Erstwunsch berücksichtigt.",
                            "agenda_snapshot": {"version": 2, "items": SAMPLE_ITEMS}}}
    ctx = mail_context(
        delivery, recipient={"first_name": "Ada", "last_name": "Beispiel"},
        forum={"forum_id": "themenforum-2", "title": "Themenforum 2: Innovationen im Ruhrgebiet", "starts_on": "2027-03-25",
               "venue": "Essen", "timezone": "Europe/Berlin", "contact_email": "themenforum@example.org"},
        workshop={"title": "Fördermittel: Zugang, Förderprodukte und Beratung"}, agenda=None,
        report_base_url="http://localhost:8003",
    )
    return delivery, ctx
