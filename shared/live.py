"""Live feeds of Kafka topics for browsers: one follower per process, Server-Sent Events per listener.

A `TopicHub` runs one plain consumer (no group, partitions assigned by hand, starting at the end)
and fans its items out to the connected listeners. Item ids are "topic:partition:offset"; a
listener that reconnects with Last-Event-ID gets what it missed from a ring buffer of recent
items (or a `stream.reset` telling it to reload its figures). Each service decides what an item
holds (`to_item`) and how a listener sees it (`render`), so personal data stays its decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import Request
from fastapi.responses import StreamingResponse

log = structlog.get_logger()
Item = dict[str, Any]
ToItem = Callable[[str, int, int, bytes | None], Item | None]
Listener = asyncio.Queue[Item | None]
SideHandler = Callable[[list[Any]], None]
Render = Callable[[Item], "str | None | Awaitable[str | None]"]


class TopicHub:
    """One consumer per process, many listeners."""

    def __init__(self, bootstrap: str, topics: Sequence[str], to_item: ToItem, *, buffer: int = 5000, name: str = "stream",
                 side: Mapping[str, SideHandler] | None = None) -> None:
        self.bootstrap = bootstrap
        self.topics = tuple(topics)
        self.to_item = to_item
        # Topics followed for the hub's own use, never shown (e.g. `forum.keys`); their records of a fetch are
        # handed over before the items of the same fetch.
        self.side = dict(side or {})
        self.name = name
        self.listeners: set[Listener] = set()
        self.recent: deque[Item] = deque(maxlen=buffer)
        self.ready = asyncio.Event()
        # A long poll: the broker answers as soon as data comes, so this bounds only the empty polls (their CPU).
        self.fetch_max_wait_ms = 200

    def subscribe(self, last_id: str | None) -> tuple[Listener, list[Item] | None]:
        """A queue for live items, and what came after `last_id` (None: that id is no longer held)."""
        queue: Listener = asyncio.Queue(maxsize=1000)
        self.listeners.add(queue)
        if not last_id:
            return queue, []
        ids = [item["id"] for item in self.recent]
        if last_id not in ids:
            return queue, None
        return queue, list(self.recent)[ids.index(last_id) + 1:]

    def unsubscribe(self, queue: Listener) -> None:
        """Forget a listener (its connection closed)."""
        self.listeners.discard(queue)

    def publish(self, item: Item) -> None:
        """Keep an item for reconnects and hand it to every listener."""
        self.recent.append(item)
        for queue in list(self.listeners):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:  # a stalled browser: drop it; it reconnects with Last-Event-ID
                self.listeners.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)

    def take(self, batch: Mapping[TopicPartition, Sequence[Any]], since_ms: int) -> None:
        """Hand over one fetch: the side topics' records first, then the items in the order they were written.

        A fetch spans partitions and topics, and the consumer returns them grouped by partition. A
        decision fetched together with the registration it decides must not reach a listener before
        it, so the items are ordered by record timestamp (ties: the order of `topics`, then offset).
        """
        for tp, records in batch.items():
            if tp.topic in self.side:
                self.side[tp.topic](list(records))
        rank = {topic: n for n, topic in enumerate(self.topics)}
        written = sorted(((record.timestamp, rank.get(tp.topic, len(rank)), tp.partition, record.offset), tp, record)
                         for tp, records in batch.items() if tp.topic not in self.side
                         for record in records if record.timestamp >= since_ms)
        for _, tp, record in written:
            item = self.to_item(tp.topic, tp.partition, record.offset, record.value)
            if item is not None:
                self.publish(item)

    async def run(self) -> None:
        """Follow the topics from their end for the life of the process."""
        while True:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                        fetch_max_wait_ms=self.fetch_max_wait_ms)
            try:
                await consumer.start()
                existing = await consumer.topics()
                parts = [TopicPartition(t, p) for t in (*self.topics, *self.side) if t in existing
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
                    self.take(await consumer.getmany(timeout_ms=500, max_records=500), since_ms)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a live feed must outlive broker hiccups
                log.warning("stream.consumer_failed", hub=self.name, error=type(exc).__name__)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()


async def start_hub(runtime: Any, hub: TopicHub) -> TopicHub:
    """Run the hub as a background task of the service runtime; wait (briefly) until it follows its topics."""
    hub.fetch_max_wait_ms = runtime.settings.kafka_fetch_max_wait_ms
    runtime.spawn(hub.run(), name=f"{hub.name}-hub")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(hub.ready.wait(), timeout=10)
    return hub


def event_stream(request: Request, hub: TopicHub, last_event_id: str | None, render: Render, *,
                 keepalive_s: float = 5) -> StreamingResponse:
    """An SSE response: missed items after `last_event_id`, then live ones; `render` (may be async) gives an
    item's text or None to skip it."""
    queue, backlog = hub.subscribe(last_event_id)

    async def text_of(item: Item) -> str | None:
        text = render(item)
        return await text if inspect.isawaitable(text) else text  # type: ignore[return-value]

    async def body() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n: verbunden\n\n"
            if backlog is None:
                yield "event: stream.reset\ndata: {}\n\n"
            for item in backlog or []:
                if (text := await text_of(item)) is not None:
                    yield text
            while not await request.is_disconnected():
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=keepalive_s)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if item is None:
                    return
                if (text := await text_of(item)) is not None:
                    yield text
        finally:
            hub.unsubscribe(queue)

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
