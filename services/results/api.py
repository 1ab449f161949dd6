"""HTTP routes of the results service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from .domain import summarise_participation
from .store import ReportingStore

router = APIRouter(prefix="/api/v1", tags=["reports"])


@router.get("/reports/{forum_id}", summary="The results report of a forum (aggregates only)")
async def get_report(request: Request, forum_id: str) -> dict[str, Any]:
    store = ReportingStore(request.app.state.runtime.db)
    forum = await store.forum(forum_id)
    if forum is None:
        raise HTTPException(404, "Veranstaltung unbekannt.")
    return {
        "forum": {"id": forum_id, "title": forum["title"], "starts_on": forum.get("starts_on")},
        "workshops": [{"id": w["workshop_id"], "number": w["number"], "title": w["title"], "seats": w["seats"]}
                      for w in await store.workshops(forum_id)],
        "participation": summarise_participation(await store.cells(forum_id)),
        "deliveries": await store.deliveries(forum_id),
    }
