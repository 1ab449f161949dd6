"""The sender's rate limit."""

from __future__ import annotations

import time

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
