"""Bus subscribers of the registration service: rolling selection."""

from __future__ import annotations

import structlog

from shared.consumer import EventConsumer
from shared.events import CloudEvent
from shared.events.registrations import RegistrationSubmitted
from shared.events.selection import DecisionStatus, SelectionDecided
from shared.store import UnitOfWork

from .domain import decide_rolling, waitlist_explanation
from .store import RegistrationStore

consumer = EventConsumer()
log = structlog.get_logger()


@consumer.on("registration.submitted")
async def decide_on_submission(event: CloudEvent[RegistrationSubmitted], uow: UnitOfWork) -> None:
    """Rolling mode: each submission gets exactly one decision."""
    data = event.data
    store = RegistrationStore(uow.db)
    registration = await store.get(data.registration_id, uow.session)
    if registration is None or registration.get("status") != "received":
        return  # erased, cancelled or decided already
    fills = await store.fills(data.preferences, uow.session)
    decision = decide_rolling(data.actor_group.value, data.preferences, fills)
    position = None
    explanation = decision.explanation
    if decision.status == DecisionStatus.accepted:
        if not await store.take_seat(fills[decision.workshop_id], data.actor_group.value, uow.session):
            raise RuntimeError("seat taken concurrently")  # retried: the next attempt sees the new count
    else:
        position = await store.join_waitlist(decision.workshop_id, uow.session)
        explanation = waitlist_explanation(fills[decision.workshop_id], data.actor_group.value, position)
    await store.set_decision(
        data.registration_id,
        {"status": decision.status.value, "workshop_id": decision.workshop_id, "waitlist_position": position,
         "reasons": decision.reasons, "explanation": explanation},
        uow.session,
    )
    uow.emit(
        "selection.decided",
        subject=data.registration_id,
        data=SelectionDecided(
            registration_id=data.registration_id, forum_id=data.forum_id, participant_id=data.participant_id,
            status=decision.status, workshop_id=decision.workshop_id, waitlist_position=position,
            actor_group=data.actor_group, municipality=data.municipality, first_choice=decision.first_choice,
            language=data.language, reasons=decision.reasons, explanation=explanation,
            decision_seq=registration.get("decision_seq", 0) + 1,
        ),
    )
    log.info("selection.decided", status=decision.status.value, workshop_id=decision.workshop_id)

