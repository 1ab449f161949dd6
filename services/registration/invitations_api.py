"""Invitations: staff import and reminders (REST), and the invitee's public decline page."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from shared.auth import StaffMember, require_role
from shared.store import UnitOfWork

from . import invitations
from .invitation_rules import RowError, parse_invitees
from .setup_api import SetupError, run_setup
from .setup_service import NotFound
from .store import RegistrationStore
from .texts import TEXTS

router = APIRouter(prefix="/api/v1", tags=["invitations (staff)"])
public = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
ForumId = PathParam(max_length=100)


class InvitationImport(BaseModel):
    """A CSV list of stakeholders (name, e-mail, organisation, actor group, workshop; `;` or `,`)."""

    model_config = ConfigDict(extra="forbid")
    csv: str = Field(min_length=1, max_length=60_000, description="The CSV text with a header row (German or English).")


def row_errors(errors: list[RowError]) -> dict[str, Any]:
    """The 422 body for a CSV with bad lines: each names the line and the column."""
    return {"detail": "Die Liste enthält Fehler; es wurde niemand eingeladen.", "errors": [
        {"field": "csv", "line": e.line, "column": e.field, "reason": "invalid_row", "type": "value_error",
         "message": f"Zeile {e.line}, {e.field}: {e.message}"} for e in errors]}


async def import_csv(request: Request, forum_id: str, text: str) -> tuple[int, dict[str, Any]]:
    """Parse, check and store an invitation list; mails go out through `invitation.sent`."""
    runtime = request.app.state.runtime
    store = RegistrationStore(runtime.db)
    if await store.get_forum(forum_id) is None:
        return 404, {"detail": "Veranstaltung nicht gefunden."}
    workshops = {w.number: w.workshop_id for w in await store.workshops(forum_id)}
    invitees, errors = parse_invitees(text, workshops)
    if errors:
        return 422, row_errors(errors)
    base = runtime.settings.base_url

    async def work(uow: UnitOfWork) -> dict[str, int]:
        return await invitations.import_invitees(uow, forum_id, invitees, base)

    try:
        return 201, await run_setup(request, work)
    except SetupError as exc:
        return exc.status, exc.body


async def summary(request: Request, forum_id: str) -> dict[str, Any]:
    """Invitations of a forum and how many answered which way."""
    rows = await invitations.listing(request.app.state.runtime.db, forum_id)
    counts = Counter(r["status"] for r in rows)
    return {"forum_id": forum_id, "counts": {s: counts.get(s, 0) for s in ("pending", "accepted", "declined", "cancelled")},
            "invitations": rows}


async def remind(request: Request, forum_id: str) -> dict[str, Any]:
    """Send reminders to those who have not answered."""
    runtime = request.app.state.runtime

    async def work(uow: UnitOfWork) -> int:
        if await RegistrationStore(uow.db).get_forum(forum_id, uow.session) is None:
            raise NotFound(forum_id)
        return await invitations.remind_pending(uow, forum_id, runtime.settings.base_url)

    return {"reminded": await run_setup(request, work)}


@router.post("/fora/{forum_id}/invitations", status_code=201, summary="Staff: import stakeholders to invite (CSV)",
             responses={409: {"description": "Conflict"}})
async def post_invitations(request: Request, body: InvitationImport, forum_id: str = ForumId,
                           _staff: StaffMember = Depends(require_role("selection"))) -> JSONResponse:
    status, answer = await import_csv(request, forum_id, body.csv)
    return JSONResponse(answer, status_code=status)


@router.get("/fora/{forum_id}/invitations", summary="Staff: invitations with accepted / declined / not answered")
async def get_invitations(request: Request, forum_id: str = ForumId, _staff: StaffMember = Depends(require_role("selection"))) -> dict[str, Any]:
    return await summary(request, forum_id)


@router.post("/fora/{forum_id}/invitations/remind", summary="Staff: remind everyone who has not answered")
async def post_reminders(request: Request, forum_id: str = ForumId, _staff: StaffMember = Depends(require_role("selection"))) -> JSONResponse:
    try:
        return JSONResponse(await remind(request, forum_id))
    except SetupError as exc:
        return JSONResponse(exc.body, status_code=exc.status)


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "de"


@public.get("/invitation/{token}/decline", response_class=HTMLResponse)
async def decline_page(request: Request, token: str = PathParam(max_length=200)) -> HTMLResponse:
    invitation = await invitations.by_token(request.app.state.runtime.db, token)
    lang = _lang(request)
    return templates.TemplateResponse(request, "setup/decline.html", {
        "lang": lang, "t": TEXTS[lang], "invitation": invitation, "token": token, "done": False},
        status_code=200 if invitation else 404)


@public.post("/invitation/{token}/decline", response_class=HTMLResponse)
async def decline(request: Request, token: str = PathParam(max_length=200)) -> HTMLResponse:
    # The secret token in the link is the invitee's credential, so a forged cross-site post cannot know it.
    db = request.app.state.runtime.db
    invitation = await invitations.by_token(db, token)
    if invitation is not None and invitation["status"] == "pending":
        await db.invitations.update_one({"_id": invitation["_id"], "status": "pending"}, {"$set": {"status": "declined"}})
    lang = _lang(request)
    return templates.TemplateResponse(request, "setup/decline.html", {
        "lang": lang, "t": TEXTS[lang], "invitation": invitation, "token": token, "done": True},
        status_code=200 if invitation else 404)

