"""Staff APIs of selection: overview, overrides, batch dry run and publish, participant export."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from shared.auth import StaffMember, require_role
from shared.store import AlreadyProcessed, UnitOfWork

from . import batch, catalogue, seats
from .store import RegistrationStore

router = APIRouter(prefix="/api/v1", tags=["selection (staff)"])
EXPORT_FIELDS = ["id", "status", "workshop_id", "first_name", "last_name", "email", "organisation", "role", "actor_group",
                 "municipality", "preferences", "waitlist_position", "near_duplicate_of"]


class OverrideCreate(BaseModel):
    """A staff decision about one registration."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["accept", "reject", "move"]
    workshop_id: str | None = Field(None, max_length=100, description="Target workshop for accept/move.")
    note: str = Field("", max_length=500)


class DryRunCreate(BaseModel):
    """Start a batch dry run; the seed is drawn when omitted and always recorded."""

    model_config = ConfigDict(extra="forbid")
    seed: int | None = Field(None, ge=0, le=2**31)


class CatalogueCommands(BaseModel):
    """Catalogue commands in the seed file's format (configure_forum, configure_workshop, open/close_registration)."""

    commands: list[dict[str, Any]] = Field(min_length=1, max_length=100)


def _store(request: Request) -> RegistrationStore:
    return RegistrationStore(request.app.state.runtime.db)


async def apply_override(request: Request, registration_id: str, body: OverrideCreate, staff: StaffMember) -> dict[str, Any]:
    """Run one override in its own unit of work (409 when it would break a limit)."""
    async def work(uow: UnitOfWork) -> None:
        reg = await RegistrationStore(uow.db).get(registration_id, uow.session)
        if reg is None or reg["status"] == "cancelled":
            raise HTTPException(404, "Anmeldung nicht gefunden oder storniert.")
        await seats.override(uow, reg, action=body.action, workshop_id=body.workshop_id, staff=staff.id, note=body.note)

    import uuid

    try:
        await request.app.state.runtime.unit_of_work(cause=f"override:{uuid.uuid4()}").run(work)
    except seats.SeatUnavailable as exc:
        raise HTTPException(409, str(exc)) from exc
    doc = await _store(request).get(registration_id)
    return {"id": registration_id, "status": doc["status"], "workshop_id": doc.get("workshop_id")}


@router.post("/catalogue", summary="Staff: apply catalogue commands (create or change fora and workshops)")
async def apply_catalogue(request: Request, body: CatalogueCommands, _staff: StaffMember = Depends(require_role("admin"))) -> dict[str, int]:
    import uuid

    changed = 0
    if any(not isinstance(c.get("forum_id", ""), str) or not isinstance(c.get("command"), str) for c in body.commands):
        raise HTTPException(422, "Ungültiger Katalogbefehl: `command` und `forum_id` müssen Text sein.")
    for command in body.commands:
        uow = request.app.state.runtime.unit_of_work(cause=f"catalogue:{uuid.uuid4()}")
        try:
            changed += bool(await uow.run(lambda u, c=command: catalogue.apply_command(u, c)))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise HTTPException(422, f"Ungültiger Katalogbefehl: {exc}") from exc
    return {"changed": changed}


@router.post("/registrations/{registration_id}/override", summary="Staff: accept, reject or move a registration")
async def override(request: Request, registration_id: str, body: OverrideCreate,
                   staff: StaffMember = Depends(require_role("selection"))) -> dict[str, Any]:
    return await apply_override(request, registration_id, body, staff)


async def overview(store: RegistrationStore, forum_id: str) -> dict[str, Any]:
    """Fill by actor group and municipality, waiting lists in order, flagged near-duplicates."""
    fills = await store.forum_fills(forum_id)
    by_municipality: dict[str, dict[str, int]] = defaultdict(dict)
    async for row in await store.db.registrations.aggregate([
        {"$match": {"forum_id": forum_id, "status": "accepted"}},
        {"$group": {"_id": {"w": "$workshop_id", "m": "$municipality"}, "n": {"$sum": 1}}},
    ]):
        by_municipality[row["_id"]["w"]][row["_id"]["m"]] = row["n"]
    workshops = []
    for f in fills:
        waitlist = await store.waitlist(f.workshop_id)
        workshops.append({
            "id": f.workshop_id, "number": f.number, "title": f.title, "seats": f.seats, "open_seats": f.open_seats,
            "accepted": f.accepted, "quotas": f.quotas, "by_group": f.by_group,
            "by_municipality": dict(sorted(by_municipality[f.workshop_id].items(), key=lambda kv: -kv[1])),
            "waitlist": [{"id": d["_id"], "name": f"{d['first_name']} {d['last_name']}", "organisation": d["organisation"],
                          "actor_group": d["actor_group"], "position": i + 1} for i, d in enumerate(waitlist)],
        })
    dupes = [{"id": d["_id"], "name": f"{d['first_name']} {d['last_name']}", "organisation": d["organisation"],
              "status": d["status"], "near_duplicate_of": d["near_duplicate_of"]} for d in await store.near_duplicates(forum_id)]
    return {"forum_id": forum_id, "workshops": workshops, "near_duplicates": dupes}


