"""Staff pages of forum set-up (German, forms without JavaScript): fora, workshops, status, clone, invitations."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from shared.auth import StaffMember, check_csrf, csrf_token, require_role_page, require_staff_page
from shared.events.catalogue import ForumStatus
from shared.events.common import ACTOR_GROUP_LABELS_DE, ActorGroup
from shared.http import field_errors

from . import setup_service
from .invitations_api import import_csv, remind, summary
from .selection import group_label
from .setup_api import SetupError, forum_view, run_setup
from .setup_domain import CloneCreate, ForumWrite, WorkshopWrite, form_values
from .store import RegistrationStore
from .texts import TEXTS
from .windows import clock_of

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["group"] = group_label


def _moment(value: str | None, tz: str = "Europe/Berlin") -> str:
    """An ISO time as German local date and time (for the retention notes)."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(ZoneInfo(tz or "Europe/Berlin")).strftime("%d.%m.%Y, %H:%M Uhr")


templates.env.filters["moment"] = _moment
GROUPS = [(g.value, ACTOR_GROUP_LABELS_DE[g]) for g in ActorGroup]
STATUS_DE = {"draft": "Entwurf", "open": "Anmeldung offen", "closed": "Anmeldung geschlossen", "archived": "archiviert"}
FORUM_FIELDS = ("forum_id", "title", "description", "venue", "starts_on", "ends_on", "organiser", "contact_email",
                "privacy_notice_version", "privacy_notice_text", "registration_opens_at", "registration_closes_at",
                "selection_mode", "timezone", "retention_days")


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    base = {"lang": "de", "t": TEXTS["de"], "csrf": csrf_token(request), "status_de": STATUS_DE, "groups": GROUPS,
            "retention_default": request.app.state.settings.retention_days}
    return templates.TemplateResponse(request, f"setup/{name}.html", {**base, **context}, status_code=status)


def _errors(exc: ValidationError) -> dict[str, str]:
    return {e["field"].split(".")[0]: e["message"] for e in field_errors(list(exc.errors()))}


def _local(value: str, tz: str) -> str:
    """A `datetime-local` input (the forum's local time) as an ISO time with zone."""
    try:
        moment = datetime.fromisoformat(value)
        zone = ZoneInfo(tz or "Europe/Berlin")
    except (ValueError, KeyError):
        return value
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).isoformat()


def forum_body(form: dict[str, Any]) -> dict[str, Any]:
    """A ForumWrite body from the forum form."""
    data = form_values({k: form.get(k, "") for k in FORUM_FIELDS})
    for key in ("registration_opens_at", "registration_closes_at"):
        if key in data:
            data[key] = _local(data[key], data.get("timezone", "Europe/Berlin"))
    data["languages"] = [lang for lang in ("de", "en") if form.get(f"lang_{lang}")] or ["de"]
    return data


def workshop_body(form: dict[str, Any]) -> dict[str, Any]:
    """A WorkshopWrite body from the workshop form (quota rows left empty mean no quota)."""
    data = form_values({k: form.get(k, "") for k in ("title", "description", "number", "seats", "organisation_cap",
                                                      "reserved_seats")})
    data["moderators"] = [m for m in str(form.get("moderators", "")).splitlines() if m.strip()]
    quotas = {}
    for group, _label in GROUPS:
        low, high = form.get(f"min_{group}", ""), form.get(f"max_{group}", "")
        if high not in ("", None):
            quotas[group] = {"min": low or 0, "max": high}
    data["quotas"] = quotas
    return data


def _forum_values(forum: dict[str, Any]) -> dict[str, Any]:
    values = {k: ("" if v is None else v) for k, v in forum.items()}
    tz = ZoneInfo(forum.get("timezone") or "Europe/Berlin")
    for key in ("registration_opens_at", "registration_closes_at"):
        if forum.get(key):
            values[key] = datetime.fromisoformat(forum[key]).astimezone(tz).strftime("%Y-%m-%dT%H:%M")
    for lang in forum.get("languages", []):
        values[f"lang_{lang}"] = "on"
    return values


@router.get("/staff/fora", response_class=HTMLResponse)
async def fora_list(request: Request, staff: StaffMember = Depends(require_staff_page)) -> HTMLResponse:
    fora = [d async for d in request.app.state.runtime.db.fora.find({}, {"_id": 0}).sort("forum_id", 1).limit(500)]
    return _render(request, "list", fora=fora, staff=staff)


