"""Registration windows: a clock, and the task that opens and closes registration at the configured times."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from shared.events import utcnow
from shared.events.catalogue import ForumConfigured, ForumStatus
from shared.store import AlreadyProcessed

from . import catalogue
from .setup_domain import due_transition, window_cause

log = structlog.get_logger()


class Clock:
    """The service's notion of now: real time, unless a clock file (tests only) holds an ISO time."""

    def __init__(self, override_file: Path | None = None) -> None:
        self.override_file = override_file

    def now(self) -> datetime:
        """The current time (aware, UTC when real)."""
        if self.override_file is not None:
            try:
                text = self.override_file.read_text(encoding="utf-8").strip()
            except OSError:
                text = ""
            if text:
                moment = datetime.fromisoformat(text)
                if moment.tzinfo is not None:
                    return moment
        return utcnow()


def clock_of(app_state: Any) -> Clock:
    """The app's clock (real time when none was set up)."""
    return getattr(app_state, "clock", None) or Clock()


async def switch_due_windows(runtime: Any, clock: Clock) -> list[tuple[str, str]]:
    """Open or close every forum whose window switches now; each switch happens once per configured time."""
    now = clock.now()
    done = []
    cursor = runtime.db.fora.find({"status": {"$ne": ForumStatus.archived.value},
                                   "$or": [{"registration_opens_at": {"$ne": None}}, {"registration_closes_at": {"$ne": None}}]},
                                  {"_id": 0})
    for forum in [ForumConfigured.model_validate(d) async for d in cursor]:
        transition = due_transition(forum, now)
        if transition is None:
            continue
        status = ForumStatus.open if transition == "open" else ForumStatus.closed
        uow = runtime.unit_of_work(cause=window_cause(forum, transition))
        try:
            await uow.run(lambda u, f=forum, s=status: catalogue.set_registration_status(u, f.forum_id, s, at=now))
        except AlreadyProcessed:
            continue  # staff changed the status by hand after this switch; the window does not override them
        log.info("registration.window_switched", forum_id=forum.forum_id, transition=transition)
        done.append((forum.forum_id, transition))
    return done


async def run_windows(runtime: Any, clock: Clock, interval_s: float) -> None:
    """Check the windows every `interval_s` for the life of the service."""
    while True:
        try:
            await switch_due_windows(runtime, clock)
        except Exception as exc:  # noqa: BLE001 - the scheduler must outlive passing outages
            log.warning("registration.window_check_failed", error=type(exc).__name__)
        await asyncio.sleep(interval_s)
