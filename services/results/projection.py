"""Reporting projections as pure rules: an event and the documents it needs in, update operations out.

The same rules serve the live consumer (operations become MongoDB updates) and the rebuild
command (operations are applied to documents in memory), so both produce the same read models.
Counters use `$inc`, which commutes, so collections fed by several topics agree whatever the
interleaving; everything else is keyed by the aggregate and arrives in order on its partition.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.events import CloudEvent

from .domain import accepted_changes, participation_key

Key = tuple[str, str]  # (collection, _id)
Docs = dict[Key, dict[str, Any] | None]

# Every collection the projections write: the rebuild recreates exactly these.
REPORTING_COLLECTIONS = (
    "catalogue_fora", "catalogue_workshops", "decisions", "reporting_participation", "reporting_selection",
    "reporting_forum", "reporting_agenda", "reporting_conflicts", "reporting_ideas", "reporting_sketches",
    "reporting_votes", "reporting_results", "reporting_deliveries", "reporting_delivery_failures",
)
EMAIL = re.compile(r"[^\s<>@]+@[^\s<>@]+")


@dataclass(frozen=True)
class Op:
    """One upsert: `update` (MongoDB update operators) applied to the document `_id` of `collection`."""

    collection: str
    id: str
    update: dict[str, Any]


def needs(event: CloudEvent[Any]) -> list[Key]:
    """The documents a rule reads before it decides."""
    d = event.data
    match event.type:
        case "forum.configured":
            return [("catalogue_fora", d.forum_id)]
        case "workshop.configured":
            return [("catalogue_workshops", d.workshop_id)]
        case "selection.decided" | "selection.overridden":
            return [("decisions", d.registration_id)]
        case "result.idea_captured":
            return [("reporting_ideas", d.idea_id)]
        case "result.sketch_submitted":
            return [("reporting_sketches", d.sketch_id)]
        case "result.finalized":
            return [("reporting_results", d.workshop_id)]
    return []


def project(event: CloudEvent[Any], docs: Docs) -> list[Op]:
    """The update operations an event causes in the reporting read models."""
    rule = RULES.get(event.type)
    return rule(event, docs) if rule else []


def _newer(doc: dict[str, Any] | None, field: str, value: int) -> bool:
    return doc is None or doc.get(field, 0) < value


def _forum(event: CloudEvent[Any], docs: Docs) -> list[Op]:
    d = event.data
    if not _newer(docs.get(("catalogue_fora", d.forum_id)), "revision", d.revision):
        return []
    return [Op("catalogue_fora", d.forum_id, {"$set": d.model_dump(mode="json")})]


def _workshop(event: CloudEvent[Any], docs: Docs) -> list[Op]:
    d = event.data
    if not _newer(docs.get(("catalogue_workshops", d.workshop_id)), "revision", d.revision):
        return []
    return [Op("catalogue_workshops", d.workshop_id, {"$set": d.model_dump(mode="json")})]


def _submitted(event: CloudEvent[Any], _docs: Docs) -> list[Op]:
    d = event.data
    first = d.preferences[0] if d.preferences else "-"
    cell = {"forum_id": d.forum_id, "workshop_id": first, "actor_group": d.actor_group.value, "municipality": d.municipality}
    return [Op("reporting_participation", participation_key(**cell), {"$inc": {"registered": 1}, "$setOnInsert": cell}),
            Op("reporting_forum", d.forum_id, {"$inc": {"registrations": 1}, "$setOnInsert": {"forum_id": d.forum_id}})]


def _cancelled(event: CloudEvent[Any], _docs: Docs) -> list[Op]:
    d = event.data
    return [Op("reporting_forum", d.forum_id, {"$inc": {"cancellations": 1}, "$setOnInsert": {"forum_id": d.forum_id}})]


def _decided(event: CloudEvent[Any], docs: Docs) -> list[Op]:
    d = event.data
    previous = docs.get(("decisions", d.registration_id))
    if previous is not None and previous.get("decision_seq", 0) >= d.decision_seq:
        return []
    ops = [Op("decisions", d.registration_id, {"$set": {
        "forum_id": d.forum_id, "status": d.status.value, "workshop_id": d.workshop_id, "actor_group": d.actor_group.value,
        "municipality": d.municipality, "decision_seq": d.decision_seq,
        "first_choice": d.first_choice}})]
    for cell_id, cell, delta in accepted_changes(previous, d.status.value, d.forum_id, d.workshop_id,
                                                 d.actor_group.value, d.municipality):
        ops.append(Op("reporting_participation", cell_id, {"$inc": {"accepted": delta}, "$setOnInsert": cell}))
    ops += _selection_stats(previous, d, overridden=event.type == "selection.overridden")
    return ops


def _selection_stats(previous: dict[str, Any] | None, d: Any, *, overridden: bool) -> list[Op]:
    """Current status counts per workshop, first-choice placements, waiting-list moves, overrides."""
    inc: dict[str, dict[str, int]] = {}

    def bump(workshop: str | None, field: str, delta: int) -> None:
        row = inc.setdefault(workshop or "-", {})
        row[field] = row.get(field, 0) + delta

    if previous is not None:
        bump(previous.get("workshop_id"), previous["status"], -1)
        if previous["status"] == "accepted" and previous.get("first_choice"):
            bump(previous.get("workshop_id"), "accepted_first_choice", -1)
    bump(d.workshop_id, d.status.value, 1)
    if d.status.value == "accepted" and d.first_choice:
        bump(d.workshop_id, "accepted_first_choice", 1)
    if previous is not None and previous["status"] == "waitlisted" and d.status.value == "accepted":
        bump(d.workshop_id, "waitlist_moves", 1)
    if overridden:
        bump(d.workshop_id, "overrides", 1)
    return [Op("reporting_selection", f"{d.forum_id}|{ws}", {"$inc": fields, "$setOnInsert": {"forum_id": d.forum_id, "workshop_id": ws}})
            for ws, fields in sorted(inc.items())]


def _agenda(event: CloudEvent[Any], _docs: Docs) -> list[Op]:
    d = event.data
    doc = {"forum_id": d.forum_id, "workshop_id": d.workshop_id, "version": d.version, "published_at": event.time.isoformat(),
           "items": [i.model_dump(mode="json") for i in sorted(d.items, key=lambda i: i.starts_at)], "kind": event.type}
    if event.type == "agenda.updated":
        doc["changes"] = {"added": len(d.diff.added), "removed": len(d.diff.removed), "changed": len(d.diff.changed)}
    return [Op("reporting_agenda", f"{d.workshop_id}|{d.version}", {"$set": doc})]


def _conflicts(event: CloudEvent[Any], _docs: Docs) -> list[Op]:
    d = event.data
    return [Op("reporting_conflicts", d.workshop_id, {"$set": {
        "forum_id": d.forum_id, "workshop_id": d.workshop_id, "detected_at": event.time.isoformat(),
        "conflicts": [c.model_dump(mode="json") for c in d.conflicts]}})]


def _idea(event: CloudEvent[Any], docs: Docs) -> list[Op]:
    d = event.data
    if not _newer(docs.get(("reporting_ideas", d.idea_id)), "revision", d.revision):
        return []
    fields = d.model_dump(mode="json", exclude={"captured_by"})
    return [Op("reporting_ideas", d.idea_id, {"$set": {**fields, "captured_at": event.time.isoformat()}})]


def _sketch(event: CloudEvent[Any], docs: Docs) -> list[Op]:
    d = event.data
    if not _newer(docs.get(("reporting_sketches", d.sketch_id)), "revision", d.revision):
        return []
    return [Op("reporting_sketches", d.sketch_id, {"$set": {**d.model_dump(mode="json"), "submitted_at": event.time.isoformat()}})]


def _vote(event: CloudEvent[Any], _docs: Docs) -> list[Op]:
    d = event.data
    return [Op("reporting_votes", d.target_id, {
        "$inc": {"dots": d.dots, "votes": 1}, "$addToSet": {"voters": d.voter_id},
        "$setOnInsert": {"forum_id": d.forum_id, "workshop_id": d.workshop_id, "target_kind": d.target_kind}})]


def _finalized(event: CloudEvent[Any], docs: Docs) -> list[Op]:
    d = event.data
    if not _newer(docs.get(("reporting_results", d.workshop_id)), "version", d.version):
        return []
    return [Op("reporting_results", d.workshop_id, {"$set": {
        "forum_id": d.forum_id, "workshop_id": d.workshop_id, "version": d.version, "finalized_at": event.time.isoformat(),
        "ideas": d.ideas, "sketches": d.sketches, "votes": d.votes}})]


def _delivery(event: CloudEvent[Any], _docs: Docs) -> list[Op]:
    d = event.data
    forum_id = d.forum_id or "-"
    outcome = "sent" if event.type == "notification.sent" else "failed"
    ops = [Op("reporting_deliveries", f"{forum_id}|{d.template}",
              {"$inc": {outcome: 1}, "$setOnInsert": {"forum_id": forum_id, "template": d.template}})]
    if outcome == "failed":
        # The error text of a mail server may quote the address: keep it out of the read model.
        ops.append(Op("reporting_delivery_failures", d.notification_id, {"$set": {
            "forum_id": forum_id, "template": d.template, "attempts": d.attempts, "permanent": d.permanent,
            "error": EMAIL.sub("<adresse>", d.error)[:200], "failed_at": event.time.isoformat()}}))
    return ops


RULES: dict[str, Callable[[CloudEvent[Any], Docs], list[Op]]] = {
    "forum.configured": _forum, "workshop.configured": _workshop,
    "registration.submitted": _submitted, "registration.cancelled": _cancelled,
    "selection.decided": _decided, "selection.overridden": _decided,
    "agenda.published": _agenda, "agenda.updated": _agenda, "agenda.conflict_detected": _conflicts,
    "result.idea_captured": _idea, "result.sketch_submitted": _sketch, "result.vote_cast": _vote,
    "result.finalized": _finalized,
    "notification.sent": _delivery, "notification.failed": _delivery,
}


def apply_update(doc: dict[str, Any] | None, op: Op) -> dict[str, Any]:
    """Apply an update to a document in memory, as MongoDB's upsert would."""
    new = dict(doc) if doc is not None else {"_id": op.id}
    for operator, fields in op.update.items():
        for field, value in fields.items():
            if operator == "$set" or (operator == "$setOnInsert" and doc is None):
                new[field] = value
            elif operator == "$inc":
                new[field] = new.get(field, 0) + value
            elif operator == "$addToSet":
                current = list(new.get(field, []))
                new[field] = current if value in current else [*current, value]
            elif operator != "$setOnInsert":
                raise ValueError(f"unsupported operator {operator}")
    return new


