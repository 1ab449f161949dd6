"""HTTP routes of the agenda service (JSON)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from shared.auth import StaffMember, require_role, require_staff
from shared.events.agenda import AgendaItemData
from shared.store import AlreadyProcessed, UnitOfWork

from . import service
from .groups import form_for_workshop, groups_view
from .ics import agenda_calendar
from .schemas import AgendaItemWrite, BreakoutRequest, ItemMove, RoomWrite
from .store import AgendaStore

router = APIRouter(prefix="/api/v1", tags=["agenda"])
Staff = Depends(require_role("agenda"))
Reader = Depends(require_staff)  # read-only views without personal data: viewer and up


def _store(request: Request) -> AgendaStore:
    return AgendaStore(request.app.state.runtime.db)


async def run(request: Request, cause: str, work: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
    """Run a use case in a unit of work; refusals become 422 and unknown items 404."""
    try:
        return await request.app.state.runtime.unit_of_work(cause=cause).run(work)
    except service.Rejected as exc:
        raise RequestValidationError([{"loc": ("body", exc.field), "msg": exc.message, "type": "value_error",
                                       "ctx": {"error": exc.message}}]) from exc
    except KeyError as exc:
        raise HTTPException(404, "Nicht gefunden.") from exc


async def _forum(request: Request, forum_id: str) -> dict[str, Any]:
    forum = await _store(request).forum(forum_id)
    if forum is None:
        raise HTTPException(404, "Forum unbekannt.")
    return forum


def _conflicts(found: list[Any]) -> list[dict[str, Any]]:
    return [f.as_event().model_dump() for f in found]


# public -----------------------------------------------------------------------------------
@router.get("/workshops/{workshop_id}/agenda", summary="The published agenda of a workshop (or an earlier version)")
async def get_agenda(request: Request, workshop_id: str, version: int | None = Query(None, ge=1, le=2**31 - 1)) -> dict[str, Any]:
    agenda = await _store(request).published_agenda(workshop_id, version)
    if agenda is None:
        raise HTTPException(404, "Für diesen Workshop ist noch keine Agenda veröffentlicht.")
    agenda.pop("_id", None)
    return agenda


@router.get("/workshops/{workshop_id}/agenda/versions", summary="Published versions of a workshop's agenda")
async def get_versions(request: Request, workshop_id: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in d.items() if k != "_id"} for d in await _store(request).versions(workshop_id)]


@router.get("/workshops/{workshop_id}/agenda.ics", summary="The published agenda as iCalendar",
            response_class=Response, responses={200: {"content": {"text/calendar": {}}}})
async def get_agenda_ics(request: Request, workshop_id: str) -> Response:
    store = _store(request)
    agenda = await store.published_agenda(workshop_id)
    if agenda is None:
        raise HTTPException(404, "Für diesen Workshop ist noch keine Agenda veröffentlicht.")
    forum = await store.forum(agenda["forum_id"]) or {}
    removed = [AgendaItemData.model_validate(i) for i in await store.removed_items(workshop_id)]
    body = agenda_calendar(agenda, title=agenda.get("title") or workshop_id, tz=forum.get("timezone") or "Europe/Berlin",
                           url=f"{request.app.state.settings.base_url}/workshops/{workshop_id}", removed=removed)
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="agenda-{workshop_id}.ics"'})


# staff: draft -------------------------------------------------------------------------------
@router.get("/fora/{forum_id}/agenda/draft", summary="Staff: the draft agenda with rooms and current conflicts")
async def get_draft(request: Request, forum_id: str, _s: StaffMember = Reader) -> dict[str, Any]:
    await _forum(request, forum_id)
    agenda = await service.load(request.app.state.runtime.db, forum_id)
    return {"forum_id": forum_id, "revision": agenda.venue["draft_revision"], "rooms": agenda.venue["rooms"],
            "day_start": agenda.venue["day_start"], "day_end": agenda.venue["day_end"], "accepted": agenda.accepted,
            "items": [i.model_dump(mode="json") for i in agenda.items], "conflicts": _conflicts(agenda.conflicts())}


@router.post("/fora/{forum_id}/agenda/items", status_code=201, summary="Staff: add an item to the draft")
async def create_item(request: Request, forum_id: str, body: AgendaItemWrite, _s: StaffMember = Staff) -> dict[str, Any]:
    await _forum(request, forum_id)
    item = await run(request, f"agenda-edit:{uuid.uuid4()}", lambda u: service.save_item(u, forum_id, body))
    return await _answer(request, forum_id, item)


@router.put("/fora/{forum_id}/agenda/items/{item_id}", summary="Staff: replace a draft item")
async def replace_item(request: Request, forum_id: str, item_id: str, body: AgendaItemWrite, _s: StaffMember = Staff) -> dict[str, Any]:
    item = await run(request, f"agenda-edit:{uuid.uuid4()}", lambda u: service.save_item(u, forum_id, body, item_id))
    return await _answer(request, forum_id, item)


@router.post("/fora/{forum_id}/agenda/items/{item_id}/move", summary="Staff: move a draft item by some minutes")
async def move_item(request: Request, forum_id: str, item_id: str, body: ItemMove, _s: StaffMember = Staff) -> dict[str, Any]:
    item = await run(request, f"agenda-edit:{uuid.uuid4()}", lambda u: service.move_item(u, forum_id, item_id, body.minutes))
    return await _answer(request, forum_id, item)


@router.delete("/fora/{forum_id}/agenda/items/{item_id}", status_code=204, summary="Staff: delete a draft item")
async def remove_item(request: Request, forum_id: str, item_id: str, _s: StaffMember = Staff) -> Response:
    await run(request, f"agenda-edit:{uuid.uuid4()}", lambda u: service.delete_item(u, forum_id, item_id))
    return Response(status_code=204)


@router.put("/fora/{forum_id}/rooms/{room_id}", summary="Staff: add or change a room")
async def put_room(request: Request, forum_id: str, room_id: str, body: RoomWrite, _s: StaffMember = Staff) -> dict[str, Any]:
    await _forum(request, forum_id)
    await run(request, f"agenda-room:{uuid.uuid4()}", lambda u: service.save_room(u, forum_id, room_id[:60], body))
    return {"room_id": room_id[:60], **body.model_dump()}


async def _answer(request: Request, forum_id: str, item: AgendaItemData) -> dict[str, Any]:
    agenda = await service.load(request.app.state.runtime.db, forum_id)
    mine = [f for f in agenda.conflicts() if item.item_id in f.item_ids]
    return {"item": item.model_dump(mode="json"), "conflicts": _conflicts(mine)}


# staff: publishing ------------------------------------------------------------------------
@router.get("/fora/{forum_id}/agenda/changes", summary="Staff: what publishing now would change, per workshop")
async def get_changes(request: Request, forum_id: str, _s: StaffMember = Reader) -> list[dict[str, Any]]:
    await _forum(request, forum_id)
    return [{"workshop_id": c["workshop_id"], "next_version": c["previous_version"] + 1, "changed": c["changed"],
             "diff": c["diff"].model_dump(mode="json")} for c in await service.pending(request.app.state.runtime.db, forum_id)]


@router.post("/fora/{forum_id}/agenda/publish", summary="Staff: publish every changed workshop agenda")
async def post_publish(request: Request, forum_id: str, revision: int | None = Query(None, ge=0),
                       _s: StaffMember = Staff) -> JSONResponse:
    await _forum(request, forum_id)
    revision = revision if revision is not None else (await _store(request).venue(forum_id))["draft_revision"]
    try:
        published = await run(request, f"agenda-publish:{forum_id}:{revision}", lambda u: service.publish(u, forum_id))
    except AlreadyProcessed:
        published = []
    return JSONResponse({"forum_id": forum_id, "revision": revision, "published": published})


# staff: participation and breakout groups ---------------------------------------------------------
@router.get("/workshops/{workshop_id}/participation", summary="Staff: registered and accepted counts")
async def get_participation(request: Request, workshop_id: str, _s: StaffMember = Reader) -> dict[str, Any]:
    store = _store(request)
    workshop = await store.workshop(workshop_id)
    if workshop is None:
        raise HTTPException(404, "Workshop unbekannt.")
    return {"workshop_id": workshop_id, "forum_id": workshop["forum_id"], "title": workshop["title"],
            "seats": workshop["seats"], **await store.participation(workshop_id)}


@router.post("/workshops/{workshop_id}/breakout-groups", summary="Staff: form breakout groups from accepted participants")
async def post_groups(request: Request, workshop_id: str, body: BreakoutRequest, _s: StaffMember = Staff) -> dict[str, Any]:
    await run(request, f"agenda-groups:{uuid.uuid4()}", lambda u: form_for_workshop(u, workshop_id, body.groups, "staff"))
    return await groups_view(request.app.state.runtime.db, workshop_id, with_names=True) or {}


@router.get("/workshops/{workshop_id}/breakout-groups", summary="Staff: the current breakout groups")
async def get_groups(request: Request, workshop_id: str, _s: StaffMember = Staff) -> dict[str, Any]:
    groups = await groups_view(request.app.state.runtime.db, workshop_id, with_names=True)
    if groups is None:
        raise HTTPException(404, "Für diesen Workshop wurden noch keine Gruppen gebildet.")
    return groups
