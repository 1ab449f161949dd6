"""How a live hub hands over one fetch: side topics first, then items in the order they were written."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from shared.live import TopicHub


def record(topic, partition, offset, timestamp, value):
    return ConsumerRecord(topic, partition, offset, timestamp, 0, None, value.encode(), None, 0, len(value), ())


def test_a_fetch_is_handed_over_in_the_order_it_was_written_not_grouped_by_partition():
    seen: list[str] = []
    hub = TopicHub("unused", ("regs", "decisions"), lambda topic, partition, offset, value: {"id": value.decode()},
                   side={"keys": lambda records: seen.extend(f"side:{r.value.decode()}" for r in records)})
    listener, _ = hub.subscribe(None)
    original = hub.publish
    hub.publish = lambda item: (seen.append(item["id"]), original(item))  # type: ignore[method-assign]
    # The consumer groups a fetch by partition: here the decision's partition comes first.
    batch = {
        TopicPartition("decisions", 0): [record("decisions", 0, 4, 1_005, "decided-a"), record("decisions", 0, 5, 1_020, "decided-b")],
        TopicPartition("regs", 3): [record("regs", 3, 1, 990, "history"), record("regs", 3, 2, 1_000, "submitted-a"),
                                    record("regs", 3, 3, 1_010, "submitted-b")],
        TopicPartition("regs", 1): [record("regs", 1, 7, 1_005, "submitted-c")],  # same millisecond as decided-a
        TopicPartition("keys", 0): [record("keys", 0, 9, 1_030, "key-a")],
    }
    hub.take(batch, since_ms=995)
    assert seen == ["side:key-a", "submitted-a", "submitted-c", "decided-a", "submitted-b", "decided-b"]
    assert [listener.get_nowait()["id"] for _ in range(listener.qsize())] == seen[1:]
    assert [item["id"] for item in hub.recent] == seen[1:]
