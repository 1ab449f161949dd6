"""Sends due deliveries over SMTP with retries, and reports the outcome as events.

Exactly-once, as far as SMTP allows: a delivery is claimed atomically (`sending`), sent,
then marked `sent`. A crash after the server accepted the message and before the mark
leaves it `sending`; after `stale_after` it is sent again with the same Message-ID. That
window (between the server's 250 reply to DATA and our write) is the only way a person
can get a mail twice.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import aiosmtplib
import structlog

from shared.events import utcnow
from shared.events.notifications import NotificationFailed, NotificationSent
from shared.store import AlreadyProcessed, UnitOfWork

from .domain import is_permanent, next_attempt_at, render
from .settings import NotifySettings
from .store import NotifyStore

log = structlog.get_logger()


def build_message(settings: NotifySettings, delivery: dict[str, Any], context: dict[str, Any]) -> EmailMessage:
    """The MIME message (plain text with an HTML alternative) for a delivery."""
    mail = render(delivery["template"], delivery.get("language", "de"), context)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = delivery["to"]
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(idstring=delivery["_id"], domain="themenforum.local")
    message["X-Themenforum-Delivery"] = delivery["_id"]
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


class MailSender:
    """The loop that drains due deliveries."""

    def __init__(self, runtime: Any, settings: NotifySettings) -> None:
        self.runtime, self.settings = runtime, settings
        self.wake = asyncio.Event()

    @property
    def store(self) -> NotifyStore:
        return NotifyStore(self.runtime.db)

    async def run_forever(self) -> None:
        stale_after = timedelta(seconds=max(30.0, self.settings.smtp_timeout_s * 3))
        await self.store.release_stale(utcnow() - stale_after)
        while True:
            try:
                while await self.send_one():
                    pass
            except Exception as exc:  # noqa: BLE001 - keep the loop alive through outages
                log.warning("mail.loop_error", error=type(exc).__name__)
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), self.settings.mail_poll_interval_s)
            except TimeoutError:
                pass

    async def send_one(self) -> bool:
        """Send the next due delivery; False when none is due."""
        delivery = await self.store.claim_due(utcnow())
        if delivery is None:
            return False
        context = dict(delivery.get("context", {}))
        forum = await self.runtime.db.catalogue_fora.find_one({"_id": delivery.get("forum_id")}, {"title": 1})
        if forum:
            context["forum_title"] = forum["title"]
        try:
            await aiosmtplib.send(
                build_message(self.settings, delivery, context),
                hostname=self.settings.smtp_host, port=self.settings.smtp_port,
                username=self.settings.smtp_user,
                password=self.settings.smtp_password.get_secret_value() if self.settings.smtp_password else None,
                start_tls=self.settings.smtp_starttls, use_tls=self.settings.smtp_tls, timeout=self.settings.smtp_timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self._failed(delivery, exc)
            return True
        await self.store.mark(delivery["_id"], {"status": "sent", "sent_at": utcnow(), "last_error": None})
        await self._report(delivery, "notification.sent", NotificationSent(
            notification_id=delivery["_id"], recipient_id=delivery["recipient_id"], template=delivery["template"],
            cause_event_id=delivery["cause_event_id"], forum_id=delivery.get("forum_id"), sent_at=utcnow()))
        log.info("mail.sent", delivery_id=delivery["_id"], template=delivery["template"])
        return True

    async def _failed(self, delivery: dict[str, Any], exc: Exception) -> None:
        code = getattr(exc, "code", None)
        permanent = is_permanent(code if isinstance(code, int) else None)
        attempts = delivery["attempts"]
        error = f"{type(exc).__name__}: {getattr(exc, 'message', '') or exc}"[:500]
        if permanent or attempts >= self.settings.mail_max_attempts:
            await self.store.mark(delivery["_id"], {"status": "failed", "last_error": error})
            await self._report(delivery, "notification.failed", NotificationFailed(
                notification_id=delivery["_id"], recipient_id=delivery["recipient_id"], template=delivery["template"],
                cause_event_id=delivery["cause_event_id"], forum_id=delivery.get("forum_id"), attempts=attempts,
                error=error, permanent=permanent))
            log.warning("mail.failed", delivery_id=delivery["_id"], permanent=permanent, attempts=attempts)
        else:
            retry_at = next_attempt_at(utcnow(), attempts, self.settings.mail_backoff_s)
            await self.store.mark(delivery["_id"], {"status": "pending", "last_error": error, "next_attempt_at": retry_at})
            log.info("mail.retry", delivery_id=delivery["_id"], attempts=attempts)

    async def _report(self, delivery: dict[str, Any], type_: str, data: Any) -> None:
        uow: UnitOfWork = self.runtime.unit_of_work(cause=f"delivery:{delivery['_id']}:{type_}",
                                                    correlation_id=delivery["cause_event_id"])

        async def work(u: UnitOfWork) -> None:
            u.emit(type_, subject=delivery["recipient_id"], data=data)

        try:
            await uow.run(work)
        except AlreadyProcessed:
            pass
