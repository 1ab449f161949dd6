"""`GET /api/v1/stream`: Server-Sent Events of the topics for the live dashboard.

Each results process runs one plain consumer (no group, partitions assigned by hand, starting
at the end) and fans its messages out to the connected browsers. Event ids are
"topic:partition:offset"; a browser that reconnects with Last-Event-ID gets what it missed
from a ring buffer of recent events (or a `stream.reset` telling it to reload its figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from shared import keyring, pii, topics
from shared.auth import StaffMember, require_staff
from shared.runtime import ServiceRuntime

log = structlog.get_logger()
router = APIRouter(prefix="/api/v1", tags=["stream"])
STREAMED_TOPICS = (topics.CATALOGUE, topics.REGISTRATIONS, topics.SELECTION, topics.AGENDA, topics.RESULTS, topics.NOTIFICATIONS)
# Never on a dashboard: contact details and free text about people.
ALWAYS_STRIPPED = {"email", "contact", "motivation", "context", "error"}
# Shown to admins only (they manage registrations anyway); others see pseudonymous figures.
ADMIN_ONLY = {"first_name", "last_name", "organisation", "role", "participant_id", "recipient_id", "voter_id", "captured_by",
              "explanation", "invitation_id"}


class StreamHub:
    """One consumer per process, many listeners."""

    def __init__(self, bootstrap: str, buffer: int = 5000) -> None:
        self.bootstrap = bootstrap
        self.listeners: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self.recent: deque[dict[str, Any]] = deque(maxlen=buffer)
        self.ready = asyncio.Event()
        # Keys seen live on `forum.keys` (a registration reaches the stream before the consumer has stored its
        # key); bounded, and a tombstone drops its key at once. Older keys come from the service's store.
        self.keys: OrderedDict[str, str] = OrderedDict()
        self.keys_limit = buffer

    def subscribe(self, last_id: str | None) -> tuple[asyncio.Queue[dict[str, Any] | None], list[dict[str, Any]] | None]:
        """A queue for live events, and what came after `last_id` (None: that id is no longer held)."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=1000)
        self.listeners.add(queue)
        if not last_id:
            return queue, []
        ids = [item["id"] for item in self.recent]
        if last_id not in ids:
            return queue, None
        return queue, list(self.recent)[ids.index(last_id) + 1:]

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self.listeners.discard(queue)

    def publish(self, item: dict[str, Any]) -> None:
        self.recent.append(item)
        for queue in list(self.listeners):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:  # a stalled browser: drop it; it reconnects with Last-Event-ID
                self.listeners.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)

    async def run(self) -> None:
        """Follow every topic from its end for the life of the process."""
        while True:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
            try:
                await consumer.start()
                existing = await consumer.topics()
                parts = [TopicPartition(t, p) for t in (*STREAMED_TOPICS, topics.KEYS) if t in existing
                         for p in sorted(consumer.partitions_for_topic(t) or ())]
                consumer.assign(parts)
                await consumer.seek_to_end(*parts)
                for tp in parts:
                    await consumer.position(tp)  # resolve the end now, so nothing published after start is skipped
                # The embedded broker's end offsets can lie behind the real end (it counts batches): what was
                # written before this moment is history, not news, so it is recognised by its timestamp.
                since_ms = int(time.time() * 1000) - 1000
                self.ready.set()
                while True:
                    batch = await consumer.getmany(timeout_ms=500, max_records=500)
                    for tp, records in batch.items():  # keys first: they open the names of this same batch
                        if tp.topic == topics.KEYS:
                            self.follow_keys(records)
                    for tp, records in batch.items():
                        if tp.topic == topics.KEYS:
                            continue
                        for record in records:
                            if record.timestamp < since_ms:
                                continue
                            item = to_item(tp.topic, tp.partition, record.offset, record.value)
                            if item is not None:
                                self.publish(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the dashboard feed must outlive broker hiccups
                log.warning("stream.consumer_failed", error=type(exc).__name__)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    def follow_keys(self, records: list[Any]) -> None:
        """Remember keys issued live; forget one at its tombstone."""
        for record in records:
            owner = (record.key or b"").decode(errors="replace")
            if record.value is None:
                self.keys.pop(owner, None)
                continue
            with contextlib.suppress(ValueError, AttributeError, TypeError, KeyError):
                data = json.loads(record.value)["data"]
                self.keys[data["participant_id"]] = data["key"]
                while len(self.keys) > self.keys_limit:
                    self.keys.popitem(last=False)


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


async def opened(db: Any, hub: StreamHub, item: dict[str, Any]) -> dict[str, Any]:
    """A copy of the item with its sealed names opened with the keys this service holds (for admins)."""
    data = item["data"]
    owner = str(data.get("participant_id") or data.get("invitation_id") or "")
    if not owner or not any(pii.is_sealed(v) for v in data.values()):
        return item
    keys = {owner: hub.keys[owner]} if owner in hub.keys else await keyring.keys_for(db, [owner])
    return {**item, "data": {f: pii.open_or(keys, owner, f, v) if pii.is_sealed(v) else v for f, v in data.items()}}


def sse(item: dict[str, Any], *, personal: bool) -> str:
    return f"id: {item['id']}\nevent: {item['type']}\ndata: {json.dumps(redact(item, personal=personal), default=str)}\n\n"


async def start_hub(runtime: ServiceRuntime) -> None:
    """Start the process's stream consumer (a background task of the runtime)."""
    hub = StreamHub(runtime.settings.kafka_bootstrap_servers)
    runtime.stream_hub = hub  # type: ignore[attr-defined]
    runtime.spawn(hub.run(), name="stream-hub")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(hub.ready.wait(), timeout=10)


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
    hub: StreamHub = request.app.state.runtime.stream_hub
    db = request.app.state.runtime.db
    types = [t.strip() for t in (type or "").split(",") if t.strip()]
    show_personal = personal and staff.role == "admin"
    queue, backlog = hub.subscribe(last_event_id or request.query_params.get("last_event_id"))

    async def body() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n: verbunden\n\n"
            if backlog is None:
                yield "event: stream.reset\ndata: {}\n\n"
            for item in backlog or []:
                if matches(item, forum, workshop, types):
                    yield sse(await opened(db, hub, item) if show_personal else item, personal=show_personal)
            while not await request.is_disconnected():
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=5)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if item is None:
                    return
                if matches(item, forum, workshop, types):
                    yield sse(await opened(db, hub, item) if show_personal else item, personal=show_personal)
        finally:
            hub.unsubscribe(queue)

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
