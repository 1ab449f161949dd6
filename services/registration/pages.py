"""Public HTML pages: the registration form, confirmation and status (work without JavaScript)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from shared.events.common import ACTOR_GROUP_LABELS_DE, ACTOR_GROUP_LABELS_EN
from shared.http import field_errors
from shared.municipalities import ruhr_municipalities

from . import invitations
from .api import authorised_registration, cancel, live_status, submit_registration
from shared.events.catalogue import ForumStatus

from .domain import IntakeError, RegistrationCreate, registration_open, window_text
from .windows import clock_of
from .store import RegistrationStore
from .texts import LABELS, TEXTS

router = APIRouter(include_in_schema=False)
RATE_WINDOW_S = 60.0
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
CSRF_COOKIE = "tf_csrf"


def _lang(lang: str | None) -> str:
    return "en" if lang == "en" else "de"


async def _render_form(request: Request, lang: str, values: dict[str, Any], errors: dict[str, str], status: int = 200) -> HTMLResponse:
    store = RegistrationStore(request.app.state.runtime.db)
    forum = await store.get_forum(values["forum_id"]) if values.get("forum_id") else None
    if forum is None or forum.status == ForumStatus.archived:
        forum = await store.default_forum()
    workshops = await store.workshops(forum.forum_id) if forum else []
    labels = ACTOR_GROUP_LABELS_DE if lang == "de" else ACTOR_GROUP_LABELS_EN
    now = clock_of(request.app.state).now()
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request, "form.html",
        {"lang": lang, "t": TEXTS[lang], "labels": LABELS[lang], "forum": forum, "workshops": workshops,
         "is_open": bool(forum and registration_open(forum, now)),
         "window_text": window_text(forum, now, lang) if forum else "", "groups": [(g.value, l) for g, l in labels.items()],
         "municipalities": ruhr_municipalities(), "values": values, "errors": errors, "csrf_token": token},
        status_code=status,
    )
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


@router.get("/", response_class=HTMLResponse)
async def form(request: Request, lang: str | None = Query(None, max_length=5), forum: str | None = Query(None, max_length=100),
               invitation: str | None = Query(None, max_length=200)) -> HTMLResponse:
    values = {"forum_id": forum} if forum else {}
    if invitation:  # a personal invitation link pre-fills the form
        values = await invitations.form_values(request.app.state.runtime.db, invitation) or values
    return await _render_form(request, _lang(lang), values, {})


@router.post("/", response_class=HTMLResponse)
async def submit_form(request: Request, lang: str | None = Query(None, max_length=5)) -> HTMLResponse:
    lang = _lang(lang)
    form_data = await request.form()
    values = {k: str(v) for k, v in form_data.items() if isinstance(v, str)}
    if not _within_rate(request):
        return await _render_form(request, lang, values, {"email": TEXTS[lang]["rate"]}, status=429)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, values.get("csrf_token", "")):
        return await _render_form(request, lang, values, {"consent": TEXTS[lang]["csrf"]}, status=400)
    if values.get("website"):  # honeypot: bots fill every field; answer as if all went well
        return templates.TemplateResponse(request, "confirmation.html", {"lang": lang, "t": TEXTS[lang], "page_url": "/"}, status_code=202)
    body = {
        "forum_id": values.get("forum_id") or None, "first_name": values.get("first_name", ""),
        "last_name": values.get("last_name", ""), "email": values.get("email", ""),
        "organisation": values.get("organisation", ""), "role": values.get("role", ""),
        "actor_group": values.get("actor_group", ""), "municipality": values.get("municipality", ""),
        "preferences": [values[k] for k in sorted(values) if k.startswith("preference_") and values[k]],
        "motivation": values.get("motivation", ""), "language": lang, "consent": values.get("consent") == "true",
        "invitation_token": values.get("invitation_token") or None,
    }
    try:
        parsed = RegistrationCreate.model_validate(body)
        status, answer = await submit_registration(request, parsed)
    except ValidationError as exc:
        errors = {e["field"].split(".")[0]: e["message"] for e in field_errors(list(exc.errors()))}
        if "email" in errors:  # the e-mail validator answers in English
            errors["email"] = TEXTS[lang]["email_invalid"]
        return await _render_form(request, lang, values, errors, status=422)
    except IntakeError as exc:
        return await _render_form(request, lang, values, {exc.field: exc.message}, status=422)
    page_url = answer.get("status_page_url") or "/"
    return templates.TemplateResponse(
        request, "confirmation.html", {"lang": lang, "t": TEXTS[lang], "page_url": page_url}, status_code=status
    )


@router.get("/status/{registration_id}", response_class=HTMLResponse)
async def status_page(request: Request, registration_id: str, token: str = Query(..., max_length=200),
                      lang: str | None = Query(None, max_length=5)) -> HTMLResponse:
    lang = _lang(lang)
    view = await live_status(request, await authorised_registration(request, registration_id, token, None))
    return templates.TemplateResponse(request, "status.html", {"lang": lang, "t": TEXTS[lang], "view": view, "token": token})


@router.post("/status/{registration_id}/cancel", response_class=HTMLResponse)
async def cancel_page(request: Request, registration_id: str, token: str = Query(..., max_length=200),
                      lang: str | None = Query(None, max_length=5)) -> HTMLResponse:
    # The secret token in the link is the person's credential, so a forged cross-site post cannot know it.
    lang = _lang(lang)
    view = await cancel(request, await authorised_registration(request, registration_id, token, None), "participant")
    return templates.TemplateResponse(request, "status.html", {"lang": lang, "t": TEXTS[lang], "view": view, "token": token})


def _within_rate(request: Request) -> bool:
    """Per-address limit on form submissions (sliding window, per process)."""
    import time

    limit = request.app.state.settings.form_rate_limit_per_minute
    if limit <= 0:
        return True
    seen: dict[str, list[float]] = request.app.state.__dict__.setdefault("form_submissions", {})
    address = request.client.host if request.client else "unknown"
    now = time.monotonic()
    recent = [t for t in seen.get(address, []) if now - t < RATE_WINDOW_S]
    if len(seen) > 10_000:
        seen.clear()  # bounded memory under a flood of addresses
    seen[address] = recent + [now]
    return len(recent) < limit
