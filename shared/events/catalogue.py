"""`forum.catalogue`: fora and their workshops (owned by registration)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from .common import ActorGroup, Language, Quota


class SelectionMode(StrEnum):
    """How participants are chosen."""

    rolling = "rolling"
    batch = "batch"


class ForumStatus(StrEnum):
    """Life cycle of a forum."""

    draft = "draft"
    open = "open"
    closed = "closed"
    archived = "archived"


class ForumConfigured(BaseModel):
    """A forum was created or changed; carries its whole current configuration."""

    forum_id: str = Field(description="Forum id (stable slug-like id).", examples=["themenforum-2"])
    title: str
    description: str = ""
    venue: str = ""
    starts_on: date | None = Field(None, description="First day of the forum.")
    ends_on: date | None = None
    timezone: str = "Europe/Berlin"
    organiser: str = ""
    contact_email: str = ""
    privacy_notice_version: str = Field("1", description="Version of the privacy notice people consent to.")
    privacy_notice_text: str = Field("", description="The privacy notice itself (the text of `privacy_notice_version`).")
    languages: list[Language] = [Language.de, Language.en]
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    selection_mode: SelectionMode = SelectionMode.rolling
    retention_days: int | None = Field(
        None, ge=0, description="Days after the forum's last day until personal data is anonymised (none: the default).")
    status: ForumStatus = ForumStatus.draft
    revision: int = Field(1, ge=1, description="Increases with each change of the forum.")


class WorkshopConfigured(BaseModel):
    """A workshop was created, changed or removed; carries its whole configuration."""

    workshop_id: str = Field(examples=["tf2-ws1"])
    forum_id: str
    number: int = Field(ge=1, description="Position of the workshop within the forum.")
    title: str
    description: str = ""
    moderators: list[str] = []
    seats: int = Field(ge=0)
    quotas: dict[ActorGroup, Quota] = Field(default_factory=dict, description="Per actor group min/max.")
    organisation_cap: int | None = Field(None, ge=1, description="Most seats one organisation may take.")
    reserved_seats: int = Field(0, ge=0, description="Seats held for invited people.")
    removed: bool = False
    revision: int = Field(1, ge=1)


class ForumRegistrationOpened(BaseModel):
    """Registration for a forum opened."""

    forum_id: str
    opened_at: datetime


class ForumRegistrationClosed(BaseModel):
    """Registration for a forum closed."""

    forum_id: str
    closed_at: datetime
