"""Webhook deliveries for a poll of mixed event types, against the real store: each endpoint gets only its types."""

from __future__ import annotations

import uuid

from pymongo import AsyncMongoClient

from services.notify.webhooks import WebhookStore, queue_webhooks_many
from shared.events import make_event
from shared.events.participants import ParticipantErased, ParticipantErasureRequested
from shared.testing import off_bus_unit


async def test_one_read_for_a_mixed_poll_still_queues_each_event_only_for_the_endpoints_subscribed_to_it(stack):
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
    db = client[f"hooks{uuid.uuid4().hex[:8]}"]
    try:
        hooks = WebhookStore(db)
        only_erased = await hooks.register("https://a.example.org/hook", ["participant.erased"], None, "a")
        everything = await hooks.register("https://b.example.org/hook", ["*"], None, "b")
        events = [make_event("participant.erasure_requested", subject="p1", source="test",
                             data=ParticipantErasureRequested(participant_id="p1")),
                  make_event("participant.erased", subject="p1", source="test",
                             data=ParticipantErased(participant_id="p1", service="agenda"))]
        uow = off_bus_unit(client, db)
        await queue_webhooks_many(uow, events)
        queued = sorted([(d["hook_id"], d["event_type"]) async for d in db.webhook_deliveries.find()])
        assert queued == sorted([(everything["_id"], "participant.erasure_requested"),
                                 (everything["_id"], "participant.erased"),
                                 (only_erased["_id"], "participant.erased")])
    finally:
        await client.drop_database(db.name)
        await client.close()
