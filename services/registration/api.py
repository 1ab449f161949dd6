"""HTTP routes of the registration service: intake, status, public workshop list."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from shared.auth import bearer, require_role
from shared.events import utcnow
from shared.store import AlreadyProcessed, UnitOfWork

from shared.events.registrations import RegistrationCancelled

from .domain import IntakeError, RegistrationCreate
from .store import RegistrationStore

router = APIRouter(prefix="/api/v1", tags=["registrations"])


def token_hash(token: str) -> str:
    """What we store of a self-service token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _store(request: Request) -> RegistrationStore:
    return RegistrationStore(request.app.state.runtime.db)


def intake_error(exc: IntakeError) -> JSONResponse:
    """A 422 for a body that does not fit the forum."""
    return JSONResponse(
        status_code=422,
        content={"detail": "Die Eingabe ist ungültig.",
                 "errors": [{"field": exc.field, "reason": exc.reason, "type": "value_error", "message": exc.message}]},
    )


async def submit_registration(request: Request, body: RegistrationCreate) -> tuple[int, dict[str, Any]]:
    """Validate against the forum, store, publish `registration.submitted`; idempotent per e-mail (group commit)."""
    return await request.app.state.intake.submit(body)


@router.post("/registrations", status_code=202, summary="Register for a forum (ARCHITECTURE §7)")
async def create_registration(request: Request, body: RegistrationCreate) -> JSONResponse:
    try:
        status, answer = await submit_registration(request, body)
    except IntakeError as exc:
        return intake_error(exc)
    return JSONResponse(answer, status_code=status)


def status_view(doc: dict[str, Any], position: int | None = None) -> dict[str, Any]:
    """The status answer of §7 (no personal data); `position` is the live waiting-list place."""
    view: dict[str, Any] = {
        "id": doc["_id"], "forum_id": doc["forum_id"], "status": doc["status"],
        "reasons": doc.get("reasons", []), "explanation": doc.get("explanation", ""),
    }
    if doc["status"] in ("accepted", "waitlisted"):
        view["workshop_id"] = doc.get("workshop_id")
    if doc["status"] == "waitlisted":
        view["waitlist_position"] = position or doc.get("waitlist_position")
        if position and doc.get("explanation"):
            view["explanation"] = re.sub(r"Platz \d+ der Warteliste", f"Platz {position} der Warteliste", doc["explanation"])
    return view


async def live_status(request: Request, doc: dict[str, Any]) -> dict[str, Any]:
    """The status view with the current waiting-list place (people ahead may have moved up or left)."""
    return status_view(doc, await _store(request).waitlist_position(doc))


async def authorised_registration(
    request: Request, registration_id: str, token: str | None, credentials: HTTPAuthorizationCredentials | None
) -> dict[str, Any]:
    """The registration, if the caller holds its token or is staff; 404 otherwise."""
    doc = await _store(request).get(registration_id)
    if token and doc and hmac.compare_digest(doc.get("token_hash", ""), token_hash(token)):
        return doc
    if credentials is not None:
        await require_role("selection")(request, credentials)  # erasure too: selection or admin
        if doc:
            return doc
    raise HTTPException(404, "Anmeldung nicht gefunden oder Link ungültig.")


@router.get("/registrations/{registration_id}", summary="Status, decision and explanation")
async def get_registration(
    request: Request, registration_id: str, token: str | None = Query(None, max_length=200),
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> dict[str, Any]:
    return await live_status(request, await authorised_registration(request, registration_id, token, credentials))


async def cancel(request: Request, doc: dict[str, Any], cancelled_by: str) -> dict[str, Any]:
    """Withdraw a registration; the consumer frees the seat and moves the next person up."""
    async def work(uow: UnitOfWork) -> None:
        before = await RegistrationStore(uow.db).mark_cancelled(doc["_id"], uow.session)
        if before is not None:
            uow.emit("registration.cancelled", subject=doc["_id"], data=RegistrationCancelled(
                registration_id=doc["_id"], forum_id=doc["forum_id"], participant_id=doc["participant_id"],
                cancelled_by=cancelled_by, cancelled_at=utcnow()))

    try:
        await request.app.state.runtime.unit_of_work(cause=f"cancel:{doc['_id']}").run(work)
    except AlreadyProcessed:
        pass
    return status_view(await _store(request).get(doc["_id"]) or doc)


@router.post("/registrations/{registration_id}/cancel", summary="Cancel a registration (the person's token or staff auth)")
async def cancel_registration(
    request: Request, registration_id: str, token: str | None = Query(None, max_length=200),
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> dict[str, Any]:
    doc = await authorised_registration(request, registration_id, token, credentials)
    return await cancel(request, doc, "participant" if token else "staff")


@router.get("/workshops", summary="Public: workshops of the open forum with fill counts")
async def list_workshops(request: Request, forum_id: str | None = Query(None, max_length=100)) -> list[dict[str, Any]]:
    store = _store(request)
    forum = await (store.get_forum(forum_id) if forum_id else store.default_forum())
    if forum is None:
        raise HTTPException(404, "Keine Veranstaltung mit offener Anmeldung gefunden.")
    workshops = {w.workshop_id: w for w in await store.workshops(forum.forum_id)}
    return [
        {
            "id": fill.workshop_id, "forum_id": forum.forum_id, "number": fill.number, "title": fill.title,
            "description": workshops[fill.workshop_id].description if fill.workshop_id in workshops else "",
            "seats": fill.seats, "reserved_seats": fill.reserved_seats, "quotas": fill.quotas,
            "accepted": fill.by_group, "accepted_total": fill.accepted, "waitlisted": fill.waitlisted,
        }
        for fill in await store.forum_fills(forum.forum_id)
    ]


@router.get("/fora/{forum_id}", summary="A forum's public configuration")
async def get_forum(request: Request, forum_id: str) -> dict[str, Any]:
    forum = await _store(request).get_forum(forum_id)
    if forum is None:
        raise HTTPException(404, "Veranstaltung nicht gefunden.")
    return forum.model_dump(mode="json")


