"""Dot voting with personal links: budgets per workshop that no click or replay can exceed."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, Field

from shared.events import derived_id
from shared.events.results import VoteCast
from shared.runtime import ServiceRuntime
from shared.store import AlreadyProcessed, UnitOfWork

from .domain import remaining_dots, token_hash, voting_token
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


async def set_dots(runtime: ServiceRuntime, workshop_id: str, dots: int) -> None:
    """Change the dots per person of a workshop (before voting starts)."""
    await CaptureStore(runtime.db).set_workshop_state(workshop_id, {"dots": dots})
