"""Bus subscribers of the agenda service: catalogue, people and participation projections."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from shared import keyring
from shared.consumer import Batch, EventConsumer
from shared.events import CloudEvent
from shared.events.catalogue import ForumConfigured, WorkshopConfigured
from shared.events.participants import ParticipantErased, ParticipantErasureRequested
from shared.events.registrations import RegistrationUpdated
from shared.events.selection import SelectionFinalized
from shared.projections import apply_decision_transitions, project_forum, project_workshop
from shared.store import UnitOfWork

from .domain import count_changes
from .groups import form_for_workshop
from .service import recheck, recheck_many
from .store import AgendaStore

consumer = EventConsumer()


@consumer.on("forum.configured")
async def on_forum(event: CloudEvent[ForumConfigured], uow: UnitOfWork) -> None:
    """Days and time zone decide which items lie outside the day."""
    await project_forum(uow.db, event.data, uow.session)
    await recheck(uow, event.data.forum_id)


@consumer.on("workshop.configured")
async def on_workshop(event: CloudEvent[WorkshopConfigured], uow: UnitOfWork) -> None:
    await project_workshop(uow.db, event.data, uow.session)
    await recheck(uow, event.data.forum_id)


def _people(batch: Batch, changes: dict[str, list[tuple[str, str, int]]]) -> dict[str, dict[str, Any]]:
    """Count first choices (demand); what breakout groups need of each person: organisation and name."""
    for event, _ in batch:
        changes[event.data.forum_id].append((event.data.preferences[0], "registered_first_choice", 1))
    # Kept sealed as they came (data version 2); opened with the person's key where groups are formed or shown.
    return {d.registration_id: {"participant_id": d.participant_id, "forum_id": d.forum_id, "organisation": d.organisation,
                                "first_name": d.first_name, "last_name": d.last_name} for d in (e.data for e, _ in batch)}


@consumer.on("registration.updated")
async def on_registration_updated(event: CloudEvent[RegistrationUpdated], uow: UnitOfWork) -> None:
    if "organisation" in event.data.changes:
        await AgendaStore(uow.db).update_person(event.data.registration_id,
                                                {"organisation": str(event.data.changes["organisation"])}, uow.session)


async def _decisions(batch: Batch, changes: dict[str, list[tuple[str, str, int]]], last: dict[str, UnitOfWork]) -> None:
    """Accepted counts per workshop and actor group from the newer decisions (older or repeated ones change nothing)."""
    answers = await apply_decision_transitions(batch[0][1].db, [e.data for e, _ in batch], batch[0][1].session)
    for (event, uow), (previous, newer) in zip(batch, answers, strict=True):
        d = event.data
        if newer:
            changes[d.forum_id] += count_changes(previous, d.status.value, d.workshop_id, d.actor_group.value)
            last[d.forum_id] = uow


@consumer.on_batch("registration.submitted", mixed=True)
@consumer.on_batch("selection.decided", mixed=True)
@consumer.on_batch("selection.overridden", mixed=True)
async def on_people_and_decisions(batch: Batch) -> None:
    """A poll's registrations and decisions together: one count update per workshop, one room check per forum.

    The counts are sums of increments, so the order of registrations and decisions between them does
    not matter; decisions keep their own order (a newer one per registration wins). A room may now be
    too small: checked once per forum of the poll, after all its counts.
    """
    uow0 = batch[0][1]
    changes: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    last: dict[str, UnitOfWork] = {}
    people = _people([pair for pair in batch if pair[0].type == "registration.submitted"], changes)
    if decisions := [pair for pair in batch if pair[0].type != "registration.submitted"]:
        await _decisions(decisions, changes, last)
    store = AgendaStore(uow0.db)
    if changes:
        await store.add_counts(changes, uow0.session)
    if people:
        await store.save_people(people, uow0.session)
    if last:
        await recheck_many(last)


@consumer.on("selection.finalized")
async def on_finalized(event: CloudEvent[SelectionFinalized], uow: UnitOfWork) -> None:
    """Selection is final: form breakout groups for every workshop."""
    for workshop_id in sorted(event.data.accepted):
        if await AgendaStore(uow.db).workshop(workshop_id, uow.session):
            await form_for_workshop(uow, workshop_id, None, trigger="selection.finalized")


@consumer.on("participant.erasure_requested")
async def on_erasure(event: CloudEvent[ParticipantErasureRequested], uow: UnitOfWork) -> None:
    """Names and organisations go; groups keep only the anonymous slots."""
    await AgendaStore(uow.db).erase_person(event.data.participant_id, uow.session)
    await keyring.forget(uow.db, [event.data.participant_id], uow.session)
    uow.emit("participant.erased", subject=event.data.participant_id,
             data=ParticipantErased(participant_id=event.data.participant_id, service="agenda"))
