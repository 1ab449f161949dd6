"""Registration rules: intake validation and catalogue commands. No I/O (selection rules: selection.py)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from shared.events.catalogue import ForumConfigured, ForumStatus
from shared.events.common import ActorGroup, Language
from shared.municipalities import is_valid_municipality


class RegistrationCreate(BaseModel):
    """The intake body of `POST /api/v1/registrations` (ARCHITECTURE §7)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    forum_id: str | None = Field(None, max_length=100, description="The open forum when omitted.")
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: EmailStr
    organisation: str = Field(min_length=1, max_length=200)
    role: str = Field("", max_length=200)
    actor_group: ActorGroup
    municipality: str = Field(min_length=1, max_length=100)
    preferences: list[str] = Field(min_length=1, max_length=10, description="Workshop ids, most preferred first.")
    motivation: str = Field("", max_length=2000)
    language: Language = Language.de
    consent: bool
    invitation_token: str | None = Field(None, max_length=200)

    @field_validator("first_name", "last_name", "organisation", "role")
    @classmethod
    def _one_line(cls, value: str) -> str:
        # Names end up in mail greetings and exports: no line breaks or other control characters.
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("Bitte ohne Zeilenumbrüche oder Steuerzeichen eingeben.")
        return value

    @field_validator("municipality")
    @classmethod
    def _known_municipality(cls, value: str) -> str:
        if not is_valid_municipality(value):
            raise ValueError("Unbekannte Kommune: bitte eine der 53 Kommunen der Metropole Ruhr oder „outside“ wählen.")
        return value

    @field_validator("consent")
    @classmethod
    def _consented(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("Ohne Einwilligung in die Datenschutzhinweise ist keine Anmeldung möglich.")
        return value

    @field_validator("preferences")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("Jeder Workshop darf nur einmal gewählt werden.")
        return value


class IntakeError(ValueError):
    """A valid-looking body that does not fit the forum (reported as a 422 on `field`)."""

    def __init__(self, field_name: str, message: str, reason: str) -> None:
        super().__init__(message)
        self.field, self.message, self.reason = field_name, message, reason


def check_against_forum(body: RegistrationCreate, forum: ForumConfigured | None, workshop_ids: Collection[str], now: datetime) -> None:
    """Raise IntakeError when the forum is not open or a preference is not one of its (current) workshops."""
    if forum is None:
        raise IntakeError("forum_id", "Diese Veranstaltung gibt es nicht oder die Anmeldung ist nicht geöffnet.", "unknown forum")
    if not registration_open(forum, now):
        raise IntakeError("forum_id", window_text(forum, now), window_reason(forum, now))
    unknown = [p for p in body.preferences if p not in workshop_ids]
    if unknown:
        raise IntakeError("preferences", "Unbekannter Workshop: " + ", ".join(unknown), "unknown workshop id")


def registration_open(forum: ForumConfigured, now: datetime) -> bool:
    """Open status and inside the registration window, if one is set."""
    if forum.status != ForumStatus.open:
        return False
    if forum.registration_opens_at and now < forum.registration_opens_at:
        return False
    return not (forum.registration_closes_at and now >= forum.registration_closes_at)


def window_reason(forum: ForumConfigured, now: datetime) -> str:
    """Why registration is not open: `registration_closed` after it closed, else `registration_not_open`."""
    closes = forum.registration_closes_at
    if forum.status in (ForumStatus.closed, ForumStatus.archived) or (closes is not None and now >= closes):
        return "registration_closed"
    return "registration_not_open"


def window_text(forum: ForumConfigured, now: datetime, lang: str = "de") -> str:
    """What the form and the intake say while registration is not open (German first)."""
    from zoneinfo import ZoneInfo

    opens = forum.registration_opens_at
    if window_reason(forum, now) == "registration_closed":
        return "Die Anmeldung für diese Veranstaltung ist geschlossen." if lang == "de" else "Registration for this event has closed."
    if opens is not None and now < opens and forum.status != ForumStatus.archived:
        local = opens.astimezone(ZoneInfo(forum.timezone or "Europe/Berlin"))
        if lang == "de":
            return f"Die Anmeldung öffnet am {local:%d.%m.%Y} um {local:%H:%M} Uhr."
        return f"Registration opens on {local:%d %B %Y} at {local:%H:%M}."
    return ("Die Anmeldung für diese Veranstaltung ist derzeit nicht geöffnet." if lang == "de"
            else "Registration is not open at the moment.")


CatalogueCommand = Literal["configure_forum", "configure_workshop", "open_registration", "close_registration"]


def changed_fields(current: dict[str, Any] | None, proposed: dict[str, Any]) -> bool:
    """Does a configuration differ from the stored one (ignoring revision)?"""
    if current is None:
        return True
    strip = lambda d: {k: v for k, v in d.items() if k not in ("revision", "_id")}  # noqa: E731
    return strip(current) != strip(proposed)


def name_key(name: str) -> str:
    """A spelling-tolerant form of a name: umlauts folded, case and punctuation dropped."""
    import unicodedata

    text = name.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text if ch.isalnum())


def near_duplicate_ids(first_name: str, last_name: str, others: list[dict[str, Any]]) -> list[str]:
    """Registrations of the same organisation whose name looks like the same person spelled differently."""
    from difflib import SequenceMatcher

    mine = name_key(first_name + last_name)
    mine_last = name_key(last_name)
    found = []
    for other in others:
        theirs = name_key(other.get("first_name", "") + other.get("last_name", ""))
        same_last = name_key(other.get("last_name", "")) == mine_last and name_key(other.get("first_name", ""))[:1] == name_key(first_name)[:1]
        if same_last or SequenceMatcher(None, mine, theirs).ratio() >= 0.85:
            found.append(other["_id"])
    return found
