"""Bus subscribers of the results service: reporting projections of every topic, ballots for accepted people."""

from __future__ import annotations


from shared.consumer import Batch, EventConsumer
from shared.events import CloudEvent
from shared.events.participants import ParticipantErased, ParticipantErasureRequested
from shared.events.selection import SelectionDecided
from shared.store import UnitOfWork

from .domain import token_hash, voter_id, voting_token
from .projection import RULES, needs
from .projector import BatchView, project_event
from .store import CaptureStore, voting_key

consumer = EventConsumer()


async def on_events(batch: Batch) -> None:
    """Fold a batch of reported events into the reporting read models (one bulk write per collection)."""
    view = BatchView(batch[0][1].db, batch[0][1].session)
    await view.preload([key for event, _ in batch for key in needs(event)])
    for event, uow in batch:
        if await project_event(event, view) and event.type.startswith("selection."):
            await on_decision(event, uow)
    await view.flush()


async def on_decision(event: CloudEvent[SelectionDecided], uow: UnitOfWork) -> None:
    """An accepted person gets a ballot in their workshop, others lose theirs (only for a decision that changed something)."""
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
    consumer.on_batch(_type)(on_events)
