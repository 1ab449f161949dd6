"""`forum.keys`: the per-person data keys that seal personal fields in events (owned by registration).

The topic is compacted where the broker supports it; erasure publishes a tombstone (a null
value) for the person's key and every service deletes its copy (crypto-shredding).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ParticipantKeyIssued(BaseModel):
    """A data key for one person (or one invitation): consumers keep it to open sealed fields."""

    participant_id: str = Field(description="Owner of the key: participant id, or invitation id for invitations.")
    key: str = Field(description="AES-256-GCM data key, base64url. Never logged; deleted everywhere on erasure.")
