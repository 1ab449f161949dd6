"""Staff REST API of forum set-up: fora, workshops, archive, clone, open and close."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse

from shared.auth import StaffMember, require_role, require_staff
from shared.events.catalogue import ForumConfigured, ForumStatus
from shared.store import UnitOfWork

from . import setup_service
from .setup_domain import WORKSHOP_ID, CloneCreate, ForumWrite, WorkshopWrite
from .retention_rules import retention_days, retention_due_at, retention_state
from .setup_service import NotFound, Refused
from .store import RegistrationStore
from .windows import clock_of

router = APIRouter(prefix="/api/v1", tags=["forum set-up (staff)"])
ForumId = Path(max_length=100)
REFUSED = {409: {"description": "The change would invalidate current decisions (German explanation per conflict)."}}


class SetupError(Exception):
    """A refused or impossible change, with the HTTP answer it gets."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("detail", ""))
        self.status, self.body = status, body


async def run_setup(request: Request, work: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
    """Run one set-up change in its own unit of work; refusals become SetupError (404/409)."""
    try:
        return await request.app.state.runtime.unit_of_work(cause=f"setup:{uuid.uuid4()}").run(work)
    except NotFound as exc:
        raise SetupError(404, {"detail": "Veranstaltung oder Workshop nicht gefunden."}) from exc
    except Refused as exc:
        hint = " Mit confirm=true bestätigen, um die Änderung dennoch zu übernehmen." if exc.confirmable else ""
        raise SetupError(409, {"detail": str(exc) + hint, "confirmable": exc.confirmable,
                               "conflicts": [c.__dict__ for c in exc.conflicts]}) from exc


async def _answer(request: Request, work: Callable[[UnitOfWork], Awaitable[Any]],
                  shape: Callable[[Any], Awaitable[dict[str, Any]]], status: int = 200) -> JSONResponse:
    try:
        result = await run_setup(request, work)
    except SetupError as exc:
        return JSONResponse(exc.body, status_code=exc.status)
    return JSONResponse(await shape(result), status_code=status)


async def forum_view(request: Request, forum_id: str) -> dict[str, Any]:
    """A forum's configuration with its workshops (staff view)."""
    store = RegistrationStore(request.app.state.runtime.db)
    forum = await store.get_forum(forum_id)
    if forum is None:
        raise HTTPException(404, "Veranstaltung nicht gefunden.")
    fills = {f.workshop_id: f for f in await store.forum_fills(forum_id)}
    workshops = [{**w.model_dump(mode="json"), "accepted": fills[w.workshop_id].accepted if w.workshop_id in fills else 0}
                 for w in await store.workshops(forum_id)]
    return {**forum.model_dump(mode="json"), "workshops": workshops, "retention": await retention_view(request, forum)}


async def retention_view(request: Request, forum: ForumConfigured) -> dict[str, Any]:
    """When the forum's personal data is (or was) anonymised, and the state of it."""
    default = request.app.state.settings.retention_days
    record = await request.app.state.runtime.db.retention.find_one({"_id": forum.forum_id}) or {}
    due, done = retention_due_at(forum, default), record.get("anonymised_at")
    return {"days": retention_days(forum, default), "default_days": default, "due_at": due.isoformat() if due else None,
            "anonymised_at": done.isoformat() if done else None,
            "state": retention_state(due, done, clock_of(request.app.state).now()),
            "registrations_anonymised": record.get("registrations"), "invitations_anonymised": record.get("invitations")}


@router.get("/fora", summary="Staff: all fora with their status")
async def list_fora(request: Request, _staff: StaffMember = Depends(require_staff)) -> list[dict[str, Any]]:
    cursor = request.app.state.runtime.db.fora.find({}, {"_id": 0, "forum_id": 1, "title": 1, "status": 1, "starts_on": 1,
                                                         "registration_opens_at": 1, "registration_closes_at": 1})
    return [d async for d in cursor.sort("forum_id", 1).limit(500)]


@router.get("/fora/{forum_id}/retention", summary="Staff: when the forum's personal data is anonymised, and whether it was")
async def get_retention(request: Request, forum_id: str = ForumId, _staff: StaffMember = Depends(require_staff)) -> dict[str, Any]:
    forum = await RegistrationStore(request.app.state.runtime.db).get_forum(forum_id)
    if forum is None:
        raise HTTPException(404, "Veranstaltung nicht gefunden.")
    return await retention_view(request, forum)


@router.post("/fora", status_code=201, summary="Staff: create a forum (draft)", responses=REFUSED)
async def create_forum(request: Request, body: ForumWrite, _staff: StaffMember = Depends(require_role("admin"))) -> JSONResponse:
    return await _answer(request, lambda uow: setup_service.create_forum(uow, body),
                         lambda forum_id: forum_view(request, forum_id), status=201)


@router.put("/fora/{forum_id}", summary="Staff: change a forum's configuration", responses=REFUSED)
async def update_forum(request: Request, body: ForumWrite, forum_id: str = ForumId,
                       _staff: StaffMember = Depends(require_role("admin"))) -> JSONResponse:
    if body.forum_id not in (None, forum_id):
        return JSONResponse({"detail": "Die Kennung kann nicht geändert werden.", "errors": [
            {"field": "forum_id", "reason": "immutable", "type": "value_error", "message": "Die Kennung kann nicht geändert werden."}]},
            status_code=422)
    return await _answer(request, lambda uow: setup_service.update_forum(uow, forum_id, body),
                         lambda _changed: forum_view(request, forum_id))


def _status_route(status: ForumStatus) -> Callable[..., Awaitable[JSONResponse]]:
    async def change(request: Request, forum_id: str = ForumId, _staff: StaffMember = Depends(require_role("admin"))) -> JSONResponse:
        now = clock_of(request.app.state).now()
        return await _answer(request, lambda uow: setup_service.set_status(uow, forum_id, status, now),
                             lambda _changed: forum_view(request, forum_id))
    return change


for _path, _status, _summary in (("open", ForumStatus.open, "Staff: open registration now"),
                                 ("close", ForumStatus.closed, "Staff: close registration now"),
                                 ("archive", ForumStatus.archived, "Staff: archive a forum (no registration, kept for reports)")):
    router.add_api_route(f"/fora/{{forum_id}}/{_path}", _status_route(_status), methods=["POST"], summary=_summary,
                         responses=REFUSED, name=f"forum_{_path}")


@router.post("/fora/{forum_id}/clone", status_code=201, summary="Staff: clone a forum as a draft template (no people)",
             responses=REFUSED)
async def clone_forum(request: Request, body: CloneCreate, forum_id: str = ForumId,
                      _staff: StaffMember = Depends(require_role("admin"))) -> JSONResponse:
    return await _answer(request, lambda uow: setup_service.clone_forum(uow, forum_id, body),
                         lambda new_id: forum_view(request, new_id), status=201)


@router.post("/fora/{forum_id}/workshops", status_code=201, summary="Staff: add a workshop", responses=REFUSED)
async def add_workshop(request: Request, body: WorkshopWrite, forum_id: str = ForumId,
                       _staff: StaffMember = Depends(require_role("admin"))) -> JSONResponse:
    return await _answer(request, lambda uow: setup_service.save_workshop(uow, forum_id, None, body, False),
                         _same, status=201)


@router.put("/fora/{forum_id}/workshops/{workshop_id}", summary="Staff: create or change a workshop (confirm reductions)",
            responses=REFUSED)
async def put_workshop(request: Request, body: WorkshopWrite, forum_id: str = ForumId,
                       workshop_id: str = Path(pattern=WORKSHOP_ID, max_length=100),
                       confirm: bool = Query(False, description="Confirm a change that moves accepted people to the waiting list."),
                       _staff: StaffMember = Depends(require_role("admin"))) -> JSONResponse:
    return await _answer(request, lambda uow: setup_service.save_workshop(uow, forum_id, workshop_id, body, confirm), _same)


@router.delete("/fora/{forum_id}/workshops/{workshop_id}", summary="Staff: remove a workshop nobody is placed in",
               responses=REFUSED)
async def delete_workshop(request: Request, forum_id: str = ForumId, workshop_id: str = Path(max_length=100),
                          _staff: StaffMember = Depends(require_role("admin"))) -> JSONResponse:
    return await _answer(request, lambda uow: setup_service.remove_workshop(uow, forum_id, workshop_id),
                         lambda changed: _same({"id": workshop_id, "removed": True, "changed": bool(changed)}))


async def _same(result: Any) -> dict[str, Any]:
    return result


__all__ = ["router", "run_setup", "forum_view", "SetupError"]
