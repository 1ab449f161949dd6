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
from shared.store import AlreadyProcessed, UnitOfWork

log = structlog.get_logger()

Handler = Callable[[CloudEvent[Any], UnitOfWork], Awaitable[None]]
UnitOfWorkFactory = Callable[..., UnitOfWork]
INFRASTRUCTURE_ERRORS = (ConnectionFailure, ServerSelectionTimeoutError, KafkaConnectionError)


class EventConsumer:
    """Registers handlers by event type and wires one subscriber per topic."""

    def __init__(self) -> None:
        self.settings = ServiceSettings()
        self.handlers: dict[str, Handler] = {}
        self.uow_factory: UnitOfWorkFactory | None = None
        self.broker: KafkaBroker | None = None

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        """Decorator: handle events of this type."""
        if event_type not in CATALOGUE:
            raise KeyError(f"{event_type} is not in the event catalogue")

        def register(fn: Handler) -> Handler:
            self.handlers[event_type] = fn
            return fn

        return register

    @property
    def topics(self) -> list[str]:
        """Topics that carry at least one handled event type."""
        return sorted({CATALOGUE[t].topic for t in self.handlers})

    def attach(self, broker: KafkaBroker, uow_factory: UnitOfWorkFactory, settings: ServiceSettings) -> None:
        """Create the subscribers on the broker (before it starts)."""
        self.broker, self.uow_factory, self.settings = broker, uow_factory, settings
        for topic in self.topics:
            handled = sorted(t for t in self.handlers if CATALOGUE[t].topic == topic)
            subscriber = broker.subscriber(
                topic,
                group_id=f"{self.settings.service_name}.{topic}",
                auto_offset_reset="earliest",
                fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
                ack_policy=AckPolicy.NACK_ON_ERROR,
                title=f"{self.settings.service_name}:{topic}",
                description="Handles " + ", ".join(handled),
            )
            subscriber(self._receive)

    async def _receive(self, message: KafkaMessage) -> None:
        record = message.raw_message
        await self.process(
            message.body, topic=record.topic, partition=record.partition, offset=record.offset,
            key=record.key.decode(errors="replace") if record.key else None,
        )

    async def process(self, raw: bytes, *, topic: str, partition: int, offset: int, key: str | None) -> str:
        """Handle one message; returns the outcome (for metrics and tests)."""
        service = self.settings.service_name
        try:
            event = decode(raw)
        except InvalidEvent as exc:
            await self.dead_letter(raw, topic, partition, offset, key, str(exc))
            return "dead_lettered"
        handler = self.handlers.get(event.type)
        if handler is None:
            return "ignored"
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
