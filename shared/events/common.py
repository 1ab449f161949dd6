"""Value types shared by several event families."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class ActorGroup(StrEnum):
    """Stakeholder groups that selection balances."""

    company = "company"
    research = "research"
    municipality = "municipality"
    chamber = "chamber"
    finance = "finance"
    civil_society = "civil_society"


ACTOR_GROUP_LABELS_DE = {
    ActorGroup.company: "Unternehmen",
    ActorGroup.research: "Hochschulen und Forschung",
    ActorGroup.municipality: "Kommunen und Verwaltung",
    ActorGroup.chamber: "Kammern und Verbände",
    ActorGroup.finance: "Finanzierung und Förderung",
    ActorGroup.civil_society: "Zivilgesellschaft",
}

ACTOR_GROUP_LABELS_EN = {
    ActorGroup.company: "Companies",
    ActorGroup.research: "Universities and research",
    ActorGroup.municipality: "Municipalities and administration",
    ActorGroup.chamber: "Chambers and associations",
    ActorGroup.finance: "Financing and funding",
    ActorGroup.civil_society: "Civil society",
}


class Language(StrEnum):
    """Languages the platform speaks."""

    de = "de"
    en = "en"


class Quota(BaseModel):
    """Seats reserved (`min`) and the largest number allowed (`max`) for one actor group."""

    min: int = Field(0, ge=0, description="Seats reserved for the group.")
    max: int = Field(ge=0, description="Most seats the group may take.")
