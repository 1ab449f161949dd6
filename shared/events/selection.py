"""`forum.selection`: decisions about who takes part (owned by registration)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from .common import ActorGroup, Language


class DecisionStatus(StrEnum):
    """Outcome of selection for one registration."""

    accepted = "accepted"
    waitlisted = "waitlisted"
    rejected = "rejected"
    cancelled = "cancelled"


class SelectionDecided(BaseModel):
    """The current decision for a registration changed (or was made for the first time)."""

    registration_id: str
    forum_id: str
    participant_id: str
    status: DecisionStatus
    workshop_id: str | None = Field(None, description="Workshop placed in or waitlisted for.")
    previous_status: DecisionStatus | None = None
    previous_workshop_id: str | None = None
    waitlist_position: int | None = Field(None, ge=1)
    actor_group: ActorGroup
    municipality: str = ""
    first_choice: bool = Field(False, description="Placed in the person's first preference.")
    language: Language = Language.de
    reasons: list[str] = Field(default_factory=list, description="Machine-readable reason codes.")
    explanation: str = Field("", description="Plain German explanation for the person.")
    decision_seq: int = Field(1, ge=1, description="Increases with each decision for this registration.")


class SelectionOverridden(SelectionDecided):
    """Staff changed a decision by hand; the override survives re-runs."""

    staff_member: str
    action: str = Field(description="`accept`, `reject` or `move`.")
    note: str = ""


class SelectionFinalized(BaseModel):
    """Selection for a forum is final (after the batch run or at the deadline)."""

    forum_id: str
    accepted: dict[str, int] = Field(description="Accepted count per workshop id.")
    lottery_seed: int | None = None
