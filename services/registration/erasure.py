"""Erasure (DSGVO Art. 17): the person's link or staff erase a participant everywhere.

The registration service cancels the person's active registrations (freeing seats through the
normal events), anonymises its own records of the person, scrubs the personal data from its
outbox, deletes the person's data keys (tombstones on `forum.keys`; the sealed fields of their
events on the topics can no longer be opened), and asks every other service to do the same with
`participant.erasure_requested`; each answers with `participant.erased`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials

from shared.auth import bearer
from shared.events.participants import ParticipantErased, ParticipantErasureRequested
from shared.store import AlreadyProcessed, UnitOfWork

from . import keys
from .api import authorised_registration, cancel

router = APIRouter(prefix="/api/v1", tags=["privacy"])

ANONYMISED = {"first_name": "", "last_name": "", "email": "", "organisation": "", "role": "", "motivation": ""}


async def erase_participant(uow: UnitOfWork, participant_id: str, requested_by: str) -> int:
    """Anonymise every registration of the person, scrub the outbox, ask the other services."""
    registrations = uow.db.registrations
    docs = [d async for d in registrations.find({"participant_id": participant_id}, {"_id": 1, "invitation_id": 1},
                                                session=uow.session)]
    ids = [d["_id"] for d in docs]
    invited = [d["invitation_id"] for d in docs if d.get("invitation_id")]
    for invitation_id in invited:  # the invitation list held the same person's name and address
        await uow.db.invitations.update_one({"_id": invitation_id}, {"$set": {
            "first_name": "", "last_name": "", "email": "", "email_lower": f"erased:{invitation_id}", "organisation": "",
            "erased": True}}, session=uow.session)
    for registration_id in ids:
        await registrations.update_one(
            {"_id": registration_id},
            {"$set": {**ANONYMISED, "email_lower": f"erased:{registration_id}", "erased": True}},
            session=uow.session,
        )
    # Published intake events carried the person's data; the outbox keeps no copy of them.
    await uow.db.outbox.update_many({"_id": {"$in": [f"registration:{i}" for i in ids]}},
                                    {"$set": {"events": [], "published": True}}, session=uow.session)
    # Crypto-shredding: without the keys the sealed fields of the events still on the topics stay unreadable.
    await keys.shred(uow, [participant_id, *invited])
    uow.emit("participant.erasure_requested", subject=participant_id,
             data=ParticipantErasureRequested(participant_id=participant_id, requested_by=requested_by))
    uow.emit("participant.erased", subject=participant_id,
             data=ParticipantErased(participant_id=participant_id, service="registration"))
    return len(ids)


@router.post("/registrations/{registration_id}/erasure",
             summary="Erase the person behind a registration everywhere (the person's token or staff auth)")
async def request_erasure(
    request: Request, registration_id: str, token: str | None = Query(None, max_length=200),
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> dict[str, Any]:
    doc = await authorised_registration(request, registration_id, token, credentials)
    participant_id = doc["participant_id"]
    requested_by = "participant" if token else "staff"
    for active in [d async for d in request.app.state.runtime.db.registrations.find(
            {"participant_id": participant_id, "status": {"$nin": ["cancelled"]}})]:
        await cancel(request, active, requested_by)
    try:
        erased = await request.app.state.runtime.unit_of_work(cause=f"erasure:{participant_id}").run(
            lambda uow: erase_participant(uow, participant_id, requested_by))
    except AlreadyProcessed:
        erased = 0
    try:
        await keys.publish_tombstones(request.app.state.runtime)
    except Exception:  # noqa: BLE001 - the background loop publishes them once the bus is back
        pass
    return {"participant_id": participant_id, "status": "erasure_requested", "registrations_anonymised": erased}
