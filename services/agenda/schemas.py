"""Request and response models of the agenda API (named by intent)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Kind = Literal["welcome", "input", "working_phase", "break", "plenary", "discussion", "results"]


class AgendaItemWrite(BaseModel):
    """Create or replace an agenda item. Times without an offset are the forum's local time."""

    model_config = ConfigDict(extra="forbid")

    workshop_id: str | None = Field(None, max_length=100, description="None: a plenary item shared by all workshops.")
    starts_at: datetime
    ends_at: datetime
    title: str = Field(min_length=1, max_length=200)
    kind: Kind = "working_phase"
    room: str | None = Field(None, max_length=100, description="Room id; None for items that need no room.")
    moderators: list[str] = Field(default_factory=list, max_length=8)
    description: str = Field("", max_length=2000)

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Bitte geben Sie einen Titel an.")
        return value.strip()

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("starts_at")
        if start is not None and (start.tzinfo is None) == (value.tzinfo is None) and value <= start:
            raise ValueError("Das Ende muss nach dem Beginn liegen.")
        return value

    @field_validator("moderators")
    @classmethod
    def _clean_names(cls, value: list[str]) -> list[str]:
        return sorted({v.strip()[:100] for v in value if v.strip()})


class ItemMove(BaseModel):
    """Move an item by some minutes."""

    minutes: int = Field(ge=-720, le=720)


class RoomWrite(BaseModel):
    """Create or change a room of the venue."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    capacity: int = Field(ge=1, le=5000)


class BreakoutRequest(BaseModel):
    """Form breakout groups for a workshop's working phases."""

    groups: int | None = Field(None, ge=1, le=30, description="How many groups; about seven people each when omitted.")
