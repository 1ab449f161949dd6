"""Outgoing mail is rate limited: several workers of a real sender against an SMTP server started by the test."""

from __future__ import annotations

import asyncio
import time

from tests.integration.test_notify_sender import queue_one, sender_with  # noqa: F401 - the fixture is used below


async def test_four_workers_send_no_faster_than_the_configured_rate(sender_with):  # noqa: F811
    sender, smtp = await sender_with([], mail_rate_per_s=4.0, mail_burst=1)
    deliveries = [await queue_one(sender) for _ in range(7)]
    arrivals: list[float] = []
    original = smtp.handle_DATA

    async def timed(*args):  # noqa: ANN002 - aiosmtpd's handler signature
        arrivals.append(time.monotonic())
        return await original(*args)

    smtp.handle_DATA = timed
    started = time.monotonic()

    async def worker() -> None:
        while await sender.send_one():
            pass

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(4))), 30)
    assert len(smtp.accepted) == 7
    # One mail at once, then one every 0.25 s: six intervals take at least 1.5 s (a little slack for timer rounding).
    assert arrivals[-1] - started >= 1.4, arrivals
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert min(gaps) > 0.15, gaps
    states = {d["status"] async for d in sender.runtime.db.deliveries.find({"_id": {"$in": [x["_id"] for x in deliveries]}})}
    assert states == {"sent"}
