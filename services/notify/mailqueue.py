"""Queue mails in the delivery log, inside the handler's transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.events import utcnow
from shared.store import UnitOfWork

from .domain import delivery_id


@dataclass(frozen=True)
class Mail:
    """One message to queue: who, which template, about what."""

    cause_event_id: str
    recipient_id: str
    template: str
    forum_id: str | None
    workshop_id: str | None = None
    language: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    key: str | None = None  # what makes the mail unique when not the event id (e.g. the decision)


async def queue_mail(uow: UnitOfWork, mail: Mail) -> None:
    """Add one delivery (once per cause, recipient and template)."""
    await queue_mails(uow, [mail])


async def queue_mails(uow: UnitOfWork, mails: list[Mail]) -> None:
    """Add deliveries; those whose address is not known yet wait for the person's registration."""
    if not mails:
        return
    ids = list({m.recipient_id for m in mails})
    # Events about an erased person may still arrive (e.g. the cancellation the erasure caused): no mail, no data.
    erased = {r["_id"] async for r in uow.db.erased_participants.find({"_id": {"$in": ids}}, session=uow.session)}
    mails = [m for m in mails if m.recipient_id not in erased]
    if not mails:
        return
    known = {r["_id"]: r async for r in uow.db.recipients.find({"_id": {"$in": ids}}, session=uow.session)}
    now = utcnow()
    docs = []
    for m in mails:
        person = known.get(m.recipient_id)
        docs.append({
            "_id": delivery_id(m.key or m.cause_event_id, m.recipient_id, m.template), "cause_event_id": m.cause_event_id,
            "recipient_id": m.recipient_id, "template": m.template, "forum_id": m.forum_id, "workshop_id": m.workshop_id,
            "to": person["email"] if person else None,
            "language": m.language or (person or {}).get("language"), "context": m.context,
            "status": "pending" if person else "waiting", "attempts": 0, "created_at": now, "next_attempt_at": now,
        })
    existing = {d["_id"] async for d in uow.db.deliveries.find({"_id": {"$in": [d["_id"] for d in docs]}}, {"_id": 1},
                                                               session=uow.session)}
    fresh = [d for d in docs if d["_id"] not in existing]
    if fresh:
        await uow.db.deliveries.insert_many(fresh, session=uow.session)