MERGEABLE = {"$inc", "$set", "$setOnInsert"}


def merge_ops(ops: list[Op]) -> list[Op]:
    """Fewer operations with the same outcome: consecutive updates of one document folded into one.

    Updates of different documents commute, so each document's updates are folded in
    their own order and placed where its first update was.
    """
    merged: dict[Key, list[Op]] = {}
    for op in ops:
        chain = merged.setdefault((op.collection, op.id), [])
        if chain and (folded := _fold(chain[-1], op)) is not None:
            chain[-1] = folded
        else:
            chain.append(op)
    return [op for chain in merged.values() for op in chain]


def _fold(first: Op, then: Op) -> Op | None:
    """`first` then `then` as one update, or None when MongoDB would not give the same result."""
    a, b = first.update, then.update
    if not set(a) <= MERGEABLE or not set(b) <= MERGEABLE:
        return None
    a_inc, a_set, a_ins = a.get("$inc", {}), a.get("$set", {}), a.get("$setOnInsert", {})
    b_inc, b_set = b.get("$inc", {}), b.get("$set", {})
    if set(b_inc) & (set(a_set) | set(a_ins)) or set(b_set) & (set(a_inc) | set(a_ins)):
        return None
    inc = {**a_inc, **{f: a_inc.get(f, 0) + v for f, v in b_inc.items()}}
    # `then`'s $setOnInsert never applies: the document exists once `first` ran.
    update = {k: v for k, v in (("$inc", inc), ("$set", {**a_set, **b_set}), ("$setOnInsert", a_ins)) if v}
    return Op(first.collection, first.id, update)
