"""`forum.registrations`: what people submit (owned by registration)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from .common import ActorGroup, Language

SEALED = ("Sealed from data version 2 on: `pii:v1:<owner id>:<AES-GCM base64url>`, opened with the owner's key "
          "from `forum.keys` (see shared/pii.py); plain text in data version 1.")


class RegistrationSubmitted(BaseModel):
    """A person registered for a forum. Carries the personal data the consumers need, sealed for the person."""

    registration_id: str
    forum_id: str
    participant_id: str = Field(description="Stable id of the person (erasure is keyed by it; owner of the key).")
    first_name: str = Field(description=SEALED)
    last_name: str = Field(description=SEALED)
    email: str = Field(description=SEALED)
    organisation: str = Field(description=SEALED)
    role: str = Field("", description=SEALED)
    actor_group: ActorGroup
    municipality: str = Field(description="One of the Ruhr region's 53 municipalities or `outside`.")
    preferences: list[str] = Field(description="Workshop ids, most preferred first.")
    language: Language = Language.de
    consent_version: str = Field(description="Version of the privacy notice consented to.")
    invitation_id: str | None = None
    submitted_at: datetime


class RegistrationUpdated(BaseModel):
    """A registration's details changed (only the changed fields are set)."""

    registration_id: str
    forum_id: str
    participant_id: str
    changes: dict[str, object] = Field(description="Field name to new value (personal fields sealed as in `registration.submitted`).")


class RegistrationCancelled(BaseModel):
    """A registration was withdrawn by the person or by staff."""

    registration_id: str
    forum_id: str
    participant_id: str
    cancelled_by: str = Field("participant", description="`participant` or a staff member id.")
    reason: str = ""
    cancelled_at: datetime


class InvitationSent(BaseModel):
    """Staff invited a stakeholder (or reminded them): notify mails the personal link."""

    invitation_id: str = Field(description="Id of the invitation (also the recipient id for mails).")
    forum_id: str
    workshop_id: str = Field(description="The workshop whose reserved seat the invitation holds.")
    first_name: str = Field(description=SEALED + " The owner is the invitation id.")
    last_name: str = Field(description=SEALED)
    email: str = Field(description=SEALED)
    organisation: str = Field("", description=SEALED)
    language: Language = Language.de
    reminder: bool = Field(False, description="A reminder to someone who has not answered yet.")
    sequence: int = Field(1, ge=1, description="1 for the invitation, 2.. for each reminder (one mail each).")
    invitation_url: str = Field(description="Personal link that opens the pre-filled form.")
    decline_url: str = Field(description="Personal link to decline.")
    sent_at: datetime
