"""Bus subscribers of the results service: reporting projections of every topic, ballots for accepted people."""

from __future__ import annotations

from shared import keyring
from shared.consumer import Batch, EventConsumer
from shared.events import CloudEvent
from shared.events.participants import ParticipantErased, ParticipantErasureRequested
from shared.events.selection import SelectionDecided
from shared.store import UnitOfWork

from .projection import RULES, needs
from .projector import BatchView, project_event
from .store import CaptureStore
from .voting import ballots_for_decisions

consumer = EventConsumer()


async def on_events(batch: Batch) -> None:
    """Fold a batch of reported events into the reporting read models (one bulk write per collection)."""
    view = BatchView(batch[0][1].db, batch[0][1].session)
    await view.preload([key for event, _ in batch for key in needs(event)])
    decisions: list[tuple[SelectionDecided, UnitOfWork]] = []
    for event, uow in batch:
        if await project_event(event, view) and event.type.startswith("selection."):
            decisions.append((event.data, uow))  # a decision that changed something: its ballots follow
    await ballots_for_decisions(decisions, consumer.settings.base_url)
    await view.flush()


@consumer.on("participant.erasure_requested")
async def on_erasure(event: CloudEvent[ParticipantErasureRequested], uow: UnitOfWork) -> None:
    """Forget the person's ballots; votes stay as pseudonymous aggregates, the read models hold no personal data."""
    await CaptureStore(uow.db, uow.session).erase_ballots(event.data.participant_id)
    await keyring.forget(uow.db, [event.data.participant_id], uow.session)
    uow.emit("participant.erased", subject=event.data.participant_id,
             data=ParticipantErased(participant_id=event.data.participant_id, service="results"))


for _type in RULES:
    consumer.on_batch(_type, mixed=True)(on_events)  # one view (one read and one write per collection) per poll
