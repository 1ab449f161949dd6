"""In-process token buckets keyed by client address (per service instance)."""

from __future__ import annotations

import time
from collections import OrderedDict

from fastapi import HTTPException, Request, status


class RateLimiter:
    """Allow `burst` requests at once and `per_minute` on average for each key."""

    def __init__(self, *, per_minute: float, burst: int, max_keys: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_keys = max_keys
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        """Take one token for `key`; False when the bucket is empty."""
        now = time.monotonic() if now is None else now
        tokens, last = self.buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self.buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self.buckets) > self.max_keys:
            self.buckets.popitem(last=False)
        return allowed

    def exhausted(self, key: str, now: float | None = None) -> bool:
        """Is the bucket empty (without taking a token)?"""
        now = time.monotonic() if now is None else now
        tokens, last = self.buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - last) * self.rate) < 1.0

    def check(self, request: Request) -> None:
        """Raise 429 when the caller's address has used up its budget."""
        key = request.client.host if request.client else "unknown"
        if not self.allow(key):
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "Zu viele Anfragen. Bitte versuchen Sie es später erneut.",
                                {"Retry-After": "60"})
