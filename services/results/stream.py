"""`GET /api/v1/stream`: Server-Sent Events of the topics for the live dashboard.

Each results process follows every topic with one `shared.live.TopicHub` (no group, from the
end) and fans its messages out to the connected browsers. Event ids are "topic:partition:offset";
a browser that reconnects with Last-Event-ID gets what it missed from the hub's ring buffer (or a
`stream.reset` telling it to reload its figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from shared import keyring, live, pii, topics
from shared.auth import StaffMember, require_staff
from shared.live import TopicHub
from shared.runtime import ServiceRuntime

router = APIRouter(prefix="/api/v1", tags=["stream"])
STREAMED_TOPICS = (topics.CATALOGUE, topics.REGISTRATIONS, topics.SELECTION, topics.AGENDA, topics.RESULTS, topics.NOTIFICATIONS)
# Never on a dashboard: contact details and free text about people.
ALWAYS_STRIPPED = {"email", "contact", "motivation", "context", "error"}
# Shown to admins only (they manage registrations anyway); others see pseudonymous figures.
ADMIN_ONLY = {"first_name", "last_name", "organisation", "role", "participant_id", "recipient_id", "voter_id", "captured_by",
              "explanation", "invitation_id"}


class LiveKeys:
    """Keys seen live on `forum.keys`: a registration reaches the stream before the consumer has stored its key.

    Bounded; a tombstone drops its key at once. Older keys come from the service's store. The key and
    the registration travel on different topics, so the registration can come first: `wait_for` lets
    a listener wait a moment for the key instead of showing a name as erased that is not.
    """

    def __init__(self, limit: int = 5000) -> None:
        self.keys: OrderedDict[str, str] = OrderedDict()
        self.forgotten: OrderedDict[str, None] = OrderedDict()
        self.limit = limit
        self._arrived = asyncio.Event()

    async def wait_for(self, owner: str, timeout: float) -> str | None:
        """The owner's key once it arrives live (None after `timeout` or at its tombstone)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while owner not in self.keys and owner not in self.forgotten:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return None
            arrived = self._arrived
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), timeout=left)
        return self.keys.get(owner)

    def _forget(self, owner: str) -> None:
        self.keys.pop(owner, None)
        self.forgotten[owner] = None
        while len(self.forgotten) > self.limit:
            self.forgotten.popitem(last=False)

    def follow(self, records: list[Any]) -> None:
        """Remember keys issued live; forget one at its tombstone."""
        for record in records:
            owner = (record.key or b"").decode(errors="replace")
            if record.value is None:
                self._forget(owner)
                continue
            with contextlib.suppress(ValueError, AttributeError, TypeError, KeyError):
                data = json.loads(record.value)["data"]
                if data["participant_id"] not in self.forgotten:
                    self.keys[data["participant_id"]] = data["key"]
                while len(self.keys) > self.limit:
                    self.keys.popitem(last=False)
        if records:  # wake the listeners waiting for a key; the next waiters get a fresh event
            self._arrived.set()
            self._arrived = asyncio.Event()


def make_hub(bootstrap: str, buffer: int = 5000) -> TopicHub:
    """The results hub: every streamed topic, items as `to_item` makes them, and the keys to open names."""
    keys = LiveKeys(buffer)
    hub = TopicHub(bootstrap, STREAMED_TOPICS, to_item, buffer=buffer, name="stream", side={topics.KEYS: keys.follow})
    hub.keys = keys  # type: ignore[attr-defined]
    return hub


def to_item(topic: str, partition: int, offset: int, value: bytes | None) -> dict[str, Any] | None:
    """A stream item from a message (None for what is not an event)."""
    try:
        event = json.loads(value or b"")
        data = event.get("data") or {}
    except (ValueError, AttributeError):
        return None
    if not isinstance(data, dict) or "type" not in event:
        return None
    workshops = [data["workshop_id"]] if data.get("workshop_id") else list(data.get("preferences") or [])
    if not workshops and topic in (topics.AGENDA, topics.RESULTS):
        workshops = [event.get("subject")]
    return {"id": f"{topic}:{partition}:{offset}", "topic": topic, "type": event["type"], "time": event.get("time"),
            "subject": event.get("subject"), "forum_id": data.get("forum_id"), "workshops": workshops, "data": data}


