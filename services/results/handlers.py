"""Bus subscribers of the results service: reporting projections of every topic."""

from __future__ import annotations

from shared.consumer import EventConsumer
from shared.events import CloudEvent
from shared.events.catalogue import ForumConfigured, WorkshopConfigured
from shared.events.notifications import NotificationFailed, NotificationSent
from shared.events.registrations import RegistrationSubmitted
from shared.events.selection import SelectionDecided
from shared.projections import apply_decision_transition, project_forum, project_workshop
from shared.store import UnitOfWork

from .domain import accepted_changes, participation_key
from .store import ReportingStore

consumer = EventConsumer()


@consumer.on("forum.configured")
async def on_forum(event: CloudEvent[ForumConfigured], uow: UnitOfWork) -> None:
    await project_forum(uow.db, event.data, uow.session)


@consumer.on("workshop.configured")
async def on_workshop(event: CloudEvent[WorkshopConfigured], uow: UnitOfWork) -> None:
    await project_workshop(uow.db, event.data, uow.session)


@consumer.on("registration.submitted")
async def on_registration(event: CloudEvent[RegistrationSubmitted], uow: UnitOfWork) -> None:
    """Demand: registrations by first choice, actor group and municipality."""
    d = event.data
    cell = {"forum_id": d.forum_id, "workshop_id": d.preferences[0], "actor_group": d.actor_group.value,
            "municipality": d.municipality}
    await ReportingStore(uow.db).bump_cell(participation_key(**cell), cell, "registered", 1, uow.session)


@consumer.on("selection.decided")
@consumer.on("selection.overridden")
async def on_decision(event: CloudEvent[SelectionDecided], uow: UnitOfWork) -> None:
    """Participation: accepted people by workshop, actor group and municipality."""
    d = event.data
    previous, newer = await apply_decision_transition(uow.db, d, uow.session)
    if not newer:
        return
    store = ReportingStore(uow.db)
    for cell_id, cell, delta in accepted_changes(previous, d.status.value, d.forum_id, d.workshop_id,
                                                 d.actor_group.value, d.municipality):
        await store.bump_cell(cell_id, cell, "accepted", delta, uow.session)


@consumer.on("notification.sent")
@consumer.on("notification.failed")
async def on_delivery(event: CloudEvent[NotificationSent | NotificationFailed], uow: UnitOfWork) -> None:
    """Delivery rates per forum and template."""
    outcome = "sent" if event.type == "notification.sent" else "failed"
    await ReportingStore(uow.db).bump_delivery(event.data.forum_id or "-", event.data.template, outcome, uow.session)
