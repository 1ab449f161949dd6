"""HTTP routes of the agenda service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from shared.auth import StaffMember, require_staff

from .store import AgendaStore

router = APIRouter(prefix="/api/v1", tags=["agenda"])


def _store(request: Request) -> AgendaStore:
    return AgendaStore(request.app.state.runtime.db)


@router.get("/workshops/{workshop_id}/agenda", summary="The published agenda of a workshop")
async def get_agenda(request: Request, workshop_id: str) -> dict[str, Any]:
    store = _store(request)
    agenda = await store.published_agenda(workshop_id)
    if agenda is None:
        raise HTTPException(404, "Für diesen Workshop ist noch keine Agenda veröffentlicht.")
    agenda.pop("_id", None)
    return agenda


@router.get("/workshops/{workshop_id}/participation", summary="Staff: registered and accepted counts")
async def get_participation(request: Request, workshop_id: str, _staff: StaffMember = Depends(require_staff)) -> dict[str, Any]:
    store = _store(request)
    workshop = await store.workshop(workshop_id)
    if workshop is None:
        raise HTTPException(404, "Workshop unbekannt.")
    return {"workshop_id": workshop_id, "forum_id": workshop["forum_id"], "title": workshop["title"],
            "seats": workshop["seats"], **await store.participation(workshop_id)}
