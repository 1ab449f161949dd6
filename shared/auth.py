"""Staff authentication for API clients (Bearer tokens).

The bootstrap token from `FORUM_BOOTSTRAP_TOKEN` is an admin token for operators'
automation and tests. Browser log-in and roles build on this (see the hardening issue).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False, description="Staff API token")


@dataclass(frozen=True)
class StaffMember:
    """Who is calling a staff route."""

    id: str
    role: str


async def require_staff(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> StaffMember:
    """Dependency: the caller must present a valid staff token."""
    settings = request.app.state.settings
    expected = settings.forum_bootstrap_token.get_secret_value() if settings.forum_bootstrap_token else None
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Anmeldung erforderlich.", {"WWW-Authenticate": "Bearer"})
    if expected and hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        return StaffMember(id="bootstrap-admin", role="admin")
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Ungültiges Token.", {"WWW-Authenticate": "Bearer"})
