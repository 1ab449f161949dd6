"""Dot voting with personal links: budgets per workshop that no click or replay can exceed."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import HTTPException
from pymongo import UpdateOne
from pydantic import BaseModel, Field

from shared.events import derived_id
from shared.events.notifications import NotificationRequested
from shared.events.results import VoteCast
from shared.runtime import ServiceRuntime
from shared.store import AlreadyProcessed, UnitOfWork

from .domain import remaining_dots, token_hash, voter_id, voting_token
from .store import CaptureStore, voting_key


class VoteCreate(BaseModel):
    """Dots a participant places on a sketch or an idea."""

    token: str = Field(min_length=10, max_length=100, description="The secret of the personal voting link.")
    target_id: str = Field(min_length=1, max_length=64)
    dots: int = Field(1, ge=1, le=20)
    request_id: str | None = Field(None, max_length=64, description="Client key: a replayed request counts once.")


class VotingSettings(BaseModel):
    """Dots per person in one workshop."""

    dots: int = Field(ge=1, le=20)


async def ballot(runtime: ServiceRuntime, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(voter, workshop state) of a valid, active voting link."""
    voter = await CaptureStore(runtime.db).voter_by_token(token_hash(token))
    if voter is None or not voter.get("active"):
        raise HTTPException(404, "Dieser Abstimmungslink ist nicht gültig.")
    return voter, await CaptureStore(runtime.db).workshop_state(voter["workshop_id"])


async def cast_vote(runtime: ServiceRuntime, body: VoteCreate) -> dict[str, Any]:
    """Spend dots in one transaction with the event; refused when the budget would be exceeded."""
    voter, state = await ballot(runtime, body.token)
    workshop_id = voter["workshop_id"]
    request_id = body.request_id or str(uuid.uuid4())
    vote_id = derived_id("vote", voter["_id"], request_id)

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        store = CaptureStore(uow.db, uow.session)
        current = await store.workshop_state(workshop_id)
        if current.get("voting_closed"):
            raise HTTPException(409, "Die Abstimmung in diesem Workshop ist beendet.")
        target = await store.get("sketches", body.target_id)
        kind = "sketch" if target else "idea"
        target = target or await store.get("ideas", body.target_id)
        if target is None or target["workshop_id"] != workshop_id:
            raise HTTPException(404, "Diese Skizze oder Idee gibt es in Ihrem Workshop nicht.")
        spent = await store.spend(voter["_id"], body.dots, current["dots"])
        if spent is None:
            raise HTTPException(409, "Sie haben keine Punkte mehr übrig.")
        data = VoteCast(vote_id=vote_id, workshop_id=workshop_id, forum_id=voter["forum_id"], voter_id=voter["_id"],
                        target_id=body.target_id, dots=body.dots, target_kind=kind)
        await store.put("votes", {"_id": vote_id, **data.model_dump(mode="json")})
        uow.emit("result.vote_cast", subject=workshop_id, data=data)
        return {"vote_id": vote_id, "used": spent["dots_used"], "remaining": remaining_dots(current["dots"], spent["dots_used"]),
                "replayed": False}

    try:
        return await runtime.unit_of_work(cause=f"vote:{vote_id}").run(work)
    except AlreadyProcessed:
        voter = await CaptureStore(runtime.db).get("voters", voter["_id"]) or voter
        return {"vote_id": vote_id, "used": voter["dots_used"], "remaining": remaining_dots(state["dots"], voter["dots_used"]),
                "replayed": True}


async def tally(runtime: ServiceRuntime, workshop_id: str) -> dict[str, int]:
    """Dots per target in a workshop, from the votes recorded with their events."""
    totals: dict[str, int] = {}
    for vote in await CaptureStore(runtime.db).of_workshop("votes", workshop_id):
        totals[vote["target_id"]] = totals.get(vote["target_id"], 0) + vote["dots"]
    return totals


async def voting_links(runtime: ServiceRuntime, workshop_id: str) -> list[dict[str, Any]]:
    """The personal voting links of a workshop's accepted participants (derived again, never stored)."""
    key = await voting_key(runtime.db)
    base = runtime.settings.base_url
    voters = await CaptureStore(runtime.db).of_workshop("voters", workshop_id)
    return [{"voter_id": v["_id"], "participant_id": v["participant_id"], "dots_used": v["dots_used"],
             "url": f"{base}/abstimmung/{voting_token(key, v['_id'])}"} for v in voters if v.get("active")]


VOTING_LINK_TEMPLATE = "voting_link"


