"""Erasure (DSGVO Art. 17): the person's link or staff erase a participant everywhere.

The registration service cancels the person's active registrations (freeing seats through the
normal events), anonymises its own records of the person, scrubs the personal data from its
outbox, deletes the person's data keys (tombstones on `forum.keys`; the sealed fields of their
events on the topics can no longer be opened), and asks every other service to do the same with `participant.erasure_requested`;
each answers with `participant.erased`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from pymongo import UpdateOne

from shared.auth import bearer
from shared.events import utcnow
from shared.events.participants import ParticipantErased, ParticipantErasureRequested
from shared.store import AlreadyProcessed, UnitOfWork

from . import keys
from .api import authorised_registration, cancel

router = APIRouter(prefix="/api/v1", tags=["privacy"])

ANONYMISED = {"first_name": "", "last_name": "", "email": "", "organisation": "", "role": "", "motivation": ""}


async def anonymise_registrations(uow: UnitOfWork, ids: list[str]) -> None:
    """Empty the personal fields of these registrations and drop the published intake events that carried them."""
    if not ids:
        return
    at = utcnow()
    await uow.db.registrations.bulk_write([UpdateOne({"_id": i}, {"$set": {
        **ANONYMISED, "email_lower": f"erased:{i}", "erased": True, "erased_at": at}}) for i in ids], session=uow.session)
    # Published intake events carried the person's data; the outbox keeps no copy of them.
    await uow.db.outbox.update_many({"_id": {"$in": [f"registration:{i}" for i in ids]}},
                                    {"$set": {"events": []}}, session=uow.session)


async def forget_invitations(uow: UnitOfWork, invitation_ids: list[str], requested_by: str) -> None:
    """Empty invitations and their published mails; notify knows an invitee by the invitation id, so that id is erased."""
    if not invitation_ids:
        return
    await uow.db.invitations.bulk_write([UpdateOne({"_id": i}, {"$set": {
        "first_name": "", "last_name": "", "email": "", "email_lower": f"erased:{i}", "organisation": "", "erased": True}})
        for i in invitation_ids], session=uow.session)
    await uow.db.outbox.update_many({"events.key": {"$in": invitation_ids}},
                                    {"$pull": {"events": {"key": {"$in": invitation_ids}, "type": "invitation.sent"}}},
                                    session=uow.session)
    await keys.shred(uow, invitation_ids)  # invitations were sealed under their own keys
    for invitation_id in invitation_ids:
        uow.emit("participant.erasure_requested", subject=invitation_id,
                 data=ParticipantErasureRequested(participant_id=invitation_id, requested_by=requested_by))
        uow.emit("participant.erased", subject=invitation_id,
                 data=ParticipantErased(participant_id=invitation_id, service="registration"))


async def erase_participant(uow: UnitOfWork, participant_id: str, requested_by: str) -> int:
    """Anonymise every registration and invitation of the person, scrub the outbox, ask the other services."""
    docs = [d async for d in uow.db.registrations.find({"participant_id": participant_id}, {"_id": 1, "invitation_id": 1},
                                                       session=uow.session)]
    ids = [d["_id"] for d in docs]
    await forget_invitations(uow, [d["invitation_id"] for d in docs if d.get("invitation_id")], requested_by)
    await anonymise_registrations(uow, ids)
    # Crypto-shredding: without the key the sealed fields of the events still on the topics stay unreadable.
    await keys.shred(uow, [participant_id])
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
    return {"participant_id": participant_id, "status": "erasure_requested", "registrations_anonymised": erased}
