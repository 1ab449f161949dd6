"""`forum.staff`: staff accounts and API tokens (owned by registration, projected by every service).

Events carry the argon2 password hash (made to be stored) and the SHA-256 hash of a token,
never a password or a token itself; every service keeps a projection, so each can check a
log-in, a role, a token or a revocation locally.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class StaffRole(StrEnum):
    """What a staff member may do."""

    admin = "admin"
    selection = "selection"
    agenda = "agenda"
    moderator = "moderator"
    viewer = "viewer"


class StaffAccountChanged(BaseModel):
    """A staff account was created or changed; carries its whole current state."""

    username: str = Field(description="Log-in name (lower case, stable).", examples=["m.muster"])
    display_name: str = ""
    roles: list[StaffRole] = Field(default_factory=list)
    workshops: list[str] = Field(default_factory=list, description="Workshop ids a moderator may capture results for.")
    disabled: bool = False
    password_hash: str | None = Field(None, description="argon2id hash; null: no browser log-in.")
    version: int = Field(1, ge=1, description="Increases with each change; projections keep the highest.")


class StaffTokenIssued(BaseModel):
    """An API token was issued (the token itself is shown once and never stored)."""

    token_id: str
    token_hash: str = Field(description="SHA-256 hex digest of the whole token.")
    username: str = Field(description="The account the token acts for.")
    roles: list[StaffRole] = Field(default_factory=list)
    workshops: list[str] = Field(default_factory=list)
    label: str = ""
    issued_at: datetime


class StaffTokenRevoked(BaseModel):
    """An API token was revoked; it is refused from now on."""

    token_id: str
    revoked_at: datetime
