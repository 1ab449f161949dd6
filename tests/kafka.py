"""An outside Kafka client for tests (confluent-kafka, as ARCHITECTURE §8 recommends)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition


def read_topic(bootstrap: str, topic: str, *, until: Any = None, timeout: float = 30.0) -> list[Any]:
    """All messages on a topic from the beginning, read until `until(messages)` is true or timeout."""
    # Partitions are assigned by hand: no consumer-group join, which is slow on the embedded broker.
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4()}", "enable.auto.commit": False,
    })
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                messages.append(msg)
            if until is not None and until(messages):
                break
    finally:
        consumer.close()
    return messages


def events(messages: list[Any]) -> list[dict[str, Any]]:
    """Decoded JSON values of messages (skipping what is not JSON)."""
    out = []
    for m in messages:
        try:
            out.append(json.loads(m.value()))
        except (ValueError, TypeError):
            continue
    return out


def produce(bootstrap: str, topic: str, items: list[tuple[bytes | None, bytes]]) -> None:
    """Publish raw (key, value) pairs and wait for the broker's acknowledgement."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False})
    for key, value in items:
        producer.produce(topic, value=value, key=key)
    assert producer.flush(30) == 0
