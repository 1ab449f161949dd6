"""Invitation lists: reading the stakeholders' CSV. No I/O."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from shared.events.common import ACTOR_GROUP_LABELS_DE, ACTOR_GROUP_LABELS_EN, ActorGroup

# Header spellings staff use, German and English, mapped to our field names.
HEADERS = {
    "name": "name", "vorname": "first_name", "first_name": "first_name", "nachname": "last_name", "last_name": "last_name",
    "e-mail": "email", "email": "email", "mail": "email", "organisation": "organisation", "organization": "organisation",
    "akteursgruppe": "actor_group", "gruppe": "actor_group", "actor_group": "actor_group", "actor group": "actor_group",
    "workshop": "workshop", "sprache": "language", "language": "language",
}
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
MAX_ROWS = 500


@dataclass(frozen=True)
class Invitee:
    """One stakeholder to invite."""

    first_name: str
    last_name: str
    email: str
    organisation: str
    actor_group: ActorGroup
    workshop_id: str
    language: str = "de"


@dataclass(frozen=True)
class RowError:
    """A line of the CSV that cannot be used, with the column and the reason (German)."""

    line: int
    field: str
    message: str


def _group(value: str) -> ActorGroup | None:
    text = value.strip().casefold()
    for group in ActorGroup:
        if text in (group.value, ACTOR_GROUP_LABELS_DE[group].casefold(), ACTOR_GROUP_LABELS_EN[group].casefold()):
            return group
    return None


def _workshop(value: str, workshops: dict[int, str]) -> str | None:
    text = value.strip()
    if text in workshops.values():
        return text
    number = re.sub(r"^(workshop\s*)", "", text, flags=re.IGNORECASE)
    return workshops.get(int(number)) if number.isdigit() else None


def parse_invitees(text: str, workshops: dict[int, str]) -> tuple[list[Invitee], list[RowError]]:
    """Read the CSV (`;` or `,`, header row in German or English); every bad line is reported, none is half-read."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        return [], [RowError(1, "csv", "Die Datei ist leer.")]
    dialect = ";" if text.splitlines()[0].count(";") >= text.splitlines()[0].count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=dialect)
    columns = {c: HEADERS.get((c or "").strip().casefold()) for c in reader.fieldnames or []}
    have = set(columns.values())
    missing = [f for f in ("email", "organisation", "actor_group", "workshop") if f not in have]
    if "name" not in have and not {"first_name", "last_name"} <= have:
        missing.insert(0, "name")
    if missing:
        return [], [RowError(1, "csv", "Es fehlen Spalten: " + ", ".join(missing) + ".")]
    invitees, errors = [], []
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            errors.append(RowError(number, "csv", f"Höchstens {MAX_ROWS} Personen je Datei."))
            break
        row = {columns[k]: (v or "").strip() for k, v in raw.items() if k in columns and columns[k]}
        if not any(row.values()):
            continue
        invitee, problems = _invitee(number, row, workshops)
        errors += problems
        if invitee:
            invitees.append(invitee)
    seen: set[str] = set()
    for i, invitee in enumerate(invitees):
        if invitee.email.lower() in seen:
            errors.append(RowError(i + 2, "email", "Diese E-Mail-Adresse steht mehrfach in der Liste."))
        seen.add(invitee.email.lower())
    return invitees, errors


def _invitee(line: int, row: dict[str, str], workshops: dict[int, str]) -> tuple[Invitee | None, list[RowError]]:
    errors = []
    first, last = row.get("first_name", ""), row.get("last_name", "")
    if not (first or last) and row.get("name"):
        first, _, last = row["name"].rpartition(" ")
        first, last = (first, last) if first else ("", last)
    if not last or any(ord(c) < 32 for c in first + last) or len(first + last) > 200:
        errors.append(RowError(line, "name", "Bitte Vor- und Nachnamen angeben."))
    email = row.get("email", "")
    if not EMAIL.match(email) or len(email) > 200:
        errors.append(RowError(line, "email", "Keine gültige E-Mail-Adresse."))
    organisation = row.get("organisation", "")
    if not organisation or len(organisation) > 200:
        errors.append(RowError(line, "organisation", "Bitte die Organisation angeben."))
    group = _group(row.get("actor_group", ""))
    if group is None:
        errors.append(RowError(line, "actor_group", "Unbekannte Akteursgruppe."))
    workshop_id = _workshop(row.get("workshop", ""), workshops)
    if workshop_id is None:
        errors.append(RowError(line, "workshop", "Unbekannter Workshop (Nummer oder Kennung angeben)."))
    language = "en" if row.get("language", "").casefold() in ("en", "englisch", "english") else "de"
    if errors:
        return None, errors
    assert group is not None and workshop_id is not None
    return Invitee(first, last, email, organisation, group, workshop_id, language), []
