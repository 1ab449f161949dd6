"""The staff console: fill by group and municipality, waiting lists, near-duplicates, overrides, batch runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from shared.auth import StaffMember, check_csrf, csrf_token, require_role_page
from shared.events.common import ACTOR_GROUP_LABELS_DE, ActorGroup

from . import batch
from .selection import group_label
from .staff_api import OverrideCreate, apply_override, overview, publish_run
from .store import RegistrationStore
from .texts import TEXTS

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["group"] = group_label
GROUP_LABELS = {g.value: ACTOR_GROUP_LABELS_DE[g] for g in ActorGroup}  # for console.js, which redraws the waiting lists


async def _page(request: Request, forum_id: str, staff: StaffMember, message: str = "", run: dict[str, Any] | None = None,
                status: int = 200) -> HTMLResponse:
    store = RegistrationStore(request.app.state.runtime.db)
    forum = await store.get_forum(forum_id)
    if forum is None:
        raise HTTPException(404, "Veranstaltung nicht gefunden.")
    return templates.TemplateResponse(request, "console.html", {
        "lang": "de", "t": TEXTS["de"], "forum": forum, "view": await overview(store, forum_id), "staff": staff, "message": message,
        "run": run, "csrf": csrf_token(request), "rows": await store.listing(forum_id),
        "group_labels": GROUP_LABELS}, status_code=status)


@router.get("/staff/fora/{forum_id}", response_class=HTMLResponse)
async def console(request: Request, forum_id: str, staff: StaffMember = Depends(require_role_page("selection"))) -> HTMLResponse:
    return await _page(request, forum_id, staff)


@router.post("/staff/fora/{forum_id}/override", response_class=HTMLResponse)
async def override_form(request: Request, forum_id: str, registration_id: str = Form(max_length=100),
                        action: str = Form(max_length=10), workshop_id: str = Form("", max_length=100),
                        csrf: str = Form("", max_length=200), staff: StaffMember = Depends(require_role_page("selection"))) -> Any:
    check_csrf(request, csrf)
    try:
        body = OverrideCreate(action=action, workshop_id=workshop_id or None)  # type: ignore[arg-type]
        await apply_override(request, registration_id, body, staff)
    except HTTPException as exc:
        return await _page(request, forum_id, staff, message=str(exc.detail), status=exc.status_code)
    except ValueError:
        return await _page(request, forum_id, staff, message="Unbekannte Aktion.", status=422)
    return RedirectResponse(f"/staff/fora/{forum_id}", status_code=303)


@router.post("/staff/fora/{forum_id}/dry-run", response_class=HTMLResponse)
async def dry_run_form(request: Request, forum_id: str, csrf: str = Form("", max_length=200),
                       staff: StaffMember = Depends(require_role_page("selection"))) -> HTMLResponse:
    check_csrf(request, csrf)
    run = await batch.dry_run(request.app.state.runtime.db, forum_id, seed=None, staff=staff.id)
    return await _page(request, forum_id, staff, message="Probelauf berechnet – noch nicht veröffentlicht.", run=run)


@router.post("/staff/fora/{forum_id}/publish", response_class=HTMLResponse)
async def publish_form(request: Request, forum_id: str, run_id: str = Form(max_length=100),
                       csrf: str = Form("", max_length=200), staff: StaffMember = Depends(require_role_page("selection"))) -> Any:
    check_csrf(request, csrf)
    try:
        result = await publish_run(request, run_id)
    except HTTPException as exc:
        return await _page(request, forum_id, staff, message=str(exc.detail), status=exc.status_code)
    return await _page(request, forum_id, staff, message=f"Veröffentlicht: {result['changed']} Entscheidungen geändert, Los-Seed {result['seed']}.")
