"""Idempotent event consumption with bounded retries and dead letters.

Each subscribed topic gets one FastStream subscriber that receives the raw message,
decodes the envelope itself (so that a bad message can be dead-lettered instead of
failing inside the framework), skips what this service has processed already, and
runs the registered handler inside a unit of work. Infrastructure failures (store or
bus unreachable) are not the message's fault: the message is not acknowledged and
comes again. Anything else is retried a few times and then dead-lettered, and the
partition moves on.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pymongo.errors import ConnectionFailure, ServerSelectionTimeoutError
from aiokafka.errors import KafkaConnectionError

from shared import metrics, topics
from shared.events import CATALOGUE, CloudEvent, InvalidEvent, decode, utcnow
from shared.events.deadletter import DeadLetter
from shared.settings import ServiceSettings
from shared.store import AlreadyProcessed, UnitOfWork, run_together

log = structlog.get_logger()

Handler = Callable[[CloudEvent[Any], UnitOfWork], Awaitable[None]]
TombstoneHandler = Callable[[str, UnitOfWork], Awaitable[None]]
Batch = list[tuple[CloudEvent[Any], UnitOfWork]]
BatchHandler = Callable[[Batch], Awaitable[None]]
UnitOfWorkFactory = Callable[..., UnitOfWork]
INFRASTRUCTURE_ERRORS = (ConnectionFailure, ServerSelectionTimeoutError, KafkaConnectionError)


class EventConsumer:
    """Registers handlers by event type and wires one subscriber per topic."""

    def __init__(self) -> None:
        self.settings = ServiceSettings()
        self.handlers: dict[str, Handler] = {}
        self.batch_handlers: dict[str, BatchHandler] = {}
        self.mixed: set[str] = set()  # types whose batch handler takes its types mixed in one batch
        self.tombstone_handlers: dict[str, TombstoneHandler] = {}
        self.uow_factory: UnitOfWorkFactory | None = None
        self.broker: KafkaBroker | None = None
        self.client: Any = None
        self.outbox: Any = None
        # Called after each poll that brought new events, once its work is committed (or settled one by one):
        # e.g. notify wakes its senders so a mail queued by the poll goes out now, not at their next poll.
        self.after_batch: list[Callable[[], None]] = []

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        """Decorator: handle events of this type."""
        if event_type not in CATALOGUE:
            raise KeyError(f"{event_type} is not in the event catalogue")

        def register(fn: Handler) -> Handler:
            self.handlers[event_type] = fn
            self.batch_handlers.pop(event_type, None)  # the last registration wins, batch or not
            self.mixed.discard(event_type)
            return fn

        return register

    def on_batch(self, event_type: str, *, mixed: bool = False) -> Callable[[BatchHandler], BatchHandler]:
        """Decorator: handle consecutive events of this type together (bulk reads and writes).

        The handler gets `(event, uow)` pairs in offset order; all units share one session,
        and each event still emits through its own unit (deterministic ids, own outbox
        record). On the careful path it is called with one pair at a time.

        `mixed`: the handler also takes the other types it is registered for with `mixed` in
        the same call, so a poll that brings several topics (each partition's events in offset
        order) reaches it as one batch, not as one call per run of a type.
        """
        def register(fn: BatchHandler) -> BatchHandler:
            self.on(event_type)(_single(fn))
            self.batch_handlers[event_type] = fn
            if mixed:
                self.mixed.add(event_type)
            return fn

        return register

    def on_tombstone(self, topic: str) -> Callable[[TombstoneHandler], TombstoneHandler]:
        """Decorator: handle tombstones (null values, by key) of a compacted topic."""
        def register(fn: TombstoneHandler) -> TombstoneHandler:
            self.tombstone_handlers[topic] = fn
            return fn

        return register

    @property
    def topics(self) -> list[str]:
        """Topics that carry at least one handled event type."""
        return sorted({CATALOGUE[t].topic for t in self.handlers})

    def attach(self, broker: KafkaBroker, uow_factory: UnitOfWorkFactory, settings: ServiceSettings) -> None:
        """Create the subscriber on the broker (before it starts): one consumer-group member for all topics.

        One member per service instance (not one per topic) keeps the polls few: on the
        embedded broker an empty poll costs CPU every `fetch_max_wait_ms`, per member.
        """
        self.broker, self.uow_factory, self.settings = broker, uow_factory, settings
        if not self.topics:
            return
        subscriber = broker.subscriber(
            *self.topics,
            group_id=self.settings.kafka_group_id or self.settings.service_name,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
            batch=True,
            max_records=self.settings.kafka_max_batch_records,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=f"{self.settings.service_name}:consume",
            description="Handles " + ", ".join(sorted(self.handlers)),
        )
        subscriber(self._receive_batch)

    async def _receive_batch(self, message: KafkaMessage) -> None:
        await self.process_batch(list(message.raw_message))

    async def process_batch(self, records: list[Any]) -> None:
        """Handle a polled batch: all new events in one transaction; on any failure, one by one.

        Records come in offset order per partition, so per-key order holds. Within a batch an
        event id seen twice is handled once.
        """
        pending: list[tuple[CloudEvent[Any], Handler, Any]] = []
        ids: set[str] = set()
        for record in records:
            if record.value is None:  # a tombstone of a compacted topic: not an event, never a dead letter
                await self._tombstone(record)
                continue
            try:
                event = decode(record.value or b"")
            except InvalidEvent as exc:
                await self.dead_letter(record.value or b"", record.topic, record.partition, record.offset,
                                       _key(record), str(exc))
                continue
            handler = self.handlers.get(event.type)
            if handler is None or event.id in ids:
                continue
            ids.add(event.id)
            pending.append((event, handler, record))
        if not pending:
            return
        assert self.outbox is not None
        seen = await self.outbox.seen_many([f"event:{e.id}" for e, _, _ in pending])
        if seen:
            await self.outbox.republish(list(seen.values()))
        todo = [(e, h, r) for e, h, r in pending if f"event:{e.id}" not in seen]
        if todo:
            metrics.CONSUMER_BATCH_EVENTS.labels(self.settings.service_name).observe(len(todo))
        if not (len(todo) > 1 and await self._together(todo)):
            for event, handler, record in todo:
                await self._one(event, handler, record.value or b"", record.topic, record.partition, record.offset,
                                _key(record))
        if todo:
            for hook in self.after_batch:
                hook()

    async def _tombstone(self, record: Any) -> None:
        """Run the topic's tombstone handler once per record (idempotent by topic, partition and offset)."""
        handler = self.tombstone_handlers.get(record.topic)
        if handler is None or not record.key or self.uow_factory is None:
            return
        key = record.key.decode(errors="replace")
        uow = self.uow_factory(cause=f"tombstone:{record.topic}:{record.partition}:{record.offset}:{key}")
        try:
            await uow.run(lambda u: handler(key, u))
        except AlreadyProcessed:
            pass

    async def _together(self, todo: list[tuple[CloudEvent[Any], Handler, Any]]) -> bool:
        """Try the whole batch in one transaction; False when it has to be handled one by one."""
        assert self.uow_factory is not None and self.client is not None and self.outbox is not None
        units = [self.uow_factory(cause=f"event:{event.id}", correlation_id=event.correlationid) for event, _, _ in todo]
        runs = _runs([event for event, _, _ in todo], units, self._run_key)

        async def work() -> None:
            for _, batch in runs:
                event_type = batch[0][0].type
                handler = self.batch_handlers.get(event_type)
                if handler is not None:
                    await handler(batch)
                    continue
                for event, uow in batch:
                    await _bind(self.handlers[event_type], event)(uow)

        try:
            with metrics.HANDLER_SECONDS.labels(self.settings.service_name, "batch").time():
                await run_together(self.client, self.outbox, units, work)
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - one event's failure sends the batch down the careful path
            log.info("batch.fallback", size=len(todo), error=type(exc).__name__)
            return False
        for event, _, _ in todo:
            metrics.EVENTS_CONSUMED.labels(self.settings.service_name, event.type, "handled").inc()
        return True

    def _run_key(self, event: CloudEvent[Any]) -> Any:
        """What groups consecutive events into one handler call: the type, or the handler when it takes types mixed."""
        if event.type in self.mixed:
            return ("mixed", id(self.batch_handlers[event.type]))
        return ("type", event.type)

    async def process(self, raw: bytes, *, topic: str, partition: int, offset: int, key: str | None) -> str:
        """Handle one message; returns the outcome (for metrics and tests)."""
        try:
            event = decode(raw)
        except InvalidEvent as exc:
            await self.dead_letter(raw, topic, partition, offset, key, str(exc))
            return "dead_lettered"
        handler = self.handlers.get(event.type)
        if handler is None:
            return "ignored"
        return await self._one(event, handler, raw, topic, partition, offset, key)

    async def _one(self, event: CloudEvent[Any], handler: Handler, raw: bytes, topic: str, partition: int,
                   offset: int, key: str | None) -> str:
        """One event on its own: retries, then a dead letter."""
        service = self.settings.service_name
        structlog.contextvars.bind_contextvars(event_id=event.id, correlation_id=event.correlationid)
        try:
            outcome = await self._handle_with_retries(handler, event)
        except _GiveUp as exc:
            await self.dead_letter(raw, topic, partition, offset, key, str(exc), event=event)
            outcome = "dead_lettered"
        finally:
            structlog.contextvars.unbind_contextvars("event_id", "correlation_id")
        metrics.EVENTS_CONSUMED.labels(service, event.type, outcome).inc()
        return outcome

    async def _handle_with_retries(self, handler: Handler, event: CloudEvent[Any]) -> str:
        assert self.uow_factory is not None
        attempts = self.settings.handler_max_attempts
        for attempt in range(1, attempts + 1):
            uow = self.uow_factory(cause=f"event:{event.id}", correlation_id=event.correlationid)
            try:
                with metrics.HANDLER_SECONDS.labels(self.settings.service_name, event.type).time():
                    await uow.run(lambda u: handler(event, u))
                log.debug("event.handled", type=event.type)
                return "handled"
            except AlreadyProcessed:
                return "duplicate"
            except INFRASTRUCTURE_ERRORS:
                raise  # not the message's fault: no ack, it comes again
            except Exception as exc:  # noqa: BLE001 - any handler error is retried, then dead-lettered
                log.warning("event.failed", type=event.type, attempt=attempt, error=type(exc).__name__)
                if attempt == attempts:
                    raise _GiveUp(f"{type(exc).__name__}: {exc}") from exc
                await asyncio.sleep(self.settings.handler_retry_backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def dead_letter(
        self, raw: bytes, topic: str, partition: int, offset: int, key: str | None, error: str,
        event: CloudEvent[Any] | None = None,
    ) -> None:
        """Publish the message with its origin and error to `forum.deadletter`."""
        assert self.broker is not None
        letter = DeadLetter(
            original_value_b64=base64.b64encode(raw).decode(),
            original_key=key,
            topic=topic,
            partition=partition,
            offset=offset,
            error=error[:2000],
            service=self.settings.service_name,
            event_id=event.id if event else None,
            event_type=event.type if event else None,
            failed_at=utcnow(),
        )
        await self.broker.publish(
            letter.model_dump_json().encode(), topics.DEADLETTER, key=(key or "").encode() or None,
            headers={"content-type": "application/json"},
        )
        metrics.DEAD_LETTERS.labels(self.settings.service_name, topic).inc()
        log.error("event.dead_lettered", topic=topic, partition=partition, offset=offset, error=error[:300])


class _GiveUp(Exception):
    pass


def _key(record: Any) -> str | None:
    return record.key.decode(errors="replace") if record.key else None


def _runs(events: list[CloudEvent[Any]], units: list[UnitOfWork],
          key: Callable[[CloudEvent[Any]], Any]) -> list[tuple[Any, Batch]]:
    """Consecutive events with the same key, in order: each run goes to its handler as one batch."""
    runs: list[tuple[Any, Batch]] = []
    for event, uow in zip(events, units, strict=True):
        k = key(event)
        if runs and runs[-1][0] == k:
            runs[-1][1].append((event, uow))
        else:
            runs.append((k, [(event, uow)]))
    return runs


def _single(fn: BatchHandler) -> Handler:
    async def handle(event: CloudEvent[Any], uow: UnitOfWork) -> None:
        await fn([(event, uow)])

    return handle


def _bind(handler: Handler, event: CloudEvent[Any]) -> Callable[[UnitOfWork], Awaitable[None]]:
    async def work(uow: UnitOfWork) -> None:
        structlog.contextvars.bind_contextvars(event_id=event.id, correlation_id=event.correlationid)
        try:
            await handler(event, uow)
        finally:
            structlog.contextvars.unbind_contextvars("event_id", "correlation_id")

    return work
