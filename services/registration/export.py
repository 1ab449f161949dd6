"""Data download (DSGVO Art. 15/20) through the person's link, and the privacy-notice history for staff."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from shared.auth import StaffMember, bearer, require_staff
from shared.events import utcnow

from . import notices
from .api import authorised_registration
from .retention_rules import erased_document, export_document, registration_export

router = APIRouter(prefix="/api/v1", tags=["privacy"])
log = structlog.get_logger()
DOWNLOAD = {200: {"description": "The person's data as a JSON file (attachment).", "content": {"application/json": {}}}}


async def personal_data(db: Any, participant_id: str) -> dict[str, Any]:
    """Everything the registration service holds about a person (nothing once they are erased)."""
    regs = [d async for d in db.registrations.find({"participant_id": participant_id, "erased": {"$ne": True}})]
    if not regs:
        return erased_document(participant_id, utcnow())
    titles = {d["_id"]: d.get("title", "") async for d in db.fora.find({"_id": {"$in": sorted({r["forum_id"] for r in regs})}},
                                                                       {"title": 1})}
    out = []
    for reg in sorted(regs, key=lambda r: (r.get("created_at") or utcnow(), r["_id"])):
        invitation = await db.invitations.find_one({"_id": reg["invitation_id"]}) if reg.get("invitation_id") else None
        out.append(registration_export(reg, await notices.notice_for(db, reg), invitation, titles.get(reg["forum_id"], "")))
    return export_document(participant_id, out, utcnow())


@router.get("/registrations/{registration_id}/export", responses=DOWNLOAD,
            summary="Download everything stored about the person as JSON (the person's token or staff auth)")
async def export_registration(
    request: Request, registration_id: str, token: str | None = Query(None, max_length=200),
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> JSONResponse:
    doc = await authorised_registration(request, registration_id, token, credentials)
    body = await personal_data(request.app.state.runtime.db, doc["participant_id"])
    log.info("registration.data_exported", registration_id=doc["_id"], by="participant" if token else "staff")
    return JSONResponse(jsonable_encoder(body), headers={
        "Content-Disposition": f'attachment; filename="themenforum-meine-daten-{doc["_id"]}.json"',
        "Cache-Control": "no-store"})


@router.get("/fora/{forum_id}/privacy-notices", summary="Staff: every privacy-notice version and wording of a forum, newest first")
async def privacy_notices(request: Request, forum_id: str = Path(max_length=100),
                          _staff: StaffMember = Depends(require_staff)) -> list[dict[str, Any]]:
    db = request.app.state.runtime.db
    if await db.fora.find_one({"_id": forum_id}, {"_id": 1}) is None:
        raise HTTPException(404, "Veranstaltung nicht gefunden.")
    return await notices.history(db, forum_id)
