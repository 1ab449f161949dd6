"""Bus subscribers of the registration service: rolling selection and cancellations."""

from __future__ import annotations

import structlog

from shared.consumer import Batch, EventConsumer
from shared.events import CloudEvent
from shared.events.registrations import RegistrationCancelled
from shared.events.selection import DecisionStatus
from shared.store import UnitOfWork

from . import invitations, rolling, seats
from .store import RegistrationStore

consumer = EventConsumer()
log = structlog.get_logger()


@consumer.on_batch("registration.submitted")
async def decide_on_submissions(batch: Batch) -> None:
    """Rolling mode: each submission gets exactly one decision (batch mode waits for the staff's run)."""
    await rolling.decide_batch(batch)
    log.info("selection.batch_decided", size=len(batch))


@consumer.on("registration.cancelled")
async def release_on_cancellation(event: CloudEvent[RegistrationCancelled], uow: UnitOfWork) -> None:
    """A cancellation frees the seat, moves the next suitable person up and records the cancelled decision."""
    store = RegistrationStore(uow.db)
    registration = await store.get(event.data.registration_id, uow.session)
    if registration is None or not registration.get("cancel_pending"):
        return
    await invitations.release_reserved(uow, registration)
    await seats.leave(uow, registration)
    await uow.db.registrations.update_one({"_id": registration["_id"]}, {"$set": {"cancel_pending": False}}, session=uow.session)
    await seats.record(uow, registration, status=DecisionStatus.cancelled, workshop_id=None, reasons=["cancelled"],
                       explanation="Sie haben Ihre Anmeldung storniert.", extra={"status": "cancelled", "waitlist_position": None})
