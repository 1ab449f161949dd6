"""Capture commands of moderators: ideas, clusters, project sketches, finalising (each one unit of work)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, field_validator

from shared.events import derived_id
from shared.events.common import ActorGroup
from shared.events.results import IdeaCaptured, ResultFinalized, SketchSubmitted
from shared.runtime import ServiceRuntime
from shared.store import AlreadyProcessed, UnitOfWork

from .store import CaptureStore

Short = Field(max_length=200)


class IdeaCreate(BaseModel):
    """An idea as a moderator types it in."""

    title: str = Field(min_length=1, max_length=200)
    text: str = Field("", max_length=4000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    cluster: str | None = Field(None, max_length=100, description="Theme the idea belongs to.")
    breakout_group: str | None = Field(None, max_length=100)
    actor_groups: list[ActorGroup] = Field(default_factory=list)
    request_id: str | None = Field(None, max_length=64, description="Client key: a repeated submit creates no second idea.")

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        return sorted({t.strip()[:50] for t in tags if t.strip()})


class IdeaChange(BaseModel):
    """Changed fields of an idea (e.g. its cluster)."""

    title: str | None = Field(None, min_length=1, max_length=200)
    text: str | None = Field(None, max_length=4000)
    cluster: str | None = Field(None, max_length=100)
    breakout_group: str | None = Field(None, max_length=100)


class SketchCreate(BaseModel):
    """A project sketch with what a funding bank asks for."""

    title: str = Field(min_length=1, max_length=200)
    problem: str = Field("", max_length=4000)
    goal: str = Field("", max_length=4000)
    partners: list[ActorGroup] = Field(default_factory=list)
    timeline: str = Field("", max_length=1000)
    funding_need_eur: int | None = Field(None, ge=0, le=10_000_000_000)
    funding_instruments: list[str] = Field(default_factory=list, max_length=20)
    next_steps: str = Field("", max_length=4000)
    contact: str = Field("", max_length=300)
    idea_ids: list[str] = Field(default_factory=list, max_length=100)
    request_id: str | None = Field(None, max_length=64)
    sketch_id: str | None = Field(None, max_length=64, description="Set to revise an existing sketch.")


async def workshop_or_404(runtime: ServiceRuntime, workshop_id: str) -> dict[str, Any]:
    """The catalogue copy of a workshop."""
    ws = await runtime.db.catalogue_workshops.find_one({"_id": workshop_id})
    if ws is None or ws.get("removed"):
        raise HTTPException(404, "Workshop unbekannt.")
    return ws


async def _run(runtime: ServiceRuntime, cause: str, work: Any) -> tuple[Any, bool]:
    """Run a unit of work; (result, False) when the same command was handled before."""
    try:
        return await runtime.unit_of_work(cause=cause).run(work), True
    except AlreadyProcessed:
        return None, False


async def capture_idea(runtime: ServiceRuntime, workshop_id: str, body: IdeaCreate, staff: str) -> tuple[dict[str, Any], bool]:
    """Record a new idea; a repeated submit (same request id) answers with the existing one."""
    ws = await workshop_or_404(runtime, workshop_id)
    idea_id = derived_id("idea", workshop_id, body.request_id or uuid.uuid4())

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        store = CaptureStore(uow.db, uow.session)
        state = await store.workshop_state(workshop_id)
        data = IdeaCaptured(idea_id=idea_id, workshop_id=workshop_id, forum_id=ws["forum_id"], captured_by=staff,
                            result_version=state["version"], **body.model_dump(exclude={"request_id"}))
        await store.put("ideas", {"_id": idea_id, **data.model_dump(mode="json")})
        uow.emit("result.idea_captured", subject=workshop_id, data=data)
        return data.model_dump(mode="json")

    result, created = await _run(runtime, f"idea:{idea_id}:r1", work)
    return result or await runtime.db.ideas.find_one({"_id": idea_id}, {"_id": 0}), created


async def change_idea(runtime: ServiceRuntime, idea_id: str, change: IdeaChange, staff: str, *, base_revision: int | None = None) -> dict[str, Any]:
    """A new revision of an idea (e.g. put into a cluster); two edits of the same revision: the second gets 409."""
    current = await runtime.db.ideas.find_one({"_id": idea_id})
    if current is None:
        raise HTTPException(404, "Idee unbekannt.")
    revision = (base_revision or current["revision"]) + 1
    fields = change.model_dump(exclude_unset=True)
    if "cluster" in fields:
        fields["cluster"] = (fields["cluster"] or "").strip() or None

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        store = CaptureStore(uow.db, uow.session)
        state = await store.workshop_state(current["workshop_id"])
        doc = {k: v for k, v in current.items() if k != "_id"}
        data = IdeaCaptured(**{**doc, **fields, "revision": revision, "captured_by": staff, "result_version": state["version"]})
        await store.put("ideas", {"_id": idea_id, **data.model_dump(mode="json")})
        uow.emit("result.idea_captured", subject=data.workshop_id, data=data)
        return data.model_dump(mode="json")

    result, done = await _run(runtime, f"idea:{idea_id}:r{revision}", work)
    if not done:
        raise HTTPException(409, "Die Idee wurde inzwischen geändert. Bitte laden Sie die Seite neu.")
    return result


async def submit_sketch(runtime: ServiceRuntime, workshop_id: str, body: SketchCreate) -> tuple[dict[str, Any], bool]:
    """Record a project sketch or a new revision of one."""
    ws = await workshop_or_404(runtime, workshop_id)
    sketch_id = body.sketch_id or derived_id("sketch", workshop_id, body.request_id or uuid.uuid4())
    current = await runtime.db.sketches.find_one({"_id": sketch_id})
    if body.sketch_id and current is None:
        raise HTTPException(404, "Projektskizze unbekannt.")
    revision = current["revision"] + 1 if current and body.sketch_id else 1
    known = {i["_id"] async for i in runtime.db.ideas.find({"_id": {"$in": body.idea_ids}, "workshop_id": workshop_id}, {"_id": 1})}
    if set(body.idea_ids) - known:
        raise RequestValidationError([{"loc": ("body", "idea_ids"), "msg": "unknown idea", "type": "value_error",
                                       "ctx": {"error": "Unbekannte Idee in diesem Workshop."}}])

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        store = CaptureStore(uow.db, uow.session)
        state = await store.workshop_state(workshop_id)
        data = SketchSubmitted(sketch_id=sketch_id, workshop_id=workshop_id, forum_id=ws["forum_id"], revision=revision,
                               result_version=state["version"], **body.model_dump(exclude={"request_id", "sketch_id"}))
        await store.put("sketches", {"_id": sketch_id, **data.model_dump(mode="json")})
        uow.emit("result.sketch_submitted", subject=workshop_id, data=data)
        return data.model_dump(mode="json")

    result, created = await _run(runtime, f"sketch:{sketch_id}:r{revision}", work)
    return result or await runtime.db.sketches.find_one({"_id": sketch_id}, {"_id": 0}), created


async def finalize(runtime: ServiceRuntime, workshop_id: str, staff: str) -> dict[str, Any]:
    """Freeze the workshop's results as a version; voting closes, later edits belong to the next version."""
    ws = await workshop_or_404(runtime, workshop_id)
    state = await CaptureStore(runtime.db).workshop_state(workshop_id)

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        store = CaptureStore(uow.db, uow.session)
        votes = await store.of_workshop("votes", workshop_id)
        data = ResultFinalized(workshop_id=workshop_id, forum_id=ws["forum_id"], version=state["version"], finalized_by=staff,
                               ideas=len(await store.of_workshop("ideas", workshop_id)),
                               sketches=len(await store.of_workshop("sketches", workshop_id)), votes=len(votes))
        await store.set_workshop_state(workshop_id, {"version": state["version"] + 1, "finalized_version": state["version"],
                                                     "voting_closed": True, "forum_id": ws["forum_id"]})
        uow.emit("result.finalized", subject=workshop_id, data=data)
        return data.model_dump(mode="json")

    result, done = await _run(runtime, f"finalize:{workshop_id}:{state['version']}", work)
    if not done:
        raise HTTPException(409, "Diese Version wurde bereits festgeschrieben.")
    return result
