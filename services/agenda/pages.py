"""HTML pages: the staff editor (works without JavaScript), publishing with a diff, public and printable agendas."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from shared.auth import StaffMember, check_csrf, csrf_token, require_role_page
from shared.events.agenda import AgendaItemData
from shared.events.common import ACTOR_GROUP_LABELS_DE
from shared.http import field_errors
from shared.runtime import STATIC_DIR
from shared.store import AlreadyProcessed

from . import service, timeline
from .groups import form_for_workshop, groups_view
from .schemas import AgendaItemWrite, RoomWrite
from .store import AgendaStore, item_from_doc
from .texts import CHANGED_FIELDS, CONFLICT_KINDS, FIELD_LABELS, KINDS, TEXTS

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
StaffPage = Depends(require_role_page("agenda"))


def _diff_value(value: Any, field: str, zone: ZoneInfo) -> str:
    """A changed field's value as people read it."""
    if value is None:
        return "Plenum" if field == "workshop_id" else "–"
    if field in ("starts_at", "ends_at"):
        return datetime.fromisoformat(str(value)).astimezone(zone).strftime("%d.%m. %H:%M")
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "–"
    return str(value)


templates.env.filters["diffvalue"] = _diff_value


def _lang(lang: str | None) -> str:
    return "en" if lang == "en" else "de"


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    lang = context.get("lang", "de")
    base = {"t": TEXTS[lang], "kinds": KINDS[lang], "conflict_kinds": CONFLICT_KINDS, "field_labels": FIELD_LABELS,
            "changed_fields": CHANGED_FIELDS, "groups_de": {g.value: label for g, label in ACTOR_GROUP_LABELS_DE.items()}}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _db(request: Request) -> Any:
    return request.app.state.runtime.db


# public ------------------------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
async def index(request: Request, lang: str | None = Query(None, max_length=5)) -> HTMLResponse:
    store = AgendaStore(_db(request))
    fora = [(f, await store.workshops(f["_id"])) for f in await store.fora()]
    return _render(request, "index.html", {"lang": _lang(lang), "fora": fora})


async def _published_view(request: Request, workshop_id: str, version: int | None, lang: str) -> dict[str, Any]:
    store = AgendaStore(_db(request))
    workshop = await store.workshop(workshop_id)
    if workshop is None:
        raise HTTPException(404, "Workshop unbekannt.")
    forum = await store.forum(workshop["forum_id"]) or {}
    agenda = await store.published_agenda(workshop_id, version)
    if version is not None and agenda is None:
        raise HTTPException(404, "Diese Version gibt es nicht.")
    latest = await store.published_agenda(workshop_id)
    zone = ZoneInfo(forum.get("timezone") or "Europe/Berlin")
    items = [AgendaItemData.model_validate(i) for i in (agenda or {}).get("items", [])]
    return {"lang": lang, "workshop": workshop, "forum": forum, "agenda": agenda, "items": items, "zone": zone,
            "latest_version": latest["version"] if latest else 0, "versions": await store.versions(workshop_id)}


@router.get("/workshops/{workshop_id}", response_class=HTMLResponse)
async def public_agenda(request: Request, workshop_id: str, version: int | None = Query(None, ge=1, le=2**31 - 1),
                        lang: str | None = Query(None, max_length=5)) -> HTMLResponse:
    return _render(request, "public.html", await _published_view(request, workshop_id, version, _lang(lang)))


@router.get("/workshops/{workshop_id}/print", response_class=HTMLResponse)
async def printable_agenda(request: Request, workshop_id: str, version: int | None = Query(None, ge=1, le=2**31 - 1),
                           lang: str | None = Query(None, max_length=5)) -> HTMLResponse:
    return _render(request, "print.html", await _published_view(request, workshop_id, version, _lang(lang)))


@router.get("/workshops/{workshop_id}/agenda.pdf")
async def agenda_pdf(request: Request, workshop_id: str, version: int | None = Query(None, ge=1, le=2**31 - 1)) -> Response:
    """The printable view as PDF (for the wall and the moderators)."""
    view = await _published_view(request, workshop_id, version, "de")
    if view["agenda"] is None:
        raise HTTPException(404, "Für diesen Workshop ist noch keine Agenda veröffentlicht.")
    html = _render(request, "print.html", view).body.decode()
    pdf = await asyncio.to_thread(_pdf, html)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="agenda-{workshop_id}.pdf"'})


def _pdf(html: str) -> bytes:
    # Stylesheets come from disk: fetching them over HTTP from this same server would block it.
    import weasyprint  # imported on first use: it is slow to load

    sheets = [weasyprint.CSS(filename=str(STATIC_DIR / "base.css")),
              weasyprint.CSS(filename=str(Path(__file__).parent / "static" / "agenda.css")),
        weasyprint.CSS(string="@page { size: A4; margin: 15mm } .noprint { display: none }")]
    return weasyprint.HTML(string=html).write_pdf(stylesheets=sheets)  # type: ignore[no-any-return]


