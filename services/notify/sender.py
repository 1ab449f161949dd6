"""Sends due deliveries over SMTP with retries and a rate limit, and reports the outcome as events.

Exactly-once, as far as SMTP allows: a delivery is claimed atomically (`sending`), sent,
then marked `sent`. A crash after the server accepted the message and before the mark
leaves it `sending`; after `mail_stale_after_s` it is sent again with the same Message-ID.
That window (between the server's 250 reply to DATA and our write) is the only way a person
can get a mail twice; services/notify/README.md describes it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import time
from datetime import timedelta
from typing import Any

import aiosmtplib
import structlog
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared import keyring, pii, topics
from shared.events import utcnow
from shared.events.deadletter import DeadLetter
from shared.events.notifications import NotificationFailed, NotificationSent
from shared.store import AlreadyProcessed, UnitOfWork, run_together

from .compose import build_message, mail_context
from .domain import is_permanent, next_attempt_at
from .due import DueClaims, drain_forever
from .settings import NotifySettings
from .store import NotifyStore

log = structlog.get_logger()
CATALOGUE_GRACE_S = 60  # after this a mail goes out even without titles (ids stand in for them)
CACHE_S = 2.0  # catalogue facts change rarely; a burst of mails shares one read
PREFETCH_S = 2.0  # a claimed mail's recipient and key, read with its claim batch, serve this long
REPORT_GATHER_S = 0.005  # how long the first outcome waits for others to share its transaction
REPORT_BATCH = 64
# (delivery, event type, event data, delivery fields, the waiting worker's future)
_Outcome = tuple[dict[str, Any], str, Any, dict[str, Any], "asyncio.Future[None]"]


class TokenBucket:
    """At most `rate` mails per second on average, `burst` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.capacity = rate, float(burst)
        self.tokens, self.updated = float(burst), time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


class SmtpConnection:
    """One worker's SMTP session, reused for a burst of mails (saves the connect and EHLO per mail).

    Any error drops it (the delivery is retried by the usual backoff); so does a pause longer than
    `IDLE_S`, so that a server's idle timeout never fails a mail.
    """

    IDLE_S = 10.0

    def __init__(self, settings: NotifySettings) -> None:
        self.settings, self.client, self.used = settings, None, 0.0

    async def send(self, message: Any) -> None:
        if self.client is None or not self.client.is_connected or time.monotonic() - self.used > self.IDLE_S:
            await self.close()
            s = self.settings
            self.client = aiosmtplib.SMTP(
                hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_user,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                start_tls=s.smtp_starttls, use_tls=s.smtp_tls, timeout=s.smtp_timeout_s)
            await self.client.connect()
        try:
            await self.client.send_message(message)
        except BaseException:
            await self.close()
            raise
        self.used = time.monotonic()

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None and client.is_connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.quit(), 2)
            client.close()


