"""HTTP routes of the notify service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from shared.auth import StaffMember, require_staff

from .store import NotifyStore

router = APIRouter(prefix="/api/v1", tags=["deliveries"])


@router.get("/deliveries", summary="Staff: the delivery log (newest first)")
async def list_deliveries(
    request: Request, _staff: StaffMember = Depends(require_staff),
    limit: int = Query(100, ge=1, le=1000), status: str | None = Query(None, pattern="^(pending|sending|sent|failed)$"),
) -> list[dict[str, Any]]:
    rows = await NotifyStore(request.app.state.runtime.db).list(limit, status)
    return [{"id": r.pop("_id"), **r} for r in rows]
