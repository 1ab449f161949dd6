"""`forum.results`: ideas, project sketches and votes (owned by results)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from .common import ActorGroup


class IdeaCaptured(BaseModel):
    """A moderator captured an idea (or changed it: same idea_id, higher revision)."""

    idea_id: str
    workshop_id: str
    forum_id: str
    title: str
    text: str = ""
    tags: list[str] = []
    cluster: str | None = None
    breakout_group: str | None = None
    actor_groups: list[ActorGroup] = []
    captured_by: str = ""
    revision: int = Field(1, ge=1)
    result_version: int = Field(1, ge=1, description="Results version of the workshop this revision belongs to.")


class SketchSubmitted(BaseModel):
    """A project sketch was submitted or revised."""

    sketch_id: str
    workshop_id: str
    forum_id: str
    title: str
    problem: str = ""
    goal: str = ""
    partners: list[ActorGroup] = []
    timeline: str = ""
    funding_need_eur: int | None = Field(None, ge=0)
    funding_instruments: list[str] = []
    next_steps: str = ""
    contact: str = ""
    idea_ids: list[str] = Field(default_factory=list, description="Ideas the sketch grew from.")
    revision: int = Field(1, ge=1)
    result_version: int = Field(1, ge=1, description="Results version of the workshop this revision belongs to.")


class VoteCast(BaseModel):
    """A participant placed dots on a sketch or idea."""

    vote_id: str
    workshop_id: str
    forum_id: str
    voter_id: str = Field(description="Pseudonymous voter id (not the person's name).")
    target_id: str
    dots: int = Field(ge=1)
    target_kind: str = Field("sketch", description="`sketch` or `idea`.")


class ResultFinalized(BaseModel):
    """A workshop's results were frozen as a version."""

    workshop_id: str
    forum_id: str
    version: int = Field(ge=1)
    ideas: int = 0
    sketches: int = 0
    votes: int = 0
    finalized_by: str = Field("", description="Staff member id who froze the results.")
