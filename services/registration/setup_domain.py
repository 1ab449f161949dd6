"""Forum set-up rules: what staff may enter, which changes invalidate decisions, clones, windows. No I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.events.catalogue import ForumConfigured, ForumStatus, SelectionMode, WorkshopConfigured
from shared.events.common import ActorGroup, Language, Quota

from .selection import WorkshopFill, group_label

FORUM_ID = r"^[a-z0-9][a-z0-9-]{2,60}$"
WORKSHOP_ID = r"^[a-z0-9][a-z0-9-]{1,80}$"


class ForumWrite(BaseModel):
    """What staff enter for a forum (create or edit); status is changed by open/close/archive only."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    forum_id: str | None = Field(None, pattern=FORUM_ID, description="Chosen from the title when omitted (create only).")
    title: str = Field(min_length=3, max_length=200)
    description: str = Field("", max_length=4000)
    venue: str = Field("", max_length=300)
    starts_on: date | None = None
    ends_on: date | None = None
    timezone: str = Field("Europe/Berlin", max_length=60)
    organiser: str = Field("", max_length=200)
    contact_email: str = Field("", max_length=200)
    privacy_notice_version: str = Field("1", min_length=1, max_length=40)
    privacy_notice_text: str = Field("", max_length=20000)
    languages: list[Language] = Field([Language.de, Language.en], min_length=1, max_length=2)
    registration_opens_at: datetime | None = Field(None, description="Registration opens by itself at this time (with zone).")
    registration_closes_at: datetime | None = Field(None, description="Registration closes by itself at this time (with zone).")
    selection_mode: SelectionMode = SelectionMode.rolling
    retention_days: int | None = Field(None, ge=0, le=3650, description="Days after the forum until personal data is "
                                                                          "anonymised; the service default when omitted.")

    @field_validator("retention_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> int | None:
        if value in (None, ""):
            return None
        days = value if isinstance(value, int) and not isinstance(value, bool) else None
        if isinstance(value, str) and value.strip().isdigit():
            days = int(value)
        if days is None or not 0 <= days <= 3650:
            raise ValueError("Bitte eine ganze Zahl von Tagen zwischen 0 und 3650 angeben.")
        return days

    @field_validator("contact_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError("Bitte eine gültige E-Mail-Adresse angeben, z. B. team@beispiel.de.")
        return value

    @field_validator("ends_on")
    @classmethod
    def _ends_after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("starts_on")
        if value and start and value < start:
            raise ValueError("Das Enddatum liegt vor dem Beginn.")
        return value

    @field_validator("registration_opens_at", "registration_closes_at")
    @classmethod
    def _with_zone(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("Bitte den Zeitpunkt mit Zeitzone angeben (z. B. 2027-02-01T09:00:00+01:00).")
        return value

    @field_validator("registration_closes_at")
    @classmethod
    def _closes_after_opening(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        opens = info.data.get("registration_opens_at")
        if value and opens and value <= opens:
            raise ValueError("Die Anmeldung muss nach ihrer Öffnung schließen.")
        return value

    @field_validator("languages")
    @classmethod
    def _distinct(cls, value: list[Language]) -> list[Language]:
        return list(dict.fromkeys(value))


class WorkshopWrite(BaseModel):
    """What staff enter for a workshop."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=3, max_length=200)
    description: str = Field("", max_length=2000)
    number: int | None = Field(None, ge=1, le=50, description="Position in the forum; next free when omitted.")
    moderators: list[str] = Field([], max_length=10)
    seats: int = Field(ge=1, le=2000)
    quotas: dict[ActorGroup, Quota] = Field(default_factory=dict)
    organisation_cap: int | None = Field(None, ge=1, le=2000)
    reserved_seats: int = Field(0, ge=0, le=2000)

    @field_validator("moderators")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        cleaned = [m.strip() for m in value if m.strip()]
        if any(len(m) > 100 or any(ord(c) < 32 for c in m) for m in cleaned):
            raise ValueError("Jeder Name höchstens 100 Zeichen, ohne Zeilenumbrüche.")
        return cleaned

    @field_validator("quotas")
    @classmethod
    def _min_not_above_max(cls, value: dict[ActorGroup, Quota]) -> dict[ActorGroup, Quota]:
        for group, quota in value.items():
            if quota.min > quota.max:
                raise ValueError(f"Gruppe {group_label(group.value)}: Mindestzahl über Höchstzahl.")
        return value

    @field_validator("reserved_seats")
    @classmethod
    def _reserved_within_seats(cls, value: int, info: ValidationInfo) -> int:
        seats = info.data.get("seats")
        if seats is not None and value > seats:
            raise ValueError("Es können nicht mehr Plätze reserviert werden, als es Plätze gibt.")
        return value


class CloneCreate(BaseModel):
    """A new forum made from an existing one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    forum_id: str | None = Field(None, pattern=FORUM_ID)
    title: str | None = Field(None, min_length=3, max_length=200)


def slug(text: str) -> str:
    """A lower-case ASCII id part from a title."""
    plain = unicodedata.normalize("NFKD", text.casefold().replace("ß", "ss")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:40] or "forum"


def forum_config(body: ForumWrite, forum_id: str, current: ForumConfigured | None) -> ForumConfigured:
    """The forum configuration staff entered; status and revision stay as they are."""
    fields = body.model_dump(exclude={"forum_id"})
    status = current.status if current else ForumStatus.draft
    return ForumConfigured(forum_id=forum_id, status=status, revision=current.revision if current else 1, **fields)


def workshop_config(body: WorkshopWrite, forum_id: str, workshop_id: str, number: int) -> WorkshopConfigured:
    """The workshop configuration staff entered."""
    return WorkshopConfigured(workshop_id=workshop_id, forum_id=forum_id, number=body.number or number,
                              **body.model_dump(exclude={"number"}))


@dataclass(frozen=True)
class Conflict:
    """A change that would make current decisions invalid."""

    field: str
    code: str
    message: str


def reduction_conflicts(fill: WorkshopFill, new: WorkshopConfigured, reserved_taken: int) -> list[Conflict]:
    """What a new configuration breaks for the people already accepted (empty: nothing)."""
    found = []
    open_seats = new.seats - new.reserved_seats
    if open_seats < fill.accepted:
        found.append(Conflict("seats", "fewer_seats_than_accepted",
                              f"Workshop {fill.number} hat {fill.accepted} angenommene Personen auf freien Plätzen, "
                              f"die neue Einstellung ließe nur {max(open_seats, 0)} zu."))
    for group, count in sorted(fill.by_group.items()):
        quota = new.quotas.get(ActorGroup(group)) if group in ActorGroup.__members__ else None
        if quota is not None and count > quota.max:
            found.append(Conflict(f"quotas.{group}.max", "quota_below_accepted",
                                  f"In der Gruppe {group_label(group)} sind {count} Personen angenommen, "
                                  f"die neue Höchstzahl ist {quota.max}."))
    cap = new.organisation_cap
    if cap is not None and any(n > cap for n in fill.by_org.values()):
        most = max(fill.by_org.values())
        found.append(Conflict("organisation_cap", "organisation_cap_below_accepted",
                              f"Eine Organisation hat bereits {most} Plätze, die neue Obergrenze ist {cap}."))
    if new.reserved_seats < reserved_taken:
        found.append(Conflict("reserved_seats", "reserved_below_invited",
                              f"{reserved_taken} eingeladene Personen haben reservierte Plätze angenommen; "
                              f"es können nicht weniger reserviert bleiben."))
    return found


CONFIRMABLE = {"fewer_seats_than_accepted", "quota_below_accepted", "organisation_cap_below_accepted"}


@dataclass(frozen=True)
class Seated:
    """An accepted person on an open seat, as far as re-checking is concerned."""

    registration_id: str
    group: str
    org: str


def displaced(latest_first: list[Seated], fill: WorkshopFill, new: WorkshopConfigured) -> list[tuple[Seated, str]]:
    """Who no longer fits after a confirmed reduction (latest accepted leave first) and why."""
    over_total = fill.accepted - (new.seats - new.reserved_seats)
    over_group = {g: n - new.quotas[ActorGroup(g)].max for g, n in fill.by_group.items()
                  if g in ActorGroup.__members__ and ActorGroup(g) in new.quotas}
    cap = new.organisation_cap
    over_org = {o: n - cap for o, n in fill.by_org.items()} if cap is not None else {}
    out = []
    for person in latest_first:
        if over_group.get(person.group, 0) > 0:
            reason = "group_full"
        elif over_org.get(person.org, 0) > 0:
            reason = "organisation_cap"
        elif over_total > 0:
            reason = "workshop_full"
        else:
            continue
        out.append((person, reason))
        over_total -= 1
        over_group[person.group] = over_group.get(person.group, 0) - 1
        over_org[person.org] = over_org.get(person.org, 0) - 1
    return out


DISPLACED_TEXT = {
    "group_full": "die Höchstzahl für Ihre Gruppe {g} wurde gesenkt",
    "organisation_cap": "die Zahl der Plätze je Organisation wurde gesenkt",
    "workshop_full": "die Zahl der Plätze wurde verringert",
}


def displaced_explanation(number: int, title: str, reason: str, group: str) -> str:
    """German text for a person who lost a seat because staff reduced the workshop."""
    why = DISPLACED_TEXT[reason].format(g=group_label(group))
    return (f"Die Veranstalter haben Workshop {number} „{title}“ verkleinert ({why}); "
            "Ihr Platz entfällt und Sie stehen nun auf der Warteliste.")


def clone_of(forum: ForumConfigured, workshops: list[WorkshopConfigured], new_id: str,
             title: str | None) -> tuple[ForumConfigured, list[WorkshopConfigured]]:
    """A draft copy with new ids: workshops, quotas and texts; no dates, window or people."""
    copy = forum.model_copy(update={
        "forum_id": new_id, "title": title or f"Kopie von {forum.title}"[:200], "status": ForumStatus.draft, "revision": 1,
        "starts_on": None, "ends_on": None, "registration_opens_at": None, "registration_closes_at": None})
    copies = [w.model_copy(update={"workshop_id": f"{new_id}-ws{w.number}", "forum_id": new_id, "revision": 1})
              for w in workshops if not w.removed]
    return copy, copies


def opening_gaps(forum: ForumConfigured, workshops: list[WorkshopConfigured]) -> list[Conflict]:
    """What a forum lacks before registration can open (a date orders the open fora; people need a workshop)."""
    gaps = []
    if forum.starts_on is None:
        gaps.append(Conflict("starts_on", "no_date", "Bitte zuerst das Datum der Veranstaltung angeben."))
    if not [w for w in workshops if not w.removed]:
        gaps.append(Conflict("workshops", "no_workshop", "Bitte zuerst mindestens einen Workshop anlegen."))
    return gaps


Transition = Literal["open", "close"]


def due_transition(forum: ForumConfigured, now: datetime) -> Transition | None:
    """Should the registration window switch now? (The scheduler fires each transition once per configured time.)"""
    if forum.status == ForumStatus.archived:
        return None
    opens, closes = forum.registration_opens_at, forum.registration_closes_at
    if closes is not None and now >= closes:
        return "close" if forum.status == ForumStatus.open else None
    if opens is not None and now >= opens and forum.status != ForumStatus.open:
        return "open"
    return None


def window_cause(forum: ForumConfigured, transition: Transition) -> str:
    """The unit-of-work cause that makes a window switch happen once per configured time (also across restarts)."""
    at = forum.registration_opens_at if transition == "open" else forum.registration_closes_at
    assert at is not None
    return f"window:{forum.forum_id}:{transition}:{at.isoformat()}"


def form_values(data: dict[str, Any]) -> dict[str, Any]:
    """Drop empty strings so optional fields of a browser form fall back to their defaults."""
    return {k: v for k, v in data.items() if v not in ("", None)}
