"""Registration rules: intake validation, catalogue commands, rolling decisions. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from shared.events.catalogue import ForumConfigured, ForumStatus, WorkshopConfigured
from shared.events.common import ACTOR_GROUP_LABELS_DE, ActorGroup, Language
from shared.events.selection import DecisionStatus
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


def check_against_forum(body: RegistrationCreate, forum: ForumConfigured | None, workshops: list[WorkshopConfigured], now: datetime) -> None:
    """Raise IntakeError when the forum is not open or a preference is not one of its workshops."""
    if forum is None:
        raise IntakeError("forum_id", "Diese Veranstaltung gibt es nicht oder die Anmeldung ist nicht geöffnet.", "unknown forum")
    if not registration_open(forum, now):
        raise IntakeError("forum_id", "Die Anmeldung für diese Veranstaltung ist derzeit nicht geöffnet.", "registration closed")
    known = {w.workshop_id for w in workshops if not w.removed}
    unknown = [p for p in body.preferences if p not in known]
    if unknown:
        raise IntakeError("preferences", "Unbekannter Workshop: " + ", ".join(unknown), "unknown workshop id")


def registration_open(forum: ForumConfigured, now: datetime) -> bool:
    """Open status and inside the registration window, if one is set."""
    if forum.status != ForumStatus.open:
        return False
    if forum.registration_opens_at and now < forum.registration_opens_at:
        return False
    return not (forum.registration_closes_at and now >= forum.registration_closes_at)


@dataclass
class WorkshopFill:
    """Seats and current counts of one workshop (the selection state)."""

    workshop_id: str
    number: int
    title: str
    seats: int
    reserved_seats: int
    quotas: dict[str, dict[str, int]]
    accepted: int = 0
    by_group: dict[str, int] = field(default_factory=dict)
    waitlisted: int = 0

    @property
    def open_seats(self) -> int:
        """Seats people can still take (reserved seats are held for invitations)."""
        return self.seats - self.reserved_seats

    def group_max(self, group: str) -> int:
        """Most seats this group may take."""
        quota = self.quotas.get(group)
        return quota["max"] if quota else self.open_seats

    def has_room_for(self, group: str) -> bool:
        """A seat is free overall and within the group's maximum."""
        return self.accepted < self.open_seats and self.by_group.get(group, 0) < self.group_max(group)


@dataclass(frozen=True)
class Decision:
    """The outcome of a rolling check for one registration."""

    status: DecisionStatus
    workshop_id: str
    first_choice: bool
    reasons: list[str]
    explanation: str


def decide_rolling(actor_group: str, preferences: list[str], fills: dict[str, WorkshopFill]) -> Decision:
    """First preference with a free seat for the person's group; else the first preference's waiting list."""
    reasons: list[str] = []
    for rank, workshop_id in enumerate(preferences):
        fill = fills[workshop_id]
        if fill.has_room_for(actor_group):
            reasons.append("seat_available" if rank == 0 else "placed_in_lower_preference")
            return Decision(
                DecisionStatus.accepted, workshop_id, rank == 0, reasons,
                f"Sie haben einen Platz im Workshop {fill.number} „{fill.title}“ erhalten."
                + ("" if rank == 0 else f" Ihre höheren Wünsche waren bereits ausgebucht."),
            )
        reasons.append("group_full" if fill.accepted < fill.open_seats else "workshop_full")
    first = fills[preferences[0]]
    return Decision(DecisionStatus.waitlisted, first.workshop_id, False, reasons, "")


def waitlist_explanation(fill: WorkshopFill, actor_group: str, position: int) -> str:
    """German text for a waiting-list decision."""
    group = ACTOR_GROUP_LABELS_DE.get(ActorGroup(actor_group), actor_group)
    if fill.accepted < fill.open_seats:
        full = f"Workshop {fill.number} ist für die Gruppe {group} ausgebucht"
    else:
        full = f"Workshop {fill.number} ist ausgebucht"
    return f"{full}; Sie stehen auf Platz {position} der Warteliste."


CatalogueCommand = Literal["configure_forum", "configure_workshop", "open_registration", "close_registration"]


def changed_fields(current: dict[str, Any] | None, proposed: dict[str, Any]) -> bool:
    """Does a configuration differ from the stored one (ignoring revision)?"""
    if current is None:
        return True
    strip = lambda d: {k: v for k, v in d.items() if k not in ("revision", "_id")}  # noqa: E731
    return strip(current) != strip(proposed)
