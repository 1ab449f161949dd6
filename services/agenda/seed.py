"""The seeded agenda (rooms, opening hours, items), applied once per seed content at start-up."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

from shared.events.agenda import AgendaItemData
from shared.store import AlreadyProcessed, UnitOfWork

from .domain import local_datetime
from .service import recheck
from .store import AgendaStore


def seed_items(forum: dict[str, Any]) -> list[AgendaItemData]:
    """Items of a seed's forum section, times in the forum's local time."""
    day, tz = date.fromisoformat(forum["day"]), forum.get("timezone", "Europe/Berlin")
    return [AgendaItemData(item_id=i["item_id"], workshop_id=i.get("workshop_id"), title=i["title"], kind=i["kind"],
                           starts_at=local_datetime(day, i["start"], tz), ends_at=local_datetime(day, i["end"], tz),
                           room=i.get("room"), moderators=i.get("moderators", []), description=i.get("description", ""))
            for i in forum["items"]]


async def _apply(uow: UnitOfWork, forum: dict[str, Any]) -> None:
    store = AgendaStore(uow.db)
    venue = {k: forum[k] for k in ("rooms", "moderators", "day_start", "day_end") if k in forum}
    await store.save_venue(forum["forum_id"], venue, uow.session)
    for item in seed_items(forum):
        # Only new items: a restart must not undo what staff changed in the editor.
        await store.save_item(forum["forum_id"], item, uow.session, only_new=True)
    await store.bump_revision(forum["forum_id"], uow.session)
    await recheck(uow, forum["forum_id"])


async def apply_seed(runtime: Any, path: Path) -> int:
    """Apply each forum of the seed file once per content (the cause carries its hash)."""
    applied = 0
    for forum in json.loads(path.read_text(encoding="utf-8"))["fora"]:
        digest = hashlib.sha256(json.dumps(forum, sort_keys=True).encode()).hexdigest()[:16]
        uow = runtime.unit_of_work(cause=f"agenda-seed:{forum['forum_id']}:{digest}")
        try:
            await uow.run(lambda u, f=forum: _apply(u, f))
            applied += 1
        except AlreadyProcessed:
            pass
    return applied
