"""Catalogue commands (forum and workshop configuration); the seed is a list of them."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.events import utcnow
from shared.events.catalogue import (
    ForumConfigured,
    ForumRegistrationClosed,
    ForumRegistrationOpened,
    ForumStatus,
    WorkshopConfigured,
)
from shared.store import AlreadyProcessed, UnitOfWork

from . import notices
from .domain import changed_fields
from .store import RegistrationStore


async def configure_forum(uow: UnitOfWork, forum: ForumConfigured) -> bool:
    """Store the forum's configuration; emit `forum.configured` if it changed."""
    store = RegistrationStore(uow.db)
    current = await store.raw_forum(forum.forum_id, uow.session)
    proposed = forum.model_dump(mode="json")
    if not changed_fields(current, proposed):
        return False
    forum = forum.model_copy(update={"revision": (current or {}).get("revision", 0) + 1})
    await store.save_forum(forum, uow.session)
    await notices.record_notice(uow.db, forum, uow.session)
    uow.emit("forum.configured", subject=forum.forum_id, data=forum)
    return True


async def configure_workshop(uow: UnitOfWork, workshop: WorkshopConfigured) -> bool:
    """Store the workshop's configuration; emit `workshop.configured` if it changed."""
    store = RegistrationStore(uow.db)
    current = await store.raw_workshop(workshop.workshop_id, uow.session)
    if not changed_fields(current, workshop.model_dump(mode="json")):
        return False
    workshop = workshop.model_copy(update={"revision": (current or {}).get("revision", 0) + 1})
    await store.save_workshop(workshop, uow.session)
    uow.emit("workshop.configured", subject=workshop.forum_id, data=workshop)
    return True


async def set_registration_status(uow: UnitOfWork, forum_id: str, status: ForumStatus, at: datetime | None = None) -> bool:
    """Open or close registration; emits the matching catalogue events (`at`: the service clock's now)."""
    store = RegistrationStore(uow.db)
    forum = await store.get_forum(forum_id, uow.session)
    if forum is None:
        raise KeyError(forum_id)
    if forum.status == status:
        return False
    await configure_forum(uow, forum.model_copy(update={"status": status}))
    if status == ForumStatus.open:
        uow.emit("forum.registration_opened", subject=forum_id, data=ForumRegistrationOpened(forum_id=forum_id, opened_at=at or utcnow()))
    else:
        uow.emit("forum.registration_closed", subject=forum_id, data=ForumRegistrationClosed(forum_id=forum_id, closed_at=at or utcnow()))
    return True


async def apply_command(uow: UnitOfWork, command: dict[str, Any]) -> bool:
    """Apply one catalogue command (`{"command": ..., ...}`)."""
    match command["command"]:
        case "configure_forum":
            return await configure_forum(uow, ForumConfigured.model_validate(command["forum"]))
        case "configure_workshop":
            return await configure_workshop(uow, WorkshopConfigured.model_validate(command["workshop"]))
        case "open_registration":
            return await set_registration_status(uow, command["forum_id"], ForumStatus.open)
        case "close_registration":
            return await set_registration_status(uow, command["forum_id"], ForumStatus.closed)
    raise ValueError(f"unknown catalogue command {command['command']!r}")


async def apply_seed(runtime: Any, path: Path) -> int:
    """Apply a seed file's commands, each in its own unit of work; returns how many changed something."""
    commands = json.loads(path.read_text(encoding="utf-8"))["commands"]
    changed = 0
    for index, command in enumerate(commands):
        uow = runtime.unit_of_work(cause=f"seed:{path.name}:{index}:{json.dumps(command, sort_keys=True)}")
        try:
            changed += bool(await uow.run(lambda u, c=command: apply_command(u, c)))
        except AlreadyProcessed:
            pass
    return changed
