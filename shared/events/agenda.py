"""`forum.agenda`: published agendas and their conflicts (owned by agenda)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AgendaItemData(BaseModel):
    """One slot of a workshop's agenda as published."""

    item_id: str
    workshop_id: str | None = Field(None, description="None for plenary items shared by all workshops.")
    starts_at: datetime
    ends_at: datetime
    title: str
    kind: str = Field(description="welcome, input, working_phase, break, plenary, …")
    room: str | None = Field(None, description="Room id.")
    room_name: str | None = Field(None, description="Room name as shown to people.")
    moderators: list[str] = []
    description: str = ""


class AgendaDiff(BaseModel):
    """What changed between two published versions."""

    added: list[AgendaItemData] = []
    removed: list[AgendaItemData] = []
    changed: list[dict[str, object]] = Field(
        default_factory=list, description="Each: item_id, before, after (only changed fields)."
    )


class AgendaPublished(BaseModel):
    """The first published version of a workshop's agenda."""

    workshop_id: str
    forum_id: str
    version: int = Field(ge=1)
    items: list[AgendaItemData]


class AgendaUpdated(AgendaPublished):
    """A later published version, with its diff against the previous one."""

    diff: AgendaDiff


class Conflict(BaseModel):
    """A problem found in an agenda."""

    kind: str = Field(description="room_double_booked, moderator_double_booked, overlap, outside_day, room_too_small, gap, no_room")
    message: str
    item_ids: list[str] = []
    workshop_ids: list[str] = Field(default_factory=list, description="Workshops whose agenda the conflict touches.")
    detail: str = Field("", description="What the conflict is about: room id, moderator, or the gap's time span.")


class AgendaConflictDetected(BaseModel):
    """Conflicts found in a workshop's agenda (the full current list)."""

    workshop_id: str
    forum_id: str
    conflicts: list[Conflict]


class BreakoutGroup(BaseModel):
    """One breakout group: pseudonymous members only (names stay in the agenda service)."""

    number: int = Field(ge=1)
    registration_ids: list[str]
    by_actor_group: dict[str, int] = Field(default_factory=dict)


class BreakoutGroupsFormed(BaseModel):
    """Breakout groups for a workshop's working phases were formed (on staff request or when selection is final)."""

    workshop_id: str
    forum_id: str
    trigger: str = Field(description="`staff` or `selection.finalized`.")
    groups: list[BreakoutGroup]