def link_request(base_url: str, key: bytes, voter: dict[str, Any], dots: int) -> NotificationRequested:
    """The request to notify to mail one person their voting link (one per ballot: notify keeps it once)."""
    url = f"{base_url}/abstimmung/{voting_token(key, voter['_id'])}"
    language = voter.get("language") or "de"
    return NotificationRequested(
        notification_id=derived_id("voting-link", voter["_id"]), recipient_id=voter["participant_id"],
        template=VOTING_LINK_TEMPLATE, language=language, forum_id=voter.get("forum_id"), workshop_id=voter["workshop_id"],
        context={"voting_url": url + ("?lang=en" if language == "en" else ""), "dots": dots})


async def open_voting(runtime: ServiceRuntime, workshop_id: str, staff: str) -> dict[str, Any]:
    """Open the dot voting of a workshop: every active ballot's link goes to its person by mail (once)."""
    key, base = await voting_key(runtime.db), runtime.settings.base_url

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        store = CaptureStore(uow.db, uow.session)
        state = await store.workshop_state(workshop_id)
        if state.get("voting_closed"):
            raise HTTPException(409, "Die Abstimmung in diesem Workshop ist bereits beendet.")
        if state.get("voting_open"):
            return {"workshop_id": workshop_id, "opened": False, "links_requested": 0}
        voters = [v for v in await store.of_workshop("voters", workshop_id) if v.get("active")]
        await store.set_workshop_state(workshop_id, {"voting_open": True, "voting_opened_by": staff})
        for voter in voters:
            request = link_request(base, key, voter, state["dots"])
            uow.emit("notification.requested", subject=request.recipient_id, data=request)
        return {"workshop_id": workshop_id, "opened": True, "links_requested": len(voters)}

    try:
        return await runtime.unit_of_work(cause=f"voting-open:{workshop_id}").run(work)
    except AlreadyProcessed:
        return {"workshop_id": workshop_id, "opened": False, "links_requested": 0}


async def ballots_for_decisions(decisions: list[tuple[Any, UnitOfWork]], base_url: str) -> None:
    """Ballots follow decisions: an accepted person gets one in their workshop, their other ballots close;
    if that workshop's voting is open already, the link is mailed (once per ballot).

    For a consumed batch: one read of the ballots involved, one of the workshops' voting state,
    one ordered bulk write, with the decisions applied in offset order in memory.
    """
    if not decisions:
        return
    uow0 = decisions[0][1]
    db, session = uow0.db, uow0.session
    placed_by = [(d, uow, d.workshop_id if d.status.value == "accepted" else None) for d, uow in decisions]
    new_ids = sorted({voter_id(d.participant_id, ws) for d, _, ws in placed_by if ws})
    ballots = {v["_id"]: v async for v in db.voters.find(
        {"registration_id": {"$in": sorted({d.registration_id for d, _ in decisions})}}, session=session)}
    if new_ids:
        ballots.update({v["_id"]: v async for v in db.voters.find({"_id": {"$in": new_ids}}, session=session)})
    workshops = sorted({ws for _, _, ws in placed_by if ws})
    found = {s["_id"]: s async for s in db.workshop_state.find({"_id": {"$in": workshops}}, session=session)} if workshops else {}
    key = await voting_key(db) if workshops else b""
    writes: list[UpdateOne] = []
    for decision, uow, placed in placed_by:
        for ballot in ballots.values():
            if ballot.get("registration_id") == decision.registration_id and ballot["workshop_id"] != placed and ballot.get("active"):
                ballot["active"] = False
                writes.append(UpdateOne({"_id": ballot["_id"]}, {"$set": {"active": False}}))
        if not placed:
            continue
        voter = voter_id(decision.participant_id, placed)
        before = ballots.get(voter)
        doc = {"_id": voter, "token_hash": token_hash(voting_token(key, voter)), "participant_id": decision.participant_id,
               "registration_id": decision.registration_id, "workshop_id": placed, "forum_id": decision.forum_id,
               "language": decision.language.value}
        writes.append(UpdateOne({"_id": voter}, {"$set": {**doc, "active": True}, "$setOnInsert": {"dots_used": 0}}, upsert=True))
        ballots[voter] = {**(before or {"dots_used": 0}), **doc, "active": True}
        state = CaptureStore.state_of(placed, found.get(placed))
        if state.get("voting_open") and not state.get("voting_closed") and not (before and before.get("active")):
            request = link_request(base_url, key, doc, state["dots"])
            uow.emit("notification.requested", subject=request.recipient_id, data=request)
    if writes:
        await db.voters.bulk_write(writes, ordered=True, session=session)


async def set_dots(runtime: ServiceRuntime, workshop_id: str, dots: int) -> None:
    """Change the dots per person of a workshop (before voting starts)."""
    await CaptureStore(runtime.db).set_workshop_state(workshop_id, {"dots": dots})
