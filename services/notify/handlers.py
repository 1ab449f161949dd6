"""Bus subscribers of the notify service: decide which mail an event causes."""

from __future__ import annotations

from typing import Any

from shared.consumer import EventConsumer
from shared.events import CloudEvent, utcnow
from shared.events.catalogue import ForumConfigured
from shared.events.registrations import RegistrationSubmitted
from shared.projections import project_forum
from shared.store import UnitOfWork

from .domain import delivery_id
from .store import NotifyStore

consumer = EventConsumer()


@consumer.on("forum.configured")
async def on_forum(event: CloudEvent[ForumConfigured], uow: UnitOfWork) -> None:
    await project_forum(uow.db, event.data, uow.session)


@consumer.on("registration.submitted")
async def acknowledge_registration(event: CloudEvent[RegistrationSubmitted], uow: UnitOfWork) -> None:
    """Remember how to reach the person, and queue the acknowledgement."""
    d = event.data
    store = NotifyStore(uow.db)
    await store.save_recipient(
        d.participant_id,
        {"email": d.email, "first_name": d.first_name, "last_name": d.last_name, "language": d.language.value},
        uow.session,
    )
    forum = await uow.db.catalogue_fora.find_one({"_id": d.forum_id}, session=uow.session) or {}
    await queue(uow, event, d.participant_id, "acknowledgement", d.forum_id, d.email, d.language.value,
                {"first_name": d.first_name, "last_name": d.last_name, "forum_title": forum.get("title", d.forum_id)})


async def queue(uow: UnitOfWork, event: CloudEvent[Any], recipient_id: str, template: str, forum_id: str,
                to: str, language: str, context: dict[str, Any]) -> None:
    """Add a pending delivery (once per event, recipient and template)."""
    now = utcnow()
    await NotifyStore(uow.db).add_delivery(
        {"_id": delivery_id(event.id, recipient_id, template), "cause_event_id": event.id, "recipient_id": recipient_id,
         "template": template, "forum_id": forum_id, "to": to, "language": language, "context": context,
         "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now},
        uow.session,
    )
