"""Retention, consent versions and the personal data export: the rules, no I/O."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.events.catalogue import ForumConfigured

RETENTION_REQUESTER = "retention"


def last_day(forum: ForumConfigured) -> date | None:
    """The forum's last day (its first when it has one day only)."""
    return forum.ends_on or forum.starts_on


def retention_days(forum: ForumConfigured, default_days: int) -> int:
    """The forum's own retention period, else the service default."""
    return forum.retention_days if forum.retention_days is not None else default_days


def retention_due_at(forum: ForumConfigured, default_days: int) -> datetime | None:
    """When the forum's personal data is anonymised: `days` whole days after its last day ends (forum time)."""
    last = last_day(forum)
    if last is None:
        return None
    try:
        zone = ZoneInfo(forum.timezone or "Europe/Berlin")
    except (KeyError, ValueError):
        zone = ZoneInfo("Europe/Berlin")
    return datetime.combine(last + timedelta(days=retention_days(forum, default_days) + 1), time(0), tzinfo=zone)


def retention_state(due_at: datetime | None, anonymised_at: datetime | None, now: datetime) -> str:
    """`anonymised`, `due` (the scheduler is about to run), `pending` or `no_date` (never by itself)."""
    if anonymised_at is not None:
        return "anonymised"
    if due_at is None:
        return "no_date"
    return "due" if now >= due_at else "pending"


def retention_cause(forum_id: str, participant_id: str | None = None) -> str:
    """Unit-of-work causes: one per person and one for the forum, so no step happens twice (also across restarts)."""
    return f"retention:{forum_id}" + (f":{participant_id}" if participant_id else "")


def erase_everywhere(other_fora: set[str], expired_fora: set[str]) -> bool:
    """Erase the person in every service only when none of their other fora still needs their data."""
    return other_fora <= expired_fora


def notice_id(forum_id: str, version: str, text: str) -> str:
    """Id of one privacy-notice text: a forum may reword a version, and each wording is kept."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return f"{forum_id}:{version}:{digest}"


# What the other services keep of a person (read from their handlers and stores); the export lists it.
OTHER_SERVICES: list[dict[str, Any]] = [
    {"service": "agenda", "collection": "people", "fields": ["name", "organisation", "forum_id", "participant_id"],
     "purpose": "Breakout-Gruppen und Teilnehmerlisten der Workshops",
     "purpose_en": "breakout groups and workshop participant lists"},
    {"service": "agenda", "collection": "decisions", "fields": ["status", "workshop_id", "actor_group"],
     "purpose": "Belegung der Workshops", "purpose_en": "workshop occupancy"},
    {"service": "results", "collection": "decisions", "fields": ["status", "workshop_id", "actor_group", "municipality"],
     "purpose": "Auswertung für den Bericht (nur Summen)", "purpose_en": "reporting (aggregates only)"},
    {"service": "results", "collection": "voters",
     "fields": ["participant_id", "registration_id", "workshop_id", "language", "dots_used"],
     "purpose": "Punktabstimmung per persönlichem Link", "purpose_en": "dot voting by personal link"},
    {"service": "notify", "collection": "recipients", "fields": ["email", "first_name", "last_name", "language"],
     "purpose": "E-Mails zu Ihrer Anmeldung", "purpose_en": "e-mails about your registration"},
    {"service": "notify", "collection": "deliveries", "fields": ["to", "template", "language", "status", "created_at"],
     "purpose": "Versandprotokoll der E-Mails", "purpose_en": "delivery log of the e-mails"},
]

PERSONAL = ("first_name", "last_name", "email", "organisation", "role", "motivation")
KEPT = ("forum_id", "actor_group", "municipality", "preferences", "language", "status", "workshop_id", "reasons",
        "explanation", "waitlist_position", "consent_version", "submitted_at", "created_at")


def registration_export(doc: dict[str, Any], notice: dict[str, Any] | None, invitation: dict[str, Any] | None,
                        forum_title: str) -> dict[str, Any]:
    """One registration as the person may download it (never the token hash or other people's ids)."""
    out: dict[str, Any] = {"id": doc["_id"], "forum_title": forum_title, **{k: doc.get(k) for k in PERSONAL + KEPT}}
    out["decision_history"] = doc.get("decision_history", [])
    out["flagged_as_possible_duplicate"] = bool(doc.get("near_duplicate_of"))
    out["consent"] = {"version": doc.get("consent_version"), "text": (notice or {}).get("text"),
                      "notice_recorded_at": (notice or {}).get("recorded_at")}
    if invitation is not None:
        out["invitation"] = {k: invitation.get(k) for k in ("workshop_id", "status", "first_name", "last_name", "email",
                                                             "organisation", "actor_group", "created_at", "answered_at")}
    return out


def export_document(participant_id: str, registrations: list[dict[str, Any]], generated_at: datetime) -> dict[str, Any]:
    """The whole download: what the registration service holds and which other services keep copies."""
    return {"format": "themenforum-personal-data/1", "generated_at": generated_at, "participant_id": participant_id,
            "erased": False, "registrations": registrations, "other_services": OTHER_SERVICES}


def erased_document(participant_id: str, generated_at: datetime) -> dict[str, Any]:
    """The download after erasure: nothing personal is left to give."""
    return {"format": "themenforum-personal-data/1", "generated_at": generated_at, "participant_id": participant_id,
            "erased": True, "registrations": [], "other_services": [],
            "message": "Ihre personenbezogenen Daten wurden gelöscht; es sind keine mehr gespeichert."}
