"""The sender's rate limit, and how its workers wait for work."""

from __future__ import annotations

import asyncio
import time

from services.notify.due import drain_forever
from services.notify.sender import TokenBucket


async def test_the_token_bucket_lets_a_burst_through_then_holds_the_rate():
    bucket = TokenBucket(rate=50, burst=5)
    start = time.monotonic()
    for _ in range(5):
        await bucket.take()
    assert time.monotonic() - start < 0.05
    for _ in range(10):
        await bucket.take()
    assert 0.18 <= time.monotonic() - start < 0.6  # 10 more at 50/s


async def test_a_wake_sends_what_was_queued_at_once_and_none_is_lost_between_a_drain_and_its_wait():
    wake, due, sent, looks = asyncio.Event(), ["first"], [], []

    async def send_one() -> bool:
        if due:
            sent.append(due.pop(0))
            return True
        looks.append(len(sent))
        if len(looks) == 2:  # a commit lands after this empty look, before the worker waits
            due.append("raced")
            wake.set()
        return False

    worker = asyncio.create_task(drain_forever(send_one, 60, "test.loop_error", wake))
    try:
        await asyncio.sleep(0.05)
        assert sent == ["first"]
        due.append("queued")
        wake.set()
        await asyncio.sleep(0.05)
        assert sent == ["first", "queued", "raced"]  # at once, not after the 60 s poll
    finally:
        worker.cancel()


async def test_without_a_wake_the_worker_waits_for_its_poll():
    due, sent = ["first"], []

    async def send_one() -> bool:
        if due:
            sent.append(due.pop(0))
            return True
        return False

    worker = asyncio.create_task(drain_forever(send_one, 0.3, "test.loop_error"))
    try:
        await asyncio.sleep(0.05)
        due.append("later")
        await asyncio.sleep(0.1)
        assert sent == ["first"]
        await asyncio.sleep(0.35)
        assert sent == ["first", "later"]
    finally:
        worker.cancel()
