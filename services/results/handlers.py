"""Bus subscribers of the results service: reporting projections of every topic, ballots for accepted people."""

from __future__ import annotations

from typing import Any

from shared.consumer import EventConsumer
from shared.events import CloudEvent
from shared.events.participants import ParticipantErased, ParticipantErasureRequested
from shared.events.selection import SelectionDecided
from shared.store import UnitOfWork

from .domain import token_hash, voter_id, voting_token
from .projection import RULES
from .projector import MongoView, project_event
from .store import CaptureStore, voting_key

consumer = EventConsumer()


async def on_event(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Fold any reported event into the reporting read models."""
    await project_event(event, MongoView(uow.db, uow.session))


async def on_decision(event: CloudEvent[SelectionDecided], uow: UnitOfWork) -> None:
    """Project the decision; an accepted person gets a ballot in their workshop, others lose theirs."""
    if not await project_event(event, MongoView(uow.db, uow.session)):
        return  # an older decision replayed: nothing changed
    d, store = event.data, CaptureStore(uow.db, uow.session)
    placed = d.workshop_id if d.status.value == "accepted" else None
    await store.close_ballots(d.registration_id, placed)
    if placed:
        voter = voter_id(d.participant_id, placed)
        token = voting_token(await voting_key(uow.db), voter)
        await store.open_ballot({"_id": voter, "token_hash": token_hash(token), "participant_id": d.participant_id,
                                 "registration_id": d.registration_id, "workshop_id": placed, "forum_id": d.forum_id})


@consumer.on("participant.erasure_requested")
async def on_erasure(event: CloudEvent[ParticipantErasureRequested], uow: UnitOfWork) -> None:
    """Forget the person's ballots; votes stay as pseudonymous aggregates, the read models hold no personal data."""
    await CaptureStore(uow.db, uow.session).erase_ballots(event.data.participant_id)
    uow.emit("participant.erased", subject=event.data.participant_id,
             data=ParticipantErased(participant_id=event.data.participant_id, service="results"))


for _type in RULES:
    consumer.on(_type)(on_decision if _type.startswith("selection.") else on_event)
