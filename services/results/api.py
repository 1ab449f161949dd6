"""HTTP routes of the results service (JSON): capture, voting, the report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from shared.auth import StaffMember, require_role, require_staff

from . import capture, report, voting
from .store import CaptureStore

router = APIRouter(prefix="/api/v1")


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


@router.get("/reports/{forum_id}.csv", tags=["reports"], summary="The report's figures as CSV (semicolon, UTF-8)")
async def get_report_csv(request: Request, forum_id: str) -> Response:
    data = await report.build(_runtime(request).db, forum_id)
    return Response(report.to_csv(data), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="ergebnisbericht-{forum_id}.csv"'})


@router.get("/reports/{forum_id}.pdf", tags=["reports"], summary="The report as PDF")
async def get_report_pdf(request: Request, forum_id: str) -> Response:
    data = await report.build(_runtime(request).db, forum_id)
    return Response(await report.to_pdf(data), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="ergebnisbericht-{forum_id}.pdf"'})


@router.get("/reports/{forum_id}", tags=["reports"], summary="The results report of a forum (aggregates only)")
async def get_report(request: Request, forum_id: str) -> dict[str, Any]:
    return await report.build(_runtime(request).db, forum_id)


@router.get("/dashboard/{forum_id}", tags=["reports"], summary="Current figures for the live dashboard (staff)")
async def get_dashboard(request: Request, forum_id: str, _staff: StaffMember = Depends(require_staff)) -> dict[str, Any]:
    return await report.dashboard_snapshot(_runtime(request).db, forum_id)


@router.post("/workshops/{workshop_id}/ideas", tags=["capture"], status_code=201, summary="Capture an idea")
async def post_idea(request: Request, response: Response, workshop_id: str, body: capture.IdeaCreate,
                    staff: StaffMember = Depends(require_role("moderator", workshop_param="workshop_id"))) -> dict[str, Any]:
    idea, created = await capture.capture_idea(_runtime(request), workshop_id, body, staff.id)
    response.status_code = 201 if created else 200
    return idea


@router.patch("/ideas/{idea_id}", tags=["capture"], summary="Change an idea, e.g. put it into a cluster")
async def patch_idea(request: Request, idea_id: str, body: capture.IdeaChange,
                     staff: StaffMember = Depends(require_role("moderator"))) -> dict[str, Any]:
    return await capture.change_idea(_runtime(request), idea_id, body, staff.id)


@router.post("/workshops/{workshop_id}/sketches", tags=["capture"], status_code=201, summary="Submit or revise a project sketch")
async def post_sketch(request: Request, response: Response, workshop_id: str, body: capture.SketchCreate,
                      _staff: StaffMember = Depends(require_role("moderator", workshop_param="workshop_id"))) -> dict[str, Any]:
    sketch, created = await capture.submit_sketch(_runtime(request), workshop_id, body)
    response.status_code = 201 if created else 200
    return sketch


@router.post("/workshops/{workshop_id}/finalize", tags=["capture"], summary="Freeze the workshop's results as a version")
async def post_finalize(request: Request, workshop_id: str, staff: StaffMember = Depends(require_role("moderator", workshop_param="workshop_id"))) -> dict[str, Any]:
    return await capture.finalize(_runtime(request), workshop_id, staff.id)


@router.get("/workshops/{workshop_id}/results", tags=["capture"], summary="Ideas, sketches and the live tally of a workshop")
async def get_results(request: Request, workshop_id: str, _staff: StaffMember = Depends(require_staff)) -> dict[str, Any]:
    runtime = _runtime(request)
    await capture.workshop_or_404(runtime, workshop_id)
    store = CaptureStore(runtime.db)
    strip = lambda docs: [{k: v for k, v in d.items() if k != "_id"} for d in docs]  # noqa: E731
    return {"state": {k: v for k, v in (await store.workshop_state(workshop_id)).items() if k != "_id"},
            "ideas": strip(await store.of_workshop("ideas", workshop_id)),
            "sketches": strip(await store.of_workshop("sketches", workshop_id)),
            "tally": await voting.tally(runtime, workshop_id)}


@router.put("/workshops/{workshop_id}/voting", tags=["voting"], summary="Set the dots per person")
async def put_voting(request: Request, workshop_id: str, body: voting.VotingSettings,
                     _staff: StaffMember = Depends(require_role("moderator", workshop_param="workshop_id"))) -> dict[str, int]:
    await capture.workshop_or_404(_runtime(request), workshop_id)
    await voting.set_dots(_runtime(request), workshop_id, body.dots)
    return {"dots": body.dots}


@router.post("/workshops/{workshop_id}/voting/open", tags=["voting"],
             summary="Open the dot voting: every accepted participant gets their personal link by mail (once)")
async def post_voting_open(request: Request, workshop_id: str, staff: StaffMember = Depends(require_role("moderator", workshop_param="workshop_id"))) -> dict[str, Any]:
    await capture.workshop_or_404(_runtime(request), workshop_id)
    return await voting.open_voting(_runtime(request), workshop_id, staff.id)


@router.get("/workshops/{workshop_id}/voting-links", tags=["voting"],
            summary="Personal voting links of the accepted participants (for notify to mail, or to print)")
async def get_voting_links(request: Request, workshop_id: str, _staff: StaffMember = Depends(require_role("moderator", workshop_param="workshop_id"))) -> list[dict[str, Any]]:
    await capture.workshop_or_404(_runtime(request), workshop_id)
    return await voting.voting_links(_runtime(request), workshop_id)


@router.post("/votes", tags=["voting"], summary="Place dots with a personal voting link's token")
async def post_vote(request: Request, body: voting.VoteCreate) -> dict[str, Any]:
    return await voting.cast_vote(_runtime(request), body)


@router.get("/votes/{token}", tags=["voting"], summary="The ballot of a voting link: budget, dots used, what can be voted on")
async def get_ballot(request: Request, token: str) -> dict[str, Any]:
    runtime = _runtime(request)
    voter, state = await voting.ballot(runtime, token)
    store = CaptureStore(runtime.db)
    sketches = await store.of_workshop("sketches", voter["workshop_id"])
    return {"workshop_id": voter["workshop_id"], "dots": state["dots"], "used": voter["dots_used"],
            "remaining": max(0, state["dots"] - voter["dots_used"]), "closed": bool(state.get("voting_closed")),
            "targets": [{"id": s["_id"], "title": s["title"]} for s in sketches]}
