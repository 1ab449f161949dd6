"""Breakout groups of a workshop: formed from the accepted participants the service projects."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.events import CATALOGUE, utcnow
from shared.events.agenda import BreakoutGroup, BreakoutGroupsFormed
from shared.store import UnitOfWork

from .breakout import Member, balance_report, default_group_count, form_groups
from .store import AgendaStore


async def form_for_workshop(uow: UnitOfWork, workshop_id: str, count: int | None, trigger: str) -> dict[str, Any]:
    """Form and store the groups; returns the stored document (members by id, organisations sealed as stored)."""
    store = AgendaStore(uow.db)
    workshop = await store.workshop(workshop_id, uow.session)
    if workshop is None:
        raise KeyError(workshop_id)
    people = await store.accepted_people(workshop_id, uow.session)
    members = [Member(p["registration_id"], p["actor_group"], p["organisation"]) for p in people]
    sealed = {p["registration_id"]: p["sealed_organisation"] for p in people}  # the stored groups keep no clear names
    groups = form_groups(members, count or default_group_count(len(members)))
    doc = {
        "_id": workshop_id, "workshop_id": workshop_id, "forum_id": workshop["forum_id"], "trigger": trigger,
        "formed_at": utcnow(), "report": balance_report(groups),
        "groups": [{"number": n + 1, "members": [{"registration_id": m.registration_id, "actor_group": m.actor_group,
                                                  "organisation": sealed[m.registration_id]} for m in g]}
                   for n, g in enumerate(groups)],
    }
    await store.save_groups(workshop_id, doc, uow.session)
    if "agenda.groups_formed" in CATALOGUE:  # the event type waits for its catalogue entry
        uow.emit("agenda.groups_formed", subject=workshop_id, data=BreakoutGroupsFormed(
            workshop_id=workshop_id, forum_id=workshop["forum_id"], trigger=trigger,
            groups=[BreakoutGroup(number=n + 1, registration_ids=[m.registration_id for m in g],
                                  by_actor_group=dict(Counter(m.actor_group for m in g))) for n, g in enumerate(groups)]))
    return doc


async def groups_view(db: AsyncDatabase[dict[str, Any]], workshop_id: str, *, with_names: bool) -> dict[str, Any] | None:
    """The stored groups, with names and organisations opened now (an erased person shows without them)."""
    doc = await AgendaStore(db).groups(workshop_id)
    if doc is None:
        return None
    ids = [m["registration_id"] for g in doc["groups"] for m in g["members"]]
    people = await AgendaStore(db).people_opened(ids)
    for group in doc["groups"]:
        for member in group["members"]:
            person = people.get(member["registration_id"], {})
            member["name"] = person.get("name", "") if with_names else ""
            member["organisation"] = person.get("organisation", "")
            if not with_names:
                member.pop("registration_id")
    doc.pop("_id", None)
    return doc