def matches(item: dict[str, Any], forum: str | None, workshop: str | None, types: list[str]) -> bool:
    """Does an item pass the listener's filters (types may end in `.*`)?"""
    if forum and item["forum_id"] not in (forum, None):
        return False
    if workshop and workshop not in item["workshops"]:
        return False
    return not types or any(item["type"] == t or (t.endswith("*") and item["type"].startswith(t[:-1])) for t in types)


def redact(item: dict[str, Any], *, personal: bool) -> dict[str, Any]:
    """The item as a listener may see it: contact data never, names only when `personal`."""
    drop = ALWAYS_STRIPPED | (set() if personal else ADMIN_ONLY)
    # A value still sealed here (its key is erased or not there yet) is never shown as if it were a name.
    data = {k: pii.ERASED if pii.is_sealed(v) else v for k, v in item["data"].items() if k not in drop}
    return {**{k: v for k, v in item.items() if k != "data"}, "data": data}


async def opened(db: Any, keys: LiveKeys, item: dict[str, Any], key_wait_s: float = 2.0) -> dict[str, Any]:
    """A copy of the item with its sealed names opened with the keys this service holds (for admins).

    A key neither seen live nor stored, of an owner not erased, is on its way: wait for it briefly.
    """
    data = item["data"]
    owner = str(data.get("participant_id") or data.get("invitation_id") or "")
    if not owner or not any(pii.is_sealed(v) for v in data.values()):
        return item
    known = {owner: keys.keys[owner]} if owner in keys.keys else await keyring.keys_for(db, [owner])
    if owner not in known and owner not in keys.forgotten and not await keyring.erased(db, [owner]):
        if key := await keys.wait_for(owner, key_wait_s):
            known = {owner: key}
    return {**item, "data": {f: pii.open_or(known, owner, f, v) if pii.is_sealed(v) else v for f, v in data.items()}}


def sse(item: dict[str, Any], *, personal: bool) -> str:
    return f"id: {item['id']}\nevent: {item['type']}\ndata: {json.dumps(redact(item, personal=personal), default=str)}\n\n"


async def start_hub(runtime: ServiceRuntime) -> None:
    """Start the process's stream consumer (a background task of the runtime)."""
    runtime.stream_hub = await live.start_hub(runtime, make_hub(runtime.settings.kafka_bootstrap_servers))  # type: ignore[attr-defined]


@router.get("/stream", summary="Server-Sent Events of the topics (staff; filter by forum, workshop, event type)")
async def stream(
    request: Request,
    forum: str | None = Query(None, max_length=100),
    workshop: str | None = Query(None, max_length=100),
    type: str | None = Query(None, max_length=500, description="Comma-separated event types; `result.*` matches a family."),
    personal: bool = Query(True, description="Admins only: include names; false strips them (e.g. on a projector)."),
    last_event_id: str | None = Header(None, alias="Last-Event-ID", max_length=200),
    staff: StaffMember = Depends(require_staff),
) -> StreamingResponse:
    hub: TopicHub = request.app.state.runtime.stream_hub
    db = request.app.state.runtime.db
    types = [t.strip() for t in (type or "").split(",") if t.strip()]
    show_personal = personal and staff.role == "admin"

    async def render(item: dict[str, Any]) -> str | None:
        if not matches(item, forum, workshop, types):
            return None
        return sse(await opened(db, hub.keys, item) if show_personal else item, personal=show_personal)  # type: ignore[attr-defined]

    return live.event_stream(request, hub, last_event_id or request.query_params.get("last_event_id"), render)
