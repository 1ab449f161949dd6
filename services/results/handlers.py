"""Bus subscribers of the results service: reporting projections of every topic, ballots for accepted people."""

from __future__ import annotations

from typing import Any

from shared.consumer import EventConsumer
from shared.events import CloudEvent
from shared.events.participants import ParticipantErased, ParticipantErasureRequested
from shared.events.selection import SelectionDecided
from shared.store import UnitOfWork

from .projection import RULES
from .projector import MongoView, project_event
from .store import CaptureStore
from .voting import ballot_for_decision

consumer = EventConsumer()


async def on_event(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Fold any reported event into the reporting read models."""
    await project_event(event, MongoView(uow.db, uow.session))


async def on_decision(event: CloudEvent[SelectionDecided], uow: UnitOfWork) -> None:
    """Project the decision; an accepted person gets a ballot (and its link by mail once voting is open)."""
    if not await project_event(event, MongoView(uow.db, uow.session)):
        return  # an older decision replayed: nothing changed
    await ballot_for_decision(uow, event.data, consumer.settings.base_url)


@consumer.on("participant.erasure_requested")
async def on_erasure(event: CloudEvent[ParticipantErasureRequested], uow: UnitOfWork) -> None:
    """Forget the person's ballots; votes stay as pseudonymous aggregates, the read models hold no personal data."""
    await CaptureStore(uow.db, uow.session).erase_ballots(event.data.participant_id)
    uow.emit("participant.erased", subject=event.data.participant_id,
             data=ParticipantErased(participant_id=event.data.participant_id, service="results"))


for _type in RULES:
    consumer.on(_type)(on_decision if _type.startswith("selection.") else on_event)