class MailSender:
    """The loops that drain due deliveries (several SMTP conversations at once)."""

    def __init__(self, runtime: Any, settings: NotifySettings) -> None:
        self.runtime, self.settings = runtime, settings
        self.bucket = TokenBucket(settings.mail_rate_per_s, settings.mail_burst)
        self.cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        # delivery id -> (read at, recipient, key): read for a whole claim batch, taken by the mail that needs it
        self.prefetched: dict[str, tuple[float, dict[str, Any] | None, str | None]] = {}
        self._due: DueClaims | None = None
        self._outcomes: list[_Outcome] = []
        self._recording = False
        self.wake = asyncio.Event()  # set when this process queued mails (see drain_forever)

    @property
    def store(self) -> NotifyStore:
        return NotifyStore(self.runtime.db)

    @property
    def due(self) -> DueClaims:
        """The workers' shared view of the due mails (made once the store is connected)."""
        if self._due is None:
            self._due = DueClaims(self.runtime.db.deliveries, on_claimed=self._prefetch)
        return self._due

    async def _prefetch(self, claimed: list[dict[str, Any]]) -> None:
        """Read the recipients and keys of a batch of claimed mails in two queries, instead of two per mail.

        They are read as the mails are claimed, so they are as current as the claimed mails
        themselves; a mail that waits longer than PREFETCH_S (slow SMTP, rate limit) reads again.
        """
        owners = sorted({d["recipient_id"] for d in claimed})
        try:
            people = await self.store.recipients(owners)
            keys = await keyring.keys_for(self.runtime.db, owners)
        except Exception as exc:  # noqa: BLE001 - only a shortcut: each mail then reads its own
            log.warning("mail.prefetch_failed", error=type(exc).__name__)
            return
        at = time.monotonic()
        # Claims given back or lost (held too long) never come to be sent here: their reads expire.
        self.prefetched = {k: v for k, v in self.prefetched.items() if at - v[0] < PREFETCH_S}
        for d in claimed:
            self.prefetched[d["_id"]] = (at, people.get(d["recipient_id"]), keys.get(d["recipient_id"]))

    async def run_forever(self) -> None:
        await self.store.release_stale(utcnow() - timedelta(seconds=self.settings.mail_stale_after_s))
        workers = [asyncio.create_task(self._worker(), name=f"mail-worker-{n}") for n in range(self.settings.mail_workers)]
        stale_every = max(10, int(self.settings.mail_stale_after_s / 2))
        try:
            for tick in itertools.count(1):
                await asyncio.sleep(1.0)
                try:
                    # A decision and the registration with the address can be handled at the same moment in
                    # two transactions that do not see each other; this sweep bounds that delay to a second.
                    await self.release_known_recipients()
                    if tick % stale_every == 0:
                        await self.store.release_stale(utcnow() - timedelta(seconds=self.settings.mail_stale_after_s))
                except Exception as exc:  # noqa: BLE001 - housekeeping must outlive passing outages
                    log.warning("mail.housekeeping_error", error=type(exc).__name__)
        finally:
            for worker in workers:
                worker.cancel()
            # Wait for them: a worker finishes the mail it is handing over before the store closes.
            await asyncio.gather(*workers, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.due.release()

    async def _worker(self) -> None:
        connection = SmtpConnection(self.settings)
        await drain_forever(lambda: self.send_one(connection), self.settings.mail_poll_interval_s, "mail.loop_error",
                            self.wake)

    async def release_known_recipients(self) -> None:
        """Safety net for the race where a decision and the person's registration (or key) were handled at once."""
        owners = sorted({d["recipient_id"] for d in await self.store.waiting()})
        keys = await keyring.keys_for(self.runtime.db, owners)
        people = await self.store.recipients(owners)  # one read: this sweep runs every second
        if await self.store.release_waiting_many({owner: person["email"] for owner, person in people.items()
                                                  if owner in keys or not pii.is_sealed(person["email"])}, utcnow(), None):
            self.wake.set()

    async def _open_personal(self, delivery: dict[str, Any], facts: dict[str, Any]) -> bool:
        """Open the sealed address and names for this mail only (the store keeps them sealed).

        False when the person's key has not arrived yet (`forum.keys` and `forum.registrations` are
        not ordered among each other): the mail waits for it. An erased key never comes back, but
        erasure has failed the person's unsent mails already.
        """
        owner, person = delivery["recipient_id"], facts["recipient"] or {}
        fields = {f: person[f] for f in ("email", "first_name", "last_name") if isinstance(person.get(f), str)}
        fields["to"] = delivery.get("to") or ""
        if not any(pii.is_sealed(v) for v in fields.values()):
            return True
        if "key" in facts:  # read with the claim
            keys = {owner: facts["key"]} if facts["key"] else {}
        else:
            keys = await keyring.keys_for(self.runtime.db, [owner])
        if owner not in keys:
            return False
        try:
            opened = {f: pii.open_value(keys[owner], owner, "email" if f == "to" else f, v) for f, v in fields.items()}
        except pii.SealError:
            return False
        delivery["to"] = opened.pop("to") or None
        if facts["recipient"]:
            facts["recipient"] = {**facts["recipient"], **opened}
        return True

    async def send_one(self, connection: SmtpConnection | None = None) -> bool:
        """Send the next due delivery (over the worker's connection, else a new one); False when none is due."""
        delivery = await self.due.claim(utcnow())
        if delivery is None:
            return False
        try:
            facts = await self._facts(delivery)
            if not await self._open_personal(delivery, facts):
                await self.store.mark(delivery["_id"], {"status": "waiting", "attempts": delivery["attempts"] - 1})
                return True
            if self._hold(delivery, facts):
                await self._unclaim(delivery, utcnow() + timedelta(seconds=1))
                return True
            await self.bucket.take()
        except asyncio.CancelledError:
            await self._unclaim(delivery, utcnow())  # stopped before any SMTP: nothing was sent
            raise
        try:
            message = build_message(delivery, self.context(delivery, facts), mail_from=self.settings.mail_from)
        except Exception as exc:  # noqa: BLE001 - a mail that cannot be rendered never will be: fail it now
            await self._failed(delivery, exc, permanent=True)
            return True
        own = connection is None
        connection = connection or SmtpConnection(self.settings)
        handover = asyncio.ensure_future(self._deliver(delivery, message, connection))
        try:
            await asyncio.shield(handover)
        except asyncio.CancelledError:
            # Stopping: let the SMTP conversation and its record finish rather than leave the mail `sending`.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(handover, self.settings.smtp_timeout_s)
            raise
        finally:
            if own:
                await connection.close()
        return True

    async def _deliver(self, delivery: dict[str, Any], message: Any, connection: SmtpConnection) -> None:
        try:
            await connection.send(message)
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self._failed(delivery, exc)
            return
        await self._report(delivery, "notification.sent", NotificationSent(
            notification_id=delivery["_id"], recipient_id=delivery["recipient_id"], template=delivery["template"],
            cause_event_id=delivery["cause_event_id"], forum_id=delivery.get("forum_id"), sent_at=utcnow()),
            {"status": "sent", "sent_at": utcnow(), "last_error": None})
        log.info("mail.sent", delivery_id=delivery["_id"], template=delivery["template"])

    async def _unclaim(self, delivery: dict[str, Any], at: Any) -> None:
        """Give a claimed delivery back untouched (the attempt did not happen)."""
        await self.store.mark(delivery["_id"], {"status": "pending", "attempts": delivery["attempts"] - 1, "next_attempt_at": at})

    async def _facts(self, delivery: dict[str, Any]) -> dict[str, Any]:
        """Recipient (and key, when read with the claim) and catalogue facts for a mail (catalogue cached briefly)."""
        early = self.prefetched.pop(delivery["_id"], None)
        if early is not None and time.monotonic() - early[0] < PREFETCH_S:
            person: dict[str, Any] = {"recipient": early[1], "key": early[2]}
        else:
            person = {"recipient": await self.store.recipient(delivery["recipient_id"])}
        return {**person,
                "forum": await self._cached("forum", delivery.get("forum_id")),
                "workshop": await self._cached("workshop", delivery.get("workshop_id")),
                "agenda": await self._cached("agenda", delivery.get("workshop_id"))}

    async def _cached(self, kind: str, key: str | None) -> dict[str, Any] | None:
        if not key:
            return None
        hit = self.cache.get((kind, key))
        if hit and time.monotonic() - hit[0] < CACHE_S:
            return hit[1]
        value = await getattr(self.store, kind)(key)
        if value is not None:
            self.cache[(kind, key)] = (time.monotonic(), value)
        return value

    @staticmethod
    def _hold(delivery: dict[str, Any], facts: dict[str, Any]) -> bool:
        """Hold a young mail a little while its forum or workshop is not projected yet (topics race at start)."""
        missing = (delivery.get("forum_id") and not facts["forum"]) or (delivery.get("workshop_id") and not facts["workshop"])
        return bool(missing) and utcnow() - delivery["created_at"] < timedelta(seconds=CATALOGUE_GRACE_S)

    def context(self, delivery: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
        """The template context from the delivery and the current projections."""
        recipient = facts["recipient"] or {}
        delivery["language"] = delivery.get("language") or recipient.get("language") or "de"
        return mail_context(delivery, recipient=recipient, forum=facts["forum"], workshop=facts["workshop"],
                            agenda=facts["agenda"], report_base_url=self.settings.results_public_url)

    async def _failed(self, delivery: dict[str, Any], exc: Exception, *, permanent: bool = False) -> None:
        code = getattr(exc, "code", None)
        if code is None and getattr(exc, "recipients", None):  # SMTPRecipientsRefused: the first refusal decides
            code = getattr(exc.recipients[0], "code", None)  # type: ignore[attr-defined]
        permanent = permanent or is_permanent(code if isinstance(code, int) else None)
        attempts = delivery["attempts"]
        reply = f"{code} " if isinstance(code, int) and code > 0 else ""
        error = f"{type(exc).__name__}: {reply}{getattr(exc, 'message', '') or exc}"[:500]
        if permanent or attempts >= self.settings.mail_max_attempts:
            await self._report(delivery, "notification.failed", NotificationFailed(
                notification_id=delivery["_id"], recipient_id=delivery["recipient_id"], template=delivery["template"],
                cause_event_id=delivery["cause_event_id"], forum_id=delivery.get("forum_id"), attempts=attempts,
                error=error, permanent=permanent), {"status": "failed", "last_error": error})
            await self._dead_letter(delivery, error)
            log.warning("mail.failed", delivery_id=delivery["_id"], permanent=permanent, attempts=attempts)
        else:
            retry_at = next_attempt_at(utcnow(), attempts, self.settings.mail_backoff_s)
            await self.store.mark(delivery["_id"], {"status": "pending", "last_error": error, "next_attempt_at": retry_at})
            log.info("mail.retry", delivery_id=delivery["_id"], attempts=attempts)

    async def _dead_letter(self, delivery: dict[str, Any], error: str) -> None:
        """Park the given-up delivery (without address or personal context) on `forum.deadletter`."""
        record = {k: v for k, v in delivery.items() if k not in ("to", "context")}
        letter = DeadLetter(
            original_value_b64=base64.b64encode(json.dumps(record, default=str).encode()).decode(),
            original_key=delivery["recipient_id"], topic=topics.NOTIFICATIONS, partition=-1, offset=-1, error=error,
            service=self.settings.service_name, event_id=delivery["cause_event_id"],
            event_type=f"mail.{delivery['template']}", failed_at=utcnow())
        try:
            await self.runtime.broker.publish(letter.model_dump_json().encode(), topics.DEADLETTER,
                                              key=delivery["recipient_id"].encode(),
                                              headers={"content-type": "application/json"})
        except Exception as exc:  # noqa: BLE001 - the delivery log keeps the failure even if the bus is away
            log.warning("mail.dead_letter_failed", error=type(exc).__name__)

    async def _report(self, delivery: dict[str, Any], type_: str, data: Any, fields: dict[str, Any]) -> None:
        """Record the outcome and its event in one transaction (the outbox publishes the event).

        Outcomes that arrive together (the workers' SMTP conversations end at about the same
        time) share one transaction: one bulk of delivery updates and one insert of their outbox
        records, instead of half a dozen round trips each.
        """
        done = asyncio.get_running_loop().create_future()
        self._outcomes.append((delivery, type_, data, fields, done))
        if not self._recording:
            self._recording = True
            try:
                await asyncio.sleep(REPORT_GATHER_S)  # let the other workers' outcomes join
                while self._outcomes:
                    batch, self._outcomes = self._outcomes[:REPORT_BATCH], self._outcomes[REPORT_BATCH:]
                    await self._record_together(batch)
            finally:
                self._recording = False
        await done

    async def _record_together(self, batch: list[_Outcome]) -> None:
        units = [self.runtime.unit_of_work(cause=f"delivery:{d['_id']}:{t}", correlation_id=d["cause_event_id"])
                 for d, t, _, _, _ in batch]

        async def work() -> None:
            session = units[0].session
            await self.runtime.db.deliveries.bulk_write([UpdateOne({"_id": d["_id"]}, {"$set": f}) for d, _, _, f, _ in batch],
                                                        ordered=False, session=session)
            for uow, (d, t, data, _, _) in zip(units, batch, strict=True):
                uow.emit(t, subject=d["recipient_id"], data=data)

        try:
            await run_together(self.runtime.client, self.runtime.outbox, units, work)
        except (BulkWriteError, DuplicateKeyError):
            # One of them was reported before (a replayed claim): record each on its own.
            for outcome in batch:
                await self._settle(self._record_one(*outcome[:4]), outcome[4])
            return
        except Exception as exc:  # noqa: BLE001 - every waiting worker gets the failure
            for *_, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for *_, done in batch:
            if not done.done():
                done.set_result(None)

    @staticmethod
    async def _settle(work: Any, done: asyncio.Future[None]) -> None:
        try:
            await work
        except Exception as exc:  # noqa: BLE001 - handed to the waiting worker
            if not done.done():
                done.set_exception(exc)
            return
        if not done.done():
            done.set_result(None)

    async def _record_one(self, delivery: dict[str, Any], type_: str, data: Any, fields: dict[str, Any]) -> None:
        uow: UnitOfWork = self.runtime.unit_of_work(cause=f"delivery:{delivery['_id']}:{type_}",
                                                    correlation_id=delivery["cause_event_id"])

        async def work(u: UnitOfWork) -> None:
            await NotifyStore(u.db).mark(delivery["_id"], fields, u.session)
            u.emit(type_, subject=delivery["recipient_id"], data=data)

        try:
            await uow.run(work)
        except AlreadyProcessed:
            await self.store.mark(delivery["_id"], fields)  # reported before: just make the log agree
