"""Selection use cases inside one unit of work: decide, release and refill, override. Events out through the outbox."""

from __future__ import annotations

from typing import Any

from shared.events.common import ActorGroup, Language
from shared.events.selection import DecisionStatus, SelectionDecided, SelectionOverridden
from shared.store import UnitOfWork

from .selection import choose_move_up, decide_rolling, move_up_explanation, waitlist_explanation
from .store import RegistrationStore


class SeatUnavailable(Exception):
    """A staff action would break seats, a group maximum or an organisation cap."""


def decision_event(reg: dict[str, Any], seq: int, **fields: Any) -> SelectionDecided:
    """A `selection.decided` for a registration document and the new decision fields."""
    return SelectionDecided(
        registration_id=reg["_id"], forum_id=reg["forum_id"], participant_id=reg["participant_id"],
        actor_group=ActorGroup(reg["actor_group"]), municipality=reg.get("municipality", ""),
        language=Language(reg.get("language", "de")), previous_status=_status(reg.get("decided_status")),
        previous_workshop_id=reg.get("decided_workshop_id"), decision_seq=seq, **fields,
    )


def decision_fields(status: DecisionStatus, workshop_id: str | None, reasons: list[str], explanation: str,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a registration document stores of its current decision."""
    return {"status": status.value, "workshop_id": workshop_id, "reasons": reasons, "explanation": explanation,
            "decided_status": status.value, "decided_workshop_id": workshop_id, **(extra or {})}


def _status(value: str | None) -> DecisionStatus | None:
    return DecisionStatus(value) if value in DecisionStatus.__members__ else None


async def record(uow: UnitOfWork, reg: dict[str, Any], *, status: DecisionStatus, workshop_id: str | None,
                 reasons: list[str], explanation: str, first_choice: bool = False, extra: dict[str, Any] | None = None,
                 override: dict[str, str] | None = None) -> None:
    """Store the new current decision and emit exactly one decision event for it."""
    store = RegistrationStore(uow.db)
    seq = await store.set_decision(reg["_id"], decision_fields(status, workshop_id, reasons, explanation, extra), uow.session)
    common = dict(status=status, workshop_id=workshop_id, reasons=reasons, explanation=explanation, first_choice=first_choice,
                  waitlist_position=(extra or {}).get("waitlist_position"))
    if override:
        data = SelectionOverridden(**decision_event(reg, seq, **common).model_dump(), **override)
        uow.emit("selection.overridden", subject=reg["_id"], data=data)
    else:
        uow.emit("selection.decided", subject=reg["_id"], data=decision_event(reg, seq, **common))


async def decide(uow: UnitOfWork, reg: dict[str, Any]) -> None:
    """Rolling mode: place the person in the first preference that has room, else on the waiting list."""
    store = RegistrationStore(uow.db)
    group, org = reg["actor_group"], reg.get("org_key", "")
    fills = await store.fills(reg["preferences"], uow.session)
    decision = decide_rolling(group, org, reg["preferences"], fills)
    if decision.status == DecisionStatus.accepted:
        if not await store.take_seat(fills[decision.workshop_id], group, org, uow.session):
            raise RuntimeError("seat taken concurrently")  # retried: the next attempt sees the new count
        await record(uow, reg, status=decision.status, workshop_id=decision.workshop_id, reasons=decision.reasons,
                     explanation=decision.explanation, first_choice=decision.first_choice,
                     extra={"seat": decision.workshop_id, "waitlist_seq": None, "waitlist_position": None})
        return
    seq = await store.next_waitlist_seq(reg["forum_id"], uow.session)
    await store.count_waitlisted(decision.workshop_id, 1, uow.session)
    position = await store.waitlist_position({**reg, "status": "waitlisted", "workshop_id": decision.workshop_id,
                                              "waitlist_seq": seq}, uow.session) or 1
    await record(uow, reg, status=decision.status, workshop_id=decision.workshop_id, reasons=decision.reasons,
                 explanation=waitlist_explanation(decision, position),
                 extra={"waitlist_seq": seq, "waitlist_position": position})


async def leave(uow: UnitOfWork, reg: dict[str, Any]) -> None:
    """Take the person out of selection: free a held seat (and refill it) or leave the waiting list."""
    store = RegistrationStore(uow.db)
    if reg.get("seat"):
        await store.release_seat(reg["seat"], reg["actor_group"], reg.get("org_key", ""), uow.session)
        await uow.db.registrations.update_one({"_id": reg["_id"]}, {"$set": {"seat": None}}, session=uow.session)
        await refill(uow, reg["forum_id"], reg["seat"], reg["actor_group"])
    elif reg.get("decided_status") == "waitlisted" and reg.get("waitlist_seq") is not None:
        await store.count_waitlisted(reg["decided_workshop_id"], -1, uow.session)
        await uow.db.registrations.update_one({"_id": reg["_id"]}, {"$set": {"waitlist_seq": None}}, session=uow.session)


async def refill(uow: UnitOfWork, forum_id: str, workshop_id: str, freed_group: str) -> str | None:
    """Move the next suitable person up into a freed seat, same actor group first; returns their id."""
    store = RegistrationStore(uow.db)
    fill = (await store.fills([workshop_id], uow.session))[workshop_id]
    chosen = choose_move_up(freed_group, fill, await store.move_up_candidates(forum_id, workshop_id, uow.session))
    if chosen is None:
        return None
    reg = await store.get(chosen.registration_id, uow.session)
    assert reg is not None
    if not await store.take_seat(fill, chosen.group, chosen.org, uow.session):
        return None
    await store.count_waitlisted(reg["workshop_id"], -1, uow.session)
    reasons = ["moved_up_same_group" if chosen.group == freed_group else "moved_up"]
    await record(uow, reg, status=DecisionStatus.accepted, workshop_id=workshop_id, reasons=reasons,
                 explanation=move_up_explanation(fill, freed_group, chosen.group),
                 first_choice=reg["preferences"][0] == workshop_id,
                 extra={"seat": workshop_id, "waitlist_seq": None, "waitlist_position": None})
    return chosen.registration_id


async def override(uow: UnitOfWork, reg: dict[str, Any], *, action: str, workshop_id: str | None, staff: str, note: str) -> None:
    """A staff decision (accept, reject, move); it is stored on the registration so batch re-runs keep it."""
    store = RegistrationStore(uow.db)
    marker = {"action": action, "staff_member": staff, "note": note}
    if action == "reject":
        await leave(uow, reg)
        await record(uow, reg, status=DecisionStatus.rejected, workshop_id=None, reasons=["staff_override"],
                     explanation="Die Veranstalter haben entschieden, Ihnen keinen Platz anzubieten.",
                     extra={"override": {**marker, "workshop_id": None}, "waitlist_seq": None, "waitlist_position": None},
                     override=marker)
        return
    target = workshop_id or reg.get("seat") or reg["preferences"][0]
    if reg.get("seat") == target:
        raise SeatUnavailable("Die Person hat in diesem Workshop bereits einen Platz.")
    fill = (await store.fills([target], uow.session)).get(target)
    if fill is None or target not in await _forum_workshops(uow, reg["forum_id"]):
        raise SeatUnavailable("Unbekannter Workshop.")
    blocked = fill.blocker(reg["actor_group"], reg.get("org_key", ""))
    if blocked in ("workshop_full", "group_full", "organisation_cap") or not await store.take_seat(
            fill, reg["actor_group"], reg.get("org_key", ""), uow.session):
        raise SeatUnavailable(f"Kein Platz frei ({blocked or 'belegt'}).")
    await leave(uow, reg)
    await record(uow, reg, status=DecisionStatus.accepted, workshop_id=target, reasons=["staff_override"],
                 explanation=f"Die Veranstalter haben Ihnen einen Platz im Workshop {fill.number} „{fill.title}“ gegeben.",
                 first_choice=reg["preferences"][0] == target,
                 extra={"seat": target, "override": {**marker, "workshop_id": target}, "waitlist_seq": None,
                        "waitlist_position": None},
                 override=marker)


async def _forum_workshops(uow: UnitOfWork, forum_id: str) -> set[str]:
    return {w.workshop_id for w in await RegistrationStore(uow.db).workshops(forum_id, uow.session)}
