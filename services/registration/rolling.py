"""Rolling selection for a consumed batch of submissions: decide in memory, write in bulk.

One poll of `forum.registrations` brings up to a few hundred submissions. Deciding them
one at a time costs half a dozen round trips each; here the batch reads what it needs in
one query per collection, decides in submission order against in-memory fill counts (the same
rules as one at a time), and writes every registration, every touched workshop and the
waiting-list counter in one bulk each, inside the consumer's transaction. The workshop
writes are guarded by the version the batch read, so a concurrent writer (another
instance, a staff override) makes the batch fail and the consumer redo it event by event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import UpdateOne

from shared.consumer import Batch
from shared.events.catalogue import SelectionMode
from shared.events.selection import DecisionStatus
from shared.store import UnitOfWork

from . import invitations, seats
from .selection import WorkshopFill, decide_rolling, waitlist_explanation
from .store import RegistrationStore, decision_update


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ConcurrentChange(Exception):
    """A workshop changed under the batch; the consumer retries event by event."""


class _Plan:
    """Decisions of a batch not yet written: registration updates, fill deltas, waiting-list numbers."""

    def __init__(self, fills: dict[str, WorkshopFill], versions: dict[str, int]) -> None:
        self.fills, self.versions = fills, versions
        self.updates: list[UpdateOne] = []
        self.touched: set[str] = set()
        self.waitlist_seqs: dict[str, int] = {}  # forum -> how many numbers this batch used

    def accept(self, reg: dict[str, Any], workshop_id: str) -> None:
        self.fills[workshop_id].take(reg["actor_group"], reg.get("org_key", ""))
        self.touched.add(workshop_id)

    def waitlist(self, forum_id: str, workshop_id: str) -> tuple[int, int]:
        """(offset of the person's waiting-list number within the batch, their place)."""
        fill = self.fills[workshop_id]
        fill.waitlisted += 1
        self.touched.add(workshop_id)
        self.waitlist_seqs[forum_id] = self.waitlist_seqs.get(forum_id, 0) + 1
        return self.waitlist_seqs[forum_id], fill.waitlisted


async def decide_batch(batch: Batch) -> None:
    """Give every new submission of the batch exactly one decision (rolling fora only)."""
    uow0 = batch[0][1]
    store = RegistrationStore(uow0.db)
    regs = await store.get_many([e.data.registration_id for e, _ in batch], uow0.session)
    fora = await store.get_fora({e.data.forum_id for e, _ in batch}, uow0.session)
    todo = [(regs[e.data.registration_id], uow) for e, uow in batch
            if _undecided(regs.get(e.data.registration_id)) and _rolling(fora.get(e.data.forum_id))]
    # First come, first served: a batch spans partitions, so order it by submission time, not by offset.
    todo.sort(key=lambda item: (item[0].get("created_at") or _EPOCH, item[0]["_id"]))
    if not todo:
        return
    plan = await _load(store, {w for reg, _ in todo for w in reg["preferences"]}, uow0)
    pending: list[tuple[dict[str, Any], UnitOfWork, dict[str, Any]]] = []
    for reg, uow in todo:
        if reg.get("invited_workshop_id"):
            # Invitees take reserved seats through the one-at-a-time path; write what we planned first.
            await _flush(store, plan, pending, uow0)
            await invitations.decide_invited(uow, reg)
            plan, pending = await _load(store, set(plan.fills), uow0), []
            continue
        pending.append((reg, uow, _decide(plan, reg)))
    await _flush(store, plan, pending, uow0)


def _undecided(reg: dict[str, Any] | None) -> bool:
    return reg is not None and reg.get("status") == "received"  # erased, cancelled or decided already


def _rolling(forum: Any) -> bool:
    return forum is not None and forum.selection_mode == SelectionMode.rolling


async def _load(store: RegistrationStore, workshop_ids: set[str], uow: UnitOfWork) -> _Plan:
    docs = await store.fill_docs(sorted(workshop_ids), uow.session)
    return _Plan({w: f for w, (f, _) in docs.items()}, {w: v for w, (_, v) in docs.items()})


def _decide(plan: _Plan, reg: dict[str, Any]) -> dict[str, Any]:
    """One person's decision against the batch's in-memory counts; returns the decision fields."""
    decision = decide_rolling(reg["actor_group"], reg.get("org_key", ""), reg["preferences"], plan.fills)
    common = {"status": decision.status, "workshop_id": decision.workshop_id, "reasons": decision.reasons,
              "first_choice": decision.first_choice}
    if decision.status == DecisionStatus.accepted:
        plan.accept(reg, decision.workshop_id)
        return {**common, "explanation": decision.explanation,
                "extra": {"seat": decision.workshop_id, "waitlist_seq": None, "waitlist_position": None}}
    offset, position = plan.waitlist(reg["forum_id"], decision.workshop_id)
    return {**common, "explanation": waitlist_explanation(decision, position),
            "extra": {"waitlist_offset": offset, "waitlist_position": position}}


async def _flush(store: RegistrationStore, plan: _Plan, pending: list[tuple[dict[str, Any], UnitOfWork, dict[str, Any]]],
                 uow0: UnitOfWork) -> None:
    """Write the planned decisions (guarded by the versions read) and emit one event per decision."""
    if not pending:
        return
    firsts = await store.next_waitlist_seqs(dict(plan.waitlist_seqs), uow0.session)
    if not await store.save_fills([plan.fills[w] for w in sorted(plan.touched)], plan.versions, uow0.session):
        raise ConcurrentChange("a workshop's counts changed during the batch")
    updates = []
    for reg, uow, d in pending:
        extra = dict(d["extra"])
        if "waitlist_offset" in extra:
            extra["waitlist_seq"] = firsts[reg["forum_id"]] + extra.pop("waitlist_offset") - 1
        fields = seats.decision_fields(d["status"], d["workshop_id"], d["reasons"], d["explanation"], extra)
        updates.append(UpdateOne({"_id": reg["_id"]}, decision_update(fields)))
        event = seats.decision_event(reg, int(reg.get("decision_seq", 0)) + 1, status=d["status"],
                                     workshop_id=d["workshop_id"], reasons=d["reasons"], explanation=d["explanation"],
                                     first_choice=d["first_choice"], waitlist_position=extra.get("waitlist_position"))
        uow.emit("selection.decided", subject=reg["_id"], data=event)
    await store.bulk_update(updates, uow0.session)
