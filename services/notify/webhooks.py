"""Outgoing webhooks: CloudEvents HTTP binding (structured mode), HMAC-SHA256 signed, retried with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from typing import Any

import httpx
import structlog
from pymongo import ASCENDING, DESCENDING

from shared.events import CloudEvent, derived_id, encode, utcnow
from shared.store import UnitOfWork

from .domain import next_attempt_at
from .settings import NotifySettings
from .due import DueClaims, drain_forever

log = structlog.get_logger()
SIGNATURE_HEADER = "Themenforum-Signature"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None, tolerance_s: int = 300) -> bool:
    """Check a signature header as a receiver should (also refuses stale timestamps, against replays)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    timestamp = int(parts["t"])
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), f"t={timestamp},v1={parts['v1']}")


def is_retryable(status: int | None) -> bool:
    """Network errors, timeouts, 408, 429 and 5xx are worth another try; other 4xx are not."""
    return status is None or status in (408, 429) or status >= 500


async def queue_webhooks_many(uow: UnitOfWork, events: list[CloudEvent[Any]]) -> None:
    """One webhook delivery per subscribed endpoint and event, in the handler's transaction (one read for all types)."""
    types = sorted({event.type for event in events})
    hooks = [h async for h in uow.db.webhooks.find({"event_types": {"$in": [*types, "*"]}, "active": True},
                                                   session=uow.session)]
    for event in events if hooks else []:
        subscribed = [h for h in hooks if event.type in h["event_types"] or "*" in h["event_types"]]
        if subscribed:
            await _queue_for(uow, event, subscribed)


async def _queue_for(uow: UnitOfWork, event: CloudEvent[Any], hooks: list[dict[str, Any]]) -> None:
    if event.type == "notification.requested":
        # Its context may carry secrets meant for one person (a personal voting link): never to a third party.
        event = event.model_copy(update={"data": event.data.model_copy(update={"context": {}})})
    now, body = utcnow(), encode(event).decode()
    await uow.db.webhook_deliveries.insert_many([
        {"_id": derived_id("webhook", event.id, h["_id"]), "hook_id": h["_id"], "url": h["url"], "event_id": event.id,
         "event_type": event.type, "body": body, "status": "pending", "attempts": 0, "created_at": now,
         "next_attempt_at": now} for h in hooks], session=uow.session)


class WebhookStore:
    """Endpoints and their delivery log."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def register(self, url: str, event_types: list[str], secret: str | None, description: str) -> dict[str, Any]:
        hook = {"_id": derived_id("hook", url, secrets.token_hex(8)), "url": url, "event_types": sorted(set(event_types)),
                "secret": secret or secrets.token_urlsafe(32), "description": description, "active": True,
                "created_at": utcnow()}
        await self.db.webhooks.insert_one(hook)
        return hook

    async def list(self) -> list[dict[str, Any]]:
        return [h async for h in self.db.webhooks.find({}, {"secret": 0}).sort("created_at", ASCENDING).limit(500)]

    async def remove(self, hook_id: str) -> bool:
        return (await self.db.webhooks.update_one({"_id": hook_id}, {"$set": {"active": False}})).modified_count == 1

    async def deliveries(self, limit: int) -> list[dict[str, Any]]:
        cursor = self.db.webhook_deliveries.find({}, {"body": 0}).sort("created_at", DESCENDING).limit(limit)
        return [d async for d in cursor]


class WebhookSender:
    """Drains due webhook deliveries; a claim is atomic, so two instances never post the same attempt."""

    def __init__(self, runtime: Any, settings: NotifySettings) -> None:
        self.runtime, self.settings = runtime, settings
        self._due: DueClaims | None = None
        self.wake = asyncio.Event()  # set when this process queued webhook calls (see drain_forever)

    @property
    def due(self) -> DueClaims:
        if self._due is None:
            self._due = DueClaims(self.runtime.db.webhook_deliveries)
        return self._due

    async def run_forever(self) -> None:
        # A claim a crash left `sending` is tried again (receivers deduplicate by the CloudEvent id).
        stale = utcnow() - timedelta(seconds=self.settings.mail_stale_after_s)
        await self.runtime.db.webhook_deliveries.update_many({"status": "sending", "claimed_at": {"$lt": stale}},
                                                             {"$set": {"status": "pending", "next_attempt_at": utcnow()}})
        async with httpx.AsyncClient(timeout=self.settings.webhook_timeout_s, follow_redirects=False) as client:
            try:
                await drain_forever(lambda: self.send_one(client), self.settings.webhook_poll_interval_s, "webhook.loop_error",
                                    self.wake)
            finally:
                with contextlib.suppress(Exception):
                    await self.due.release()

    async def send_one(self, client: httpx.AsyncClient) -> bool:
        db, now = self.runtime.db, utcnow()
        delivery = await self.due.claim(now)
        if delivery is None:
            return False
        hook = await db.webhooks.find_one({"_id": delivery["hook_id"]})
        body = delivery["body"].encode()
        status: int | None = None
        try:
            answer = await client.post(delivery["url"], content=body, headers={
                "Content-Type": CONTENT_TYPE, SIGNATURE_HEADER: sign(hook["secret"], int(time.time()), body),
                "Themenforum-Delivery": delivery["_id"], "User-Agent": "Themenforum-Webhooks/1"})
            status, error = answer.status_code, f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        await self._record(delivery, status, error)
        return True

    async def _record(self, delivery: dict[str, Any], status: int | None, error: str) -> None:
        attempts = delivery["attempts"]
        if status is not None and 200 <= status < 300:
            fields: dict[str, Any] = {"status": "delivered", "delivered_at": utcnow(), "last_error": None, "last_status": status}
        elif is_retryable(status) and attempts < self.settings.webhook_max_attempts:
            fields = {"status": "pending", "last_error": error, "last_status": status,
                      "next_attempt_at": next_attempt_at(utcnow(), attempts, self.settings.webhook_backoff_s)}
        else:
            fields = {"status": "failed", "last_error": error, "last_status": status}
        await self.runtime.db.webhook_deliveries.update_one({"_id": delivery["_id"]}, {"$set": fields})
        log.info("webhook.attempt", delivery_id=delivery["_id"], status=fields["status"], http_status=status)
