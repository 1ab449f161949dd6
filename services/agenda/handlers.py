"""Bus subscribers of the agenda service: catalogue and participation projections."""

from __future__ import annotations

from shared.consumer import EventConsumer
from shared.events import CloudEvent
from shared.events.catalogue import ForumConfigured, WorkshopConfigured
from shared.events.registrations import RegistrationSubmitted
from shared.events.selection import SelectionDecided
from shared.projections import apply_decision_transition, project_forum, project_workshop
from shared.store import UnitOfWork

from .domain import count_changes
from .store import AgendaStore

consumer = EventConsumer()


@consumer.on("forum.configured")
async def on_forum(event: CloudEvent[ForumConfigured], uow: UnitOfWork) -> None:
    await project_forum(uow.db, event.data, uow.session)


@consumer.on("workshop.configured")
async def on_workshop(event: CloudEvent[WorkshopConfigured], uow: UnitOfWork) -> None:
    await project_workshop(uow.db, event.data, uow.session)


@consumer.on("registration.submitted")
async def on_registration(event: CloudEvent[RegistrationSubmitted], uow: UnitOfWork) -> None:
    """Count first choices per workshop (demand, before selection)."""
    first = event.data.preferences[0]
    await AgendaStore(uow.db).add_counts(event.data.forum_id, [(first, "registered_first_choice", 1)], uow.session)


@consumer.on("selection.decided")
@consumer.on("selection.overridden")
async def on_decision(event: CloudEvent[SelectionDecided], uow: UnitOfWork) -> None:
    """Keep accepted counts per workshop and actor group (room sizes depend on them)."""
    d = event.data
    previous, newer = await apply_decision_transition(uow.db, d, uow.session)
    if newer:
        changes = count_changes(previous, d.status.value, d.workshop_id, d.actor_group.value)
        await AgendaStore(uow.db).add_counts(d.forum_id, changes, uow.session)
