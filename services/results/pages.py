"""HTML pages: moderators' capture, the voting page, the live dashboard, the report (work without a JS build)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from shared.auth import StaffMember, check_csrf, csrf_token, require_role_page, require_staff_page
from shared.http import field_errors

from . import capture, report, voting
from .report import GROUPS, templates
from .store import CaptureStore, ReportingStore
from .texts import GROUPS_EN, MODERATION, NOTICES, SITE

templates.env.globals["SITE"] = SITE

router = APIRouter(include_in_schema=False)
BALLOT_TEXTS = {
    "de": {"title": "Punktabfrage", "closed": "Die Abstimmung ist beendet. Vielen Dank!", "remaining_before": "Sie haben noch",
           "remaining_of": "von", "remaining_after": "Punkten. Jeder Klick vergibt einen Punkt; Sie können einer Skizze mehrere Punkte geben.",
           "button": "Einen Punkt vergeben", "for": "für", "none": "Noch keine Projektskizzen zur Abstimmung.",
           "counted": "Ihr Punkt wurde gezählt.", "choose": "Bitte wählen Sie eine Projektskizze."},
    "en": {"title": "Dot voting", "closed": "Voting has ended. Thank you!", "remaining_before": "You have",
           "remaining_of": "of", "remaining_after": "dots left. Each click places one dot; you may give a sketch several dots.",
           "button": "Place one dot", "for": "on", "none": "No project sketches to vote on yet.",
           "counted": "Your dot was counted.", "choose": "Please choose a project sketch."},
}


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "de"


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"groups": GROUPS, **context}, status_code=status)


def _staff_render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A staff page in the request's language (German unless ?lang=en)."""
    lang = _lang(request)
    return _render(request, name, status, lang=lang, t=MODERATION[lang], **({"groups": GROUPS_EN} if lang == "en" else {}), **context)


def _back(request: Request, path: str, ok: str) -> RedirectResponse:
    """Post/redirect/get, keeping the page's language."""
    return RedirectResponse(f"{path}?ok={ok}" + ("&lang=en" if _lang(request) == "en" else ""), status_code=303)


async def _forum_id(request: Request, forum: str | None) -> str | None:
    fora = await ReportingStore(_runtime(request).db).fora()
    if forum:
        return forum
    # The same default as the registration form: the open forum that starts first (ids break ties).
    open_fora = [f for f in fora if f.get("status") == "open"] or fora
    open_fora.sort(key=lambda f: (str(f.get("starts_on") or "9999"), f["forum_id"]))
    return open_fora[0]["forum_id"] if open_fora else None


@router.get("/berichte", response_class=HTMLResponse)
async def reports_index(request: Request) -> HTMLResponse:
    return _render(request, "reports.html", fora=await ReportingStore(_runtime(request).db).fora())


@router.get("/berichte/{forum_id}", response_class=HTMLResponse)
async def report_page(request: Request, forum_id: str) -> HTMLResponse:
    data = await report.build(_runtime(request).db, forum_id)
    return HTMLResponse(report.render_html(request, data))


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, forum: str | None = None, staff: StaffMember = Depends(require_staff_page)) -> HTMLResponse:
    forum_id = await _forum_id(request, forum)
    workshops = await ReportingStore(_runtime(request).db).workshops(forum_id) if forum_id else []
    return _render(request, "dashboard.html", forum_id=forum_id, workshops=workshops, staff=staff)


@router.get("/moderation", response_class=HTMLResponse)
async def moderation_index(request: Request, forum: str | None = None, _staff: StaffMember = Depends(require_role_page("moderator"))) -> HTMLResponse:
    store = ReportingStore(_runtime(request).db)
    forum_id = await _forum_id(request, forum)
    return _staff_render(request, "moderation_index.html", forum=await store.forum(forum_id) if forum_id else None,
                   workshops=await store.workshops(forum_id) if forum_id else [])