# staff: editor ---------------------------------------------------------------------------------------------
async def _editor(request: Request, forum_id: str, *, view: str = "workshops", form: dict[str, Any] | None = None,
                  errors: dict[str, str] | None = None, notice: str = "", status: int = 200) -> HTMLResponse:
    db = _db(request)
    agenda = await service.load(db, forum_id)
    if not agenda.forum:
        raise HTTPException(404, "Forum unbekannt.")
    found = agenda.conflicts()
    tz = agenda.tz
    days = [d.day for d in agenda.days]
    grids = timeline.build(agenda.items, view=view, workshops=[(w["_id"], f"Workshop {w.get('number', '')}: {w.get('title', '')}")
                                                                for w in agenda.workshops],
                           rooms=agenda.rooms, days=days, day_start=time.fromisoformat(agenda.venue["day_start"]),
                           day_end=time.fromisoformat(agenda.venue["day_end"]), tz=tz, found=found)
    store = AgendaStore(db)
    participation = {w["_id"]: await store.participation(w["_id"]) for w in agenda.workshops}
    groups = {w["_id"]: await groups_view(db, w["_id"], with_names=True) for w in agenda.workshops}
    pending = await service.pending(db, forum_id)
    return _render(request, "editor.html", {
        "lang": "de", "forum": agenda.forum, "agenda": agenda, "grids": grids, "found": found, "view": view,
        "form": form or {"day": days[0].isoformat() if days else "", "kind": "working_phase"}, "errors": errors or {},
        "notice": notice, "csrf": csrf_token(request), "days": days, "participation": participation, "groups": groups,
        "pending": pending, "unpublished": sum(p["changed"] for p in pending),
        "items_by_id": {i.item_id: i for i in agenda.items}, "zone": ZoneInfo(tz),
    }, status=status)


def _form_values(item: AgendaItemData, zone: ZoneInfo) -> dict[str, Any]:
    start, end = item.starts_at.astimezone(zone), item.ends_at.astimezone(zone)
    return {"item_id": item.item_id, "workshop_id": item.workshop_id or "", "day": start.date().isoformat(),
            "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "title": item.title, "kind": item.kind,
            "room": item.room or "", "moderators": ", ".join(item.moderators), "description": item.description}


@router.get("/staff/agenda/{forum_id}", response_class=HTMLResponse)
async def editor(request: Request, forum_id: str, view: str = Query("workshops", pattern="^(workshops|rooms)$"),
                 edit: str | None = Query(None, max_length=100), notice: str = Query("", max_length=200),
                 _s: StaffMember = StaffPage) -> HTMLResponse:
    form = None
    if edit:
        doc = await AgendaStore(_db(request)).item(edit)
        if doc is not None and doc.get("forum_id") == forum_id:
            forum = await AgendaStore(_db(request)).forum(forum_id) or {}
            form = _form_values(item_from_doc(doc), ZoneInfo(forum.get("timezone") or "Europe/Berlin"))
    return await _editor(request, forum_id, view=view, form=form, notice=notice)


def _back(forum_id: str, anchor: str = "", notice: str = "") -> RedirectResponse:
    query = f"?notice={notice}" if notice else ""
    return RedirectResponse(f"/staff/agenda/{forum_id}{query}{('#' + anchor) if anchor else ''}", status_code=303)


async def _run(request: Request, cause: str, work: Any) -> Any:
    return await request.app.state.runtime.unit_of_work(cause=cause).run(work)


@router.post("/staff/agenda/{forum_id}/items", response_class=HTMLResponse)
async def save_item(request: Request, forum_id: str, _s: StaffMember = StaffPage) -> Response:
    values = {k: str(v).strip() for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, values.get("csrf_token"))
    errors: dict[str, str] = {}
    for name in ("day", "start", "end"):
        try:
            (date.fromisoformat if name == "day" else time.fromisoformat)(values.get(name, ""))
        except ValueError:
            errors[name] = "Bitte im Format TT.MM.JJJJ bzw. HH:MM angeben." if name != "day" else "Bitte einen Tag wählen."
    body = None
    if not errors:
        try:
            body = AgendaItemWrite(
                workshop_id=values.get("workshop_id") or None, title=values.get("title", ""), kind=values.get("kind", ""),
                starts_at=datetime.fromisoformat(f"{values['day']}T{values['start']}"),
                ends_at=datetime.fromisoformat(f"{values['day']}T{values['end']}"),
                room=values.get("room") or None, description=values.get("description", ""),
                moderators=[m for m in values.get("moderators", "").split(",")])  # type: ignore[arg-type]
        except ValidationError as exc:
            rename = {"starts_at": "start", "ends_at": "end"}
            errors = {rename.get(e["field"].split(".")[0], e["field"].split(".")[0]): e["message"] for e in field_errors(list(exc.errors()))}
    if body is not None:
        try:
            item = await _run(request, f"agenda-edit:{uuid.uuid4()}",
                              lambda u: service.save_item(u, forum_id, body, values.get("item_id") or None))
            return _back(forum_id, f"item-{item.item_id}", "saved")
        except service.Rejected as exc:
            errors = {exc.field: exc.message}
        except KeyError:
            errors = {"title": "Dieser Programmpunkt existiert nicht mehr."}
    return await _editor(request, forum_id, form=values, errors=errors, status=422)


