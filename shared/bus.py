"""Kafka wiring: broker factory, topic creation, publishing envelopes."""

from __future__ import annotations

import logging
import asyncio

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker

from shared import topics
from shared.settings import ServiceSettings

log = structlog.get_logger()


def _framework_logger() -> logging.Logger:
    """FastStream's own errors (a failing consume loop) must reach the service log; its chatter must not."""
    logger = logging.getLogger("themenforum.faststream")
    logger.setLevel(logging.WARNING)
    return logger


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    """A FastStream broker for this service; it connects when the app starts."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        enable_idempotence=settings.kafka_enable_idempotence,
        acks="all",
        max_request_size=settings.kafka_max_request_size,
        logger=_framework_logger(),
        log_level=logging.DEBUG,  # per-message lines; the logger passes warnings and errors only
    )


async def ensure_topics(settings: ServiceSettings, names: tuple[str, ...] = topics.ALL) -> None:
    """Create the topics with the configured partitions if they do not exist yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, settings.kafka_topic_partitions, settings.kafka_replication_factor,
                     topic_configs=topics.CONFIGS.get(name, {}))
            for name in names
            if name not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another service created it at the same moment
            log.info("topics.created", topics=[t.name for t in missing])
    finally:
        await admin.close()


class EventPublisher:
    """Publishes encoded envelopes with the aggregate id as key (per-key order)."""

    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker

    async def __call__(self, topic: str, key: str, value: bytes, headers: dict[str, str]) -> None:
        await self.broker.publish(
            value,
            topic,
            key=key.encode(),
            headers={"content-type": "application/cloudevents+json", **headers},
        )

    async def send_many(self, messages: list[tuple[str, str, bytes, dict[str, str]]]) -> None:
        """Hand many messages to the producer in order, then wait for all acknowledgements.

        The producer batches them per partition; their order per key is the order given.
        """
        futures = [
            await self.broker.publish(
                value, topic, key=key.encode(), headers={"content-type": "application/cloudevents+json", **headers},
                no_confirm=True,
            )
            for topic, key, value, headers in messages
        ]
        await asyncio.gather(*futures)


async def wait_for(check, *, timeout: float, interval: float = 0.2) -> None:  # type: ignore[no-untyped-def]
    """Retry an async check until it succeeds or the timeout passes."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await check()
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(interval)
