"""`GET /api/v1/fora/{forum_id}/console/stream`: the selection console's live feed (Server-Sent Events).

Each registration process follows `forum.registrations` and `forum.selection` with one
`shared.live.TopicHub` (no consumer group, from the end). A browser gets only ids, statuses and
counts, never names or contact data: the console re-fetches its figures through the staff JSON
API, which is behind the same log-in. Ids are "topic:partition:offset", so a reconnect with
Last-Event-ID gets what it missed.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import StreamingResponse

from shared import live, topics
from shared.auth import StaffMember, require_role
from shared.live import TopicHub

from .store import RegistrationStore

router = APIRouter(prefix="/api/v1", tags=["selection (staff)"])
CONSOLE_TYPES = {"registration.submitted", "registration.cancelled", "selection.decided", "selection.overridden",
                 "selection.finalized"}
# What a console item may carry: ids, codes and counts. A list of what is kept, so a new personal
# field in an event can never reach the browser by accident.
KEPT = ("registration_id", "workshop_id", "previous_workshop_id", "status", "previous_status", "waitlist_position",
        "decision_seq", "action", "preferences", "accepted")


def console_item(topic: str, partition: int, offset: int, value: bytes | None) -> dict[str, Any] | None:
    """A console item from a message (None for events the console does not show, and for what is not an event)."""
    try:
        event = json.loads(value or b"")
        data = event.get("data") or {}
        kind = event.get("type")
    except (ValueError, AttributeError):
        return None
    if kind not in CONSOLE_TYPES or not isinstance(data, dict) or not data.get("forum_id"):
        return None
    return {"id": f"{topic}:{partition}:{offset}", "type": kind, "forum_id": data["forum_id"],
            **{k: data[k] for k in KEPT if data.get(k) is not None}}


def sse(item: dict[str, Any]) -> str:
    """An item as one Server-Sent Event, named by its event type."""
    return f"id: {item['id']}\nevent: {item['type']}\ndata: {json.dumps(item, default=str)}\n\n"


async def start_hub(runtime: Any) -> None:
    """Follow the registration and selection topics for the consoles of this process."""
    hub = TopicHub(runtime.settings.kafka_bootstrap_servers, (topics.REGISTRATIONS, topics.SELECTION), console_item,
                   buffer=2000, name="console")
    runtime.console_hub = await live.start_hub(runtime, hub)


@router.get("/fora/{forum_id}/console/stream", response_class=StreamingResponse,
            summary="Staff: live changes of a forum's selection as Server-Sent Events (ids and counts only)",
            responses={200: {"content": {"text/event-stream": {}}}})
async def console_stream(request: Request, forum_id: str,
                         last_event_id: str | None = Header(None, alias="Last-Event-ID", max_length=200),
                         _staff: StaffMember = Depends(require_role("selection"))) -> StreamingResponse:
    if await RegistrationStore(request.app.state.runtime.db).get_forum(forum_id) is None:
        raise HTTPException(404, "Veranstaltung nicht gefunden.")
    hub: TopicHub = request.app.state.runtime.console_hub
    return live.event_stream(request, hub, last_event_id, lambda item: sse(item) if item["forum_id"] == forum_id else None)