async def _workshop_page(request: Request, workshop_id: str, *, errors: dict[str, str] | None = None,
                         values: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    runtime = _runtime(request)
    ws = await capture.workshop_or_404(runtime, workshop_id)
    store = CaptureStore(runtime.db)
    ideas = sorted(await store.of_workshop("ideas", workshop_id), key=lambda i: ((i.get("cluster") or "~").lower(), i["title"].lower()))
    tally = await voting.tally(runtime, workshop_id)
    sketches = sorted(await store.of_workshop("sketches", workshop_id), key=lambda s: (-tally.get(s["_id"], 0), s["title"].lower()))
    clusters = sorted({i["cluster"] for i in ideas if i.get("cluster")})
    voters = [v for v in await store.of_workshop("voters", workshop_id) if v.get("active")]
    editing = request.query_params.get("skizze")
    if editing and not values and (sketch := await store.get("sketches", editing)) and sketch["workshop_id"] == workshop_id:
        values = {**{k: v for k, v in sketch.items() if isinstance(v, str)}, "sketch_title": sketch["title"], "sketch_id": editing,
                  "funding_need_eur": "" if sketch.get("funding_need_eur") is None else str(sketch["funding_need_eur"]),
                  "funding_instruments": ", ".join(sketch.get("funding_instruments", [])),
                  "partners": sketch.get("partners", []), "idea_ids": sketch.get("idea_ids", [])}
    return _staff_render(request, "moderation.html", status, ws=ws, state=await store.workshop_state(workshop_id), ideas=ideas,
                   sketches=sketches, tally=tally, clusters=clusters, voters=len(voters), errors=errors or {},
                   values=values or {}, csrf=csrf_token(request), request_id=uuid.uuid4().hex,
                   notice=NOTICES[_lang(request)].get(request.query_params.get("ok", "")))


@router.get("/moderation/{workshop_id}", response_class=HTMLResponse)
async def moderation(request: Request, workshop_id: str, _staff: StaffMember = Depends(require_role_page("moderator", workshop_param="workshop_id"))) -> HTMLResponse:
    return await _workshop_page(request, workshop_id)


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


@router.post("/moderation/{workshop_id}", response_class=HTMLResponse)
async def moderation_post(request: Request, workshop_id: str, staff: StaffMember = Depends(require_role_page("moderator", workshop_param="workshop_id"))) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    action = str(form.get("action", ""))
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    values.update(partners=form.getlist("partners"), idea_ids=form.getlist("idea_ids"), actor_groups=form.getlist("actor_groups"))
    runtime = _runtime(request)
    try:
        if action == "idea":
            body = capture.IdeaCreate(title=values.get("title", ""), text=values.get("text", ""), tags=_list(values.get("tags", "")),
                                      cluster=values.get("cluster") or None, breakout_group=values.get("breakout_group") or None,
                                      actor_groups=form.getlist("actor_groups"), request_id=values.get("request_id"))
            await capture.capture_idea(runtime, workshop_id, body, staff.id)
            ok = "idee"
        elif action == "cluster":
            change = capture.IdeaChange(cluster=values.get("new_cluster") or values.get("cluster") or None)
            await capture.change_idea(runtime, values.get("idea_id", ""), change, staff.id, base_revision=int(values.get("revision", "0")) or None)
            ok = "cluster"
        elif action == "sketch":
            need = values.get("funding_need_eur", "").replace(".", "").replace("€", "").strip()
            body = capture.SketchCreate(
                title=values.get("sketch_title", ""), problem=values.get("problem", ""), goal=values.get("goal", ""),
                partners=form.getlist("partners"), timeline=values.get("timeline", ""), funding_need_eur=need or None,
                funding_instruments=_list(values.get("funding_instruments", "")), next_steps=values.get("next_steps", ""),
                contact=values.get("contact", ""), idea_ids=form.getlist("idea_ids"), request_id=values.get("request_id"),
                sketch_id=values.get("sketch_id") or None)
            await capture.submit_sketch(runtime, workshop_id, body)
            ok = "skizze"
        elif action == "dots":
            await voting.set_dots(runtime, workshop_id, voting.VotingSettings(dots=values.get("dots", "")).dots)
            ok = "punkte"
        elif action == "open_voting":
            await voting.open_voting(runtime, workshop_id, staff.id)
            ok = "geoeffnet"
        elif action == "finalize":
            await capture.finalize(runtime, workshop_id, staff.id)
            ok = "final"
        else:
            raise HTTPException(400, "Unbekannte Aktion.")
    except ValidationError as exc:
        text = "reason" if _lang(request) == "en" else "message"  # pydantic's own English reason, else the German text
        errors = {("sketch_title" if action == "sketch" and e["field"] == "title" else e["field"].split(".")[0]): e[text]
                  for e in field_errors(list(exc.errors()))}
        return await _workshop_page(request, workshop_id, errors=errors, values=values, status=422)
    return _back(request, f"/moderation/{workshop_id}", ok)


@router.get("/moderation/{workshop_id}/stimmkarten", response_class=HTMLResponse)
async def voting_cards(request: Request, workshop_id: str, _staff: StaffMember = Depends(require_role_page("moderator", workshop_param="workshop_id"))) -> HTMLResponse:
    ws = await capture.workshop_or_404(_runtime(request), workshop_id)
    links = await voting.voting_links(_runtime(request), workshop_id)
    return _staff_render(request, "voting_cards.html", ws=ws, links=links)


@router.get("/abstimmung/{token}", response_class=HTMLResponse)
async def ballot_page(request: Request, token: str) -> HTMLResponse:
    return await _ballot(request, token)


async def _ballot(request: Request, token: str, *, message: str | None = None, status: int = 200) -> HTMLResponse:
    runtime = _runtime(request)
    try:
        voter, state = await voting.ballot(runtime, token)
    except HTTPException:
        return _render(request, "message.html", 404, heading="Link ungültig / Invalid link",
                       text="Dieser Abstimmungslink ist nicht (mehr) gültig. – This voting link is not valid (any more).")
    ws = await capture.workshop_or_404(runtime, voter["workshop_id"])
    sketches = sorted(await CaptureStore(runtime.db).of_workshop("sketches", voter["workshop_id"]), key=lambda s: s["title"].lower())
    lang = _lang(request)
    t = BALLOT_TEXTS[lang]
    return _render(request, "ballot.html", status, ws=ws, state=state, sketches=sketches, token=token, lang=lang, t=t,
                   remaining=max(0, state["dots"] - voter["dots_used"]), request_id=uuid.uuid4().hex,
                   message=message or (t["counted"] if request.query_params.get("ok") == "stimme" else None))


@router.post("/abstimmung/{token}", response_class=HTMLResponse)
async def ballot_post(request: Request, token: str) -> Response:
    form = await request.form()
    try:
        body = voting.VoteCreate(token=token, target_id=str(form.get("target_id", "")), dots=1, request_id=str(form.get("request_id", "")) or None)
        await voting.cast_vote(_runtime(request), body)
    except HTTPException as exc:
        return await _ballot(request, token, message=str(exc.detail), status=exc.status_code)
    except ValidationError:
        return await _ballot(request, token, message=BALLOT_TEXTS[_lang(request)]["choose"], status=422)
    return RedirectResponse(f"/abstimmung/{token}?ok=stimme&lang={_lang(request)}", status_code=303)
