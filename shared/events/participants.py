"""`forum.participants`: privacy requests about a person."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ParticipantErasureRequested(BaseModel):
    """A person (or staff for them) asked for their data to be erased."""

    participant_id: str
    requested_by: str = Field("participant", description="`participant` or a staff member id.")


class ParticipantErased(BaseModel):
    """One service confirms it erased or anonymised the person's data."""

    participant_id: str
    service: str