@router.get("/staff/fora/neu", response_class=HTMLResponse)
async def new_forum(request: Request, staff: StaffMember = Depends(require_role_page("admin"))) -> HTMLResponse:
    return _render(request, "forum", forum=None, values={"lang_de": "on", "lang_en": "on", "privacy_notice_version": "1",
                                                         "timezone": "Europe/Berlin"}, errors={}, message="")


@router.post("/staff/fora/neu", response_class=HTMLResponse)
async def create_forum(request: Request, staff: StaffMember = Depends(require_role_page("admin"))) -> Response:
    form = dict(await request.form())
    check_csrf(request, str(form.get("csrf", "")))
    try:
        body = ForumWrite.model_validate(forum_body(form))
        forum_id = await run_setup(request, lambda uow: setup_service.create_forum(uow, body))
    except ValidationError as exc:
        return _render(request, "forum", 422, forum=None, values=form, errors=_errors(exc), message="")
    except SetupError as exc:
        return _render(request, "forum", exc.status, forum=None, values=form, errors={"forum_id": exc.body["detail"]}, message="")
    return RedirectResponse(f"/staff/fora/{forum_id}/einrichten", status_code=303)


async def _forum_page(request: Request, forum_id: str, *, values: dict[str, Any] | None = None,
                      errors: dict[str, str] | None = None, message: str = "", status: int = 200) -> HTMLResponse:
    view = await forum_view(request, forum_id)
    return _render(request, "forum", status, forum=view, values=values or _forum_values(view), errors=errors or {},
                   message=message)


@router.get("/staff/fora/{forum_id}/einrichten", response_class=HTMLResponse)
async def edit_forum(request: Request, forum_id: str, staff: StaffMember = Depends(require_role_page("admin"))) -> HTMLResponse:
    return await _forum_page(request, forum_id)


@router.post("/staff/fora/{forum_id}/einrichten", response_class=HTMLResponse)
async def update_forum(request: Request, forum_id: str, staff: StaffMember = Depends(require_role_page("admin"))) -> Response:
    form = dict(await request.form())
    check_csrf(request, str(form.get("csrf", "")))
    form.pop("forum_id", None)
    try:
        body = ForumWrite.model_validate(forum_body(form))
        await run_setup(request, lambda uow: setup_service.update_forum(uow, forum_id, body))
    except ValidationError as exc:
        return await _forum_page(request, forum_id, values=form, errors=_errors(exc), status=422)
    except SetupError as exc:
        raise HTTPException(exc.status, exc.body["detail"]) from exc
    return await _forum_page(request, forum_id, message="Gespeichert.")


@router.post("/staff/fora/{forum_id}/status", response_class=HTMLResponse)
async def change_status(request: Request, forum_id: str, action: str = Form(max_length=10),
                        csrf: str = Form("", max_length=200), staff: StaffMember = Depends(require_role_page("admin"))) -> Response:
    check_csrf(request, csrf)
    status = {"open": ForumStatus.open, "close": ForumStatus.closed, "archive": ForumStatus.archived}.get(action)
    if status is None:
        return await _forum_page(request, forum_id, message="Unbekannte Aktion.", status=422)
    now = clock_of(request.app.state).now()
    try:
        await run_setup(request, lambda uow: setup_service.set_status(uow, forum_id, status, now))
    except SetupError as exc:
        return await _forum_page(request, forum_id, message=exc.body["detail"], status=exc.status)
    return await _forum_page(request, forum_id, message=f"Status: {STATUS_DE[status.value]}.")


@router.post("/staff/fora/{forum_id}/klonen", response_class=HTMLResponse)
async def clone(request: Request, forum_id: str, title: str = Form("", max_length=200), csrf: str = Form("", max_length=200),
                staff: StaffMember = Depends(require_role_page("admin"))) -> Response:
    check_csrf(request, csrf)
    try:
        body = CloneCreate(title=title or None)
        new_id = await run_setup(request, lambda uow: setup_service.clone_forum(uow, forum_id, body))
    except ValidationError as exc:
        return await _forum_page(request, forum_id, message="Titel: " + next(iter(_errors(exc).values())), status=422)
    except SetupError as exc:
        return await _forum_page(request, forum_id, message=exc.body["detail"], status=exc.status)
    return RedirectResponse(f"/staff/fora/{new_id}/einrichten", status_code=303)