@router.post("/staff/agenda/{forum_id}/items/{item_id}/move")
async def move_item(request: Request, forum_id: str, item_id: str, _s: StaffMember = StaffPage) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    try:
        minutes = max(-720, min(720, int(str(form.get("minutes", "0")))))
        await _run(request, f"agenda-edit:{uuid.uuid4()}", lambda u: service.move_item(u, forum_id, item_id, minutes))
    except (KeyError, ValueError) as exc:
        raise HTTPException(404, "Programmpunkt nicht gefunden.") from exc
    return _back(forum_id, f"item-{item_id}", "moved")


@router.post("/staff/agenda/{forum_id}/items/{item_id}/delete")
async def delete_item(request: Request, forum_id: str, item_id: str, _s: StaffMember = StaffPage) -> Response:
    check_csrf(request, str((await request.form()).get("csrf_token", "")))
    try:
        await _run(request, f"agenda-edit:{uuid.uuid4()}", lambda u: service.delete_item(u, forum_id, item_id))
    except KeyError as exc:
        raise HTTPException(404, "Programmpunkt nicht gefunden.") from exc
    return _back(forum_id, "konflikte", "deleted")


@router.post("/staff/agenda/{forum_id}/rooms", response_class=HTMLResponse)
async def save_room(request: Request, forum_id: str, _s: StaffMember = StaffPage) -> Response:
    values = {k: str(v).strip() for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, values.get("csrf_token"))
    try:
        body = RoomWrite(name=values.get("name", ""), capacity=values.get("capacity", ""))  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = {f"room_{e['field']}": e["message"] for e in field_errors(list(exc.errors()))}
        return await _editor(request, forum_id, errors=errors, status=422)
    room_id = values.get("room_id") or "raum-" + "".join(c if c.isalnum() else "-" for c in body.name.lower())[:40]
    await _run(request, f"agenda-room:{uuid.uuid4()}", lambda u: service.save_room(u, forum_id, room_id, body))
    return _back(forum_id, "raeume", "room")


@router.post("/staff/agenda/workshops/{workshop_id}/groups")
async def form_groups(request: Request, workshop_id: str, _s: StaffMember = StaffPage) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    count = int(str(form.get("groups") or 0)) if str(form.get("groups") or "").isdigit() else None
    try:
        doc = await _run(request, f"agenda-groups:{uuid.uuid4()}",
                         lambda u: form_for_workshop(u, workshop_id, min(count, 30) if count else None, "staff"))
    except KeyError as exc:
        raise HTTPException(404, "Workshop unbekannt.") from exc
    return _back(doc["forum_id"], f"gruppen-{workshop_id}", "groups")


# staff: publishing -------------------------------------------------------------------------------------------
@router.get("/staff/agenda/{forum_id}/publish", response_class=HTMLResponse)
async def publish_preview(request: Request, forum_id: str, _s: StaffMember = StaffPage) -> HTMLResponse:
    agenda = await service.load(_db(request), forum_id)
    if not agenda.forum:
        raise HTTPException(404, "Forum unbekannt.")
    return _render(request, "publish.html", {
        "lang": "de", "forum": agenda.forum, "pending": await service.pending(_db(request), forum_id),
        "revision": agenda.venue["draft_revision"], "found": agenda.conflicts(), "csrf": csrf_token(request),
        "zone": ZoneInfo(agenda.tz)})


@router.post("/staff/agenda/{forum_id}/publish")
async def publish(request: Request, forum_id: str, _s: StaffMember = StaffPage) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    revision = str(form.get("revision", ""))
    try:
        published = await _run(request, f"agenda-publish:{forum_id}:{revision}", lambda u: service.publish(u, forum_id))
    except AlreadyProcessed:
        published = []
    return _back(forum_id, "", f"published-{len(published)}")