@router.get("/fora/{forum_id}/selection", summary="Staff: selection overview of a forum")
async def selection_overview(request: Request, forum_id: str, _staff: StaffMember = Depends(require_role("selection"))) -> dict[str, Any]:
    return await overview(_store(request), forum_id)


@router.get("/fora/{forum_id}/registrations", summary="Staff: registrations of a forum (filterable by status)")
async def registrations(request: Request, forum_id: str, status: str | None = Query(None, max_length=20),
                        _staff: StaffMember = Depends(require_role("selection"))) -> list[dict[str, Any]]:
    return [_row(d) for d in await _store(request).listing(forum_id, status)]


@router.post("/fora/{forum_id}/selection/dry-run", summary="Staff: compute the optimal batch assignment without publishing")
async def start_dry_run(request: Request, forum_id: str, body: DryRunCreate,
                        staff: StaffMember = Depends(require_role("selection"))) -> dict[str, Any]:
    run = await batch.dry_run(request.app.state.runtime.db, forum_id, seed=body.seed, staff=staff.id)
    return {"run_id": run["_id"], **run["summary"], "people": run["people"]}


async def publish_run(request: Request, run_id: str) -> dict[str, Any]:
    """Publish a dry run's decisions (409 when it is stale)."""
    runtime = request.app.state.runtime
    try:
        return await runtime.unit_of_work(cause=f"batch-publish:{run_id}").run(lambda uow: batch.publish(uow, run_id))
    except KeyError as exc:
        raise HTTPException(404, "Probelauf nicht gefunden.") from exc
    except batch.StaleRun as exc:
        raise HTTPException(409, str(exc)) from exc
    except AlreadyProcessed as exc:
        raise HTTPException(409, "Dieser Probelauf ist bereits veröffentlicht.") from exc


@router.post("/selection/runs/{run_id}/publish", summary="Staff: publish a dry run as decisions")
async def publish(request: Request, run_id: str, _staff: StaffMember = Depends(require_role("selection"))) -> dict[str, Any]:
    return await publish_run(request, run_id)


def _cell(value: Any) -> Any:
    """A spreadsheet-safe cell: lists joined, and text that a spreadsheet would run as a formula defused."""
    text = ", ".join(value) if isinstance(value, list) else ("" if value is None else value)
    return "'" + text if isinstance(text, str) and text[:1] in ("=", "+", "-", "@") else text


def _row(d: dict[str, Any]) -> dict[str, Any]:
    return {"id": d["_id"], **{k: d.get(k) for k in EXPORT_FIELDS if k != "id"}}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/fora/{forum_id}/participants.{fmt}", summary="Staff: participant list as CSV or Excel",
            response_class=Response, responses={200: {"content": {"text/csv": {}, XLSX: {}}}})
async def export(request: Request, forum_id: str, fmt: Literal["csv", "xlsx"], status: str | None = Query(None, max_length=20),
                 _staff: StaffMember = Depends(require_role("selection"))) -> Response:
    if await _store(request).get_forum(forum_id) is None:
        raise HTTPException(404, "Veranstaltung nicht gefunden.")
    rows = [_row(d) for d in await _store(request).listing(forum_id, status)]
    rows.sort(key=lambda r: (r["status"] or "", r["workshop_id"] or "", r["last_name"] or ""))
    flat = [[_cell(v) for v in r.values()] for r in rows]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"teilnehmende-{forum_id}.{fmt}")  # never raw input in a header
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")  # German Excel opens semicolon-separated files directly
        writer.writerow(EXPORT_FIELDS)
        writer.writerows(flat)
        return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Teilnehmende"
    sheet.append(EXPORT_FIELDS)
    for r in flat:
        sheet.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(buffer.getvalue(), headers={"Content-Disposition": f'attachment; filename="{name}"'},
                    media_type=XLSX)