async def _workshop_page(request: Request, forum_id: str, workshop_id: str | None, *, values: dict[str, Any] | None = None,
                         errors: dict[str, str] | None = None, conflicts: list[dict[str, Any]] | None = None,
                         status: int = 200) -> HTMLResponse:
    view = await forum_view(request, forum_id)
    current = next((w for w in view["workshops"] if w["workshop_id"] == workshop_id), None)
    if workshop_id and current is None and values is None:
        raise HTTPException(404, "Workshop nicht gefunden.")
    if values is None:
        values = {**(current or {"seats": 30, "reserved_seats": 0}), "moderators": "\n".join((current or {}).get("moderators", []))}
        for group, quota in (current or {}).get("quotas", {}).items():
            values[f"min_{group}"], values[f"max_{group}"] = quota["min"], quota["max"]
    return _render(request, "workshop", status, forum=view, workshop_id=workshop_id, values=values, errors=errors or {},
                   conflicts=conflicts or [])


@router.get("/staff/fora/{forum_id}/workshops/neu", response_class=HTMLResponse)
async def new_workshop(request: Request, forum_id: str, staff: StaffMember = Depends(require_role_page("admin"))) -> HTMLResponse:
    return await _workshop_page(request, forum_id, None)


@router.get("/staff/fora/{forum_id}/workshops/{workshop_id}", response_class=HTMLResponse)
async def edit_workshop(request: Request, forum_id: str, workshop_id: str,
                        staff: StaffMember = Depends(require_role_page("admin"))) -> HTMLResponse:
    return await _workshop_page(request, forum_id, workshop_id)


@router.post("/staff/fora/{forum_id}/workshops/{workshop_id}", response_class=HTMLResponse)
async def save_workshop(request: Request, forum_id: str, workshop_id: str,
                        staff: StaffMember = Depends(require_role_page("admin"))) -> Response:
    form = dict(await request.form())
    check_csrf(request, str(form.get("csrf", "")))
    target = None if workshop_id == "neu" else workshop_id
    try:
        body = WorkshopWrite.model_validate(workshop_body(form))
        if form.get("remove") == "1" and target:
            await run_setup(request, lambda uow: setup_service.remove_workshop(uow, forum_id, target))
        else:
            await run_setup(request, lambda uow: setup_service.save_workshop(uow, forum_id, target, body,
                                                                             form.get("confirm") == "true"))
    except ValidationError as exc:
        return await _workshop_page(request, forum_id, target, values=form, errors=_errors(exc), status=422)
    except SetupError as exc:
        conflicts = exc.body.get("conflicts") or [{"field": "", "message": exc.body["detail"]}]
        return await _workshop_page(request, forum_id, target, values=form, conflicts=conflicts, status=exc.status)
    return RedirectResponse(f"/staff/fora/{forum_id}/einrichten", status_code=303)


async def _invitations(request: Request, forum_id: str, message: str = "", errors: list[dict[str, Any]] | None = None,
                       status: int = 200) -> HTMLResponse:
    forum = await RegistrationStore(request.app.state.runtime.db).get_forum(forum_id)
    if forum is None:
        raise HTTPException(404, "Veranstaltung nicht gefunden.")
    return _render(request, "invitations", status, forum=forum, view=await summary(request, forum_id), message=message,
                   errors=errors or [])


@router.get("/staff/fora/{forum_id}/einladungen", response_class=HTMLResponse)
async def invitations_page(request: Request, forum_id: str, staff: StaffMember = Depends(require_role_page("selection"))) -> HTMLResponse:
    return await _invitations(request, forum_id)


@router.post("/staff/fora/{forum_id}/einladungen", response_class=HTMLResponse)
async def upload_invitations(request: Request, forum_id: str, file: UploadFile = File(...), csrf: str = Form("", max_length=200),
                             staff: StaffMember = Depends(require_role_page("selection"))) -> HTMLResponse:
    check_csrf(request, csrf)
    raw = await file.read(60_001)
    try:
        text = raw.decode("utf-8") if len(raw) <= 60_000 else ""
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # Excel on Windows saves CSV in this code page
    status, answer = await import_csv(request, forum_id, text or "")
    if status != 201:
        return await _invitations(request, forum_id, message=answer["detail"], errors=answer.get("errors"),
                                      status=status)
    return await _invitations(request, forum_id, message=f"{answer['created']} Einladungen versandt, {answer['skipped']} bereits eingeladen.")


@router.post("/staff/fora/{forum_id}/einladungen/erinnern", response_class=HTMLResponse)
async def remind_invitees(request: Request, forum_id: str, csrf: str = Form("", max_length=200),
                          staff: StaffMember = Depends(require_role_page("selection"))) -> HTMLResponse:
    check_csrf(request, csrf)
    try:
        answer = await remind(request, forum_id)
    except SetupError as exc:
        return await _invitations(request, forum_id, message=exc.body.get("detail", ""), status=exc.status)
    return await _invitations(request, forum_id, message=f"{answer['reminded']} Erinnerungen versandt.")
