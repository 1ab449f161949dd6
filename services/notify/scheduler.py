"""Reminders: planned from the catalogue, fired once by whichever notify instance claims them first."""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import datetime, timedelta
from typing import Any

import structlog

from shared.events import utcnow
from shared.events.catalogue import ForumConfigured
from shared.store import AlreadyProcessed, UnitOfWork

from .domain import forum_start, reminder_due_times, reminder_id
from .mailqueue import Mail, queue_mails
from .settings import NotifySettings
from .store import NotifyStore

log = structlog.get_logger()


def plan_reminders(forum: ForumConfigured, days_before: list[int], now: datetime) -> list[dict[str, Any]]:
    """The forum's reminders that are still ahead (none when the forum has no date)."""
    if forum.starts_on is None:
        return []
    due = reminder_due_times(forum.starts_on, forum.timezone, days_before)
    return [{"_id": reminder_id(forum.forum_id, forum.starts_on, n), "forum_id": forum.forum_id, "days_before": n,
             "starts_on": forum.starts_on.isoformat(), "due_at": at, "status": "scheduled"}
            for n, at in due.items() if at > now]


class ReminderScheduler:
    """Polls for due reminders; the clock can be shifted (NOTIFY_CLOCK_OFFSET_S) or given (staff API)."""

    def __init__(self, runtime: Any, settings: NotifySettings) -> None:
        self.runtime, self.settings = runtime, settings
        self.instance = f"{socket.gethostname()}:{os.getpid()}"

    def now(self) -> datetime:
        return utcnow() + timedelta(seconds=self.settings.notify_clock_offset_s)

    async def run_forever(self) -> None:
        while True:
            try:
                await self.fire_due(self.now())
            except Exception as exc:  # noqa: BLE001 - the scheduler must outlive passing outages
                log.warning("reminder.loop_error", error=type(exc).__name__)
            await asyncio.sleep(self.settings.reminder_poll_interval_s)

    async def fire_due(self, now: datetime) -> list[str]:
        """Fire every reminder due at `now` that no instance fired yet; returns the ids this call fired."""
        fired = []
        for rid in await NotifyStore(self.runtime.db).due_reminder_ids(now):
            if await self.fire(rid, now):
                fired.append(rid)
        return fired

    async def fire(self, rid: str, now: datetime) -> bool:
        """Claim and fan out one reminder in one transaction: the claim and the mails commit together."""
        uow: UnitOfWork = self.runtime.unit_of_work(cause=f"reminder:{rid}", correlation_id=rid)

        async def work(u: UnitOfWork) -> bool:
            store = NotifyStore(u.db)
            reminder = await store.claim_reminder(rid, now, self.instance, u.session)
            if reminder is None:
                raise _NotMine  # abort: no outbox record, so the cause stays free
            forum = await store.forum(reminder["forum_id"], u.session) or {}
            if now >= forum_start(datetime.fromisoformat(reminder["starts_on"]).date(), forum.get("timezone", "Europe/Berlin")):
                return True  # too late to remind: the claim records it as fired with no mails
            accepted = await store.accepted(forum_id=reminder["forum_id"], session=u.session)
            await queue_mails(u, [Mail(rid, a["participant_id"], "reminder", reminder["forum_id"],
                                       workshop_id=a.get("workshop_id"), context={"days_before": reminder["days_before"]})
                                  for a in accepted])
            log.info("reminder.fired", reminder_id=rid, recipients=len(accepted))
            return True

        try:
            return bool(await uow.run(work))
        except (AlreadyProcessed, _NotMine):
            return False


class _NotMine(Exception):
    """Another instance fired the reminder first."""
