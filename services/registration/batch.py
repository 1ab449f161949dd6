"""Batch selection at the deadline: a dry run staff can inspect, then publishing it as decisions."""

from __future__ import annotations

import secrets
import uuid
from collections import Counter
from typing import Any

from shared.events import utcnow
from shared.events.selection import DecisionStatus, SelectionFinalized
from shared.store import UnitOfWork

from . import seats
from .optimiser import Applicant, assign, explain, final_fills
from .store import RegistrationStore


class StaleRun(Exception):
    """The registrations changed since the dry run (or it was published already)."""


def applicants_of(docs: list[dict[str, Any]]) -> list[Applicant]:
    """Everyone still in the running; staff overrides are fixed (accept/move) or left out (reject)."""
    out = []
    for d in docs:
        override = d.get("override") or {}
        if override.get("action") == "reject" or d["status"] not in ("received", "accepted", "waitlisted"):
            continue
        out.append(Applicant(d["_id"], d["actor_group"], d.get("org_key", ""), tuple(d["preferences"]),
                             override.get("workshop_id") if override.get("action") in ("accept", "move") else None))
    return out


async def dry_run(db: Any, forum_id: str, *, seed: int | None, staff: str) -> dict[str, Any]:
    """Compute the optimal assignment and keep it as a run staff can look at and publish."""
    store = RegistrationStore(db)
    docs = await store.active(forum_id)
    applicants = applicants_of(docs)
    workshops = {f.workshop_id: f for f in await store.forum_fills(forum_id)}
    seed = seed if seed is not None else secrets.randbelow(2**31)
    result = assign(applicants, workshops, seed)
    fills = final_fills(applicants, workshops, result.placed)
    names = {d["_id"]: d for d in docs}
    people = []
    for a in sorted(applicants, key=lambda a: result.lottery[a.registration_id]):
        placed = result.placed[a.registration_id]
        reasons, text = explain(a, placed, fills)
        d = names[a.registration_id]
        people.append({"registration_id": a.registration_id, "name": f"{d['first_name']} {d['last_name']}",
                       "organisation": d["organisation"], "actor_group": a.group, "workshop_id": placed,
                       "rank": a.preferences.index(placed) + 1 if placed in a.preferences else None,
                       "lottery": result.lottery[a.registration_id], "reasons": reasons, "explanation": text,
                       "first_preference": a.preferences[0]})
    summary = {
        "applicants": len(applicants), "placed": sum(1 for p in people if p["workshop_id"]),
        "first_choice": sum(1 for p in people if p["rank"] == 1), "objective": result.objective,
        "optimality_gap": result.gap, "solve_seconds": round(result.solve_seconds, 3), "seed": seed,
        "fill": {w: {"accepted": f.accepted, "seats": f.open_seats, "by_group": f.by_group} for w, f in fills.items()},
    }
    run = {"_id": str(uuid.uuid4()), "forum_id": forum_id, "seed": seed, "created_at": utcnow(), "staff_member": staff,
           "published": False, "summary": summary, "people": people,
           "registration_ids": sorted(a.registration_id for a in applicants)}
    await store.save_run(run)
    return run


async def publish(uow: UnitOfWork, run_id: str) -> dict[str, Any]:
    """Turn a dry run into decisions: one event per changed decision, then `selection.finalized`."""
    store = RegistrationStore(uow.db)
    run = await store.get_run(run_id, uow.session)
    if run is None:
        raise KeyError(run_id)
    docs = {d["_id"]: d for d in await store.active(run["forum_id"], uow.session)}
    if run["published"] or sorted(a.registration_id for a in applicants_of(list(docs.values()))) != run["registration_ids"]:
        raise StaleRun("Seit dem Probelauf haben sich Anmeldungen geändert; bitte den Probelauf wiederholen.")
    workshops = {f.workshop_id: f for f in await store.forum_fills(run["forum_id"], uow.session)}
    placed = {p["registration_id"]: p["workshop_id"] for p in run["people"]}
    fills = final_fills(applicants_of(list(docs.values())), workshops, placed)
    base = await store.next_waitlist_seq(run["forum_id"], uow.session, step=len(run["people"]) + 1)
    changed = 0
    for person in run["people"]:  # in lottery order, so waiting lists follow the lottery
        doc = docs[person["registration_id"]]
        w = person["workshop_id"]
        if w is not None:
            target = dict(status=DecisionStatus.accepted, workshop_id=w,
                          extra={"seat": w, "waitlist_seq": None, "waitlist_position": None})
        else:
            wl = person["first_preference"]
            fills[wl].waitlisted += 1
            position = fills[wl].waitlisted
            target = dict(status=DecisionStatus.waitlisted, workshop_id=wl,
                          extra={"seat": None, "waitlist_seq": base - len(run["people"]) + person["lottery"],
                                 "waitlist_position": position})
            person = {**person, "explanation": f"{person['explanation']}; Sie stehen auf Platz {position} der Warteliste."}
        if doc.get("decided_status") == target["status"].value and doc.get("decided_workshop_id") == target["workshop_id"]:
            await uow.db.registrations.update_one({"_id": doc["_id"]}, {"$set": target["extra"]}, session=uow.session)
            continue
        changed += 1
        await seats.record(uow, doc, reasons=person["reasons"], explanation=person["explanation"],
                           first_choice=person["rank"] == 1, **target)
    await store.reset_counts(run["forum_id"], fills, uow.session)
    await store.mark_run_published(run_id, uow.session)
    accepted = Counter(w for w in placed.values() if w)
    uow.emit("selection.finalized", subject=run["forum_id"],
             data=SelectionFinalized(forum_id=run["forum_id"], accepted=dict(accepted), lottery_seed=run["seed"]))
    return {"run_id": run_id, "changed": changed, "accepted": dict(accepted), "seed": run["seed"]}
