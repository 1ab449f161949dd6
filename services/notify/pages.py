"""Staff HTML pages: delivery log, webhooks, reminders, and previews of every mail template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from shared.auth import StaffMember, check_csrf, csrf_token, require_role_page, require_staff_page
from shared.events import CATALOGUE
from shared.http import field_errors

from .api import WebhookCreate
from .compose import build_message, sample
from .domain import TEMPLATES, render
from .store import NotifyStore
from .webhooks import WebhookStore

router = APIRouter(prefix="/staff", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates" / "pages")
TEMPLATE_NAMES_DE = {
    "acknowledgement": "Eingangsbestätigung", "accepted": "Zusage (mit Kalendereinladung)", "waitlisted": "Warteliste",
    "moved_up": "Nachgerückt", "rejected": "Absage", "cancelled": "Stornierung", "agenda_changed": "Programmänderung",
    "reminder": "Erinnerung", "report_available": "Bericht verfügbar",
    "invitation": "Persönliche Einladung", "invitation_reminder": "Erinnerung an eine Einladung",
}


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"csrf": csrf_token(request), **context})


@router.get("/deliveries", response_class=HTMLResponse)
async def deliveries_page(request: Request, _staff: StaffMember = Depends(require_staff_page)) -> HTMLResponse:
    db = request.app.state.runtime.db
    return _page(request, "deliveries.html", deliveries=await NotifyStore(db).list(200),
                 reminders=await NotifyStore(db).reminders(), names=TEMPLATE_NAMES_DE)


@router.get("/templates", response_class=HTMLResponse)
async def previews_page(request: Request, _staff: StaffMember = Depends(require_role_page("admin"))) -> HTMLResponse:
    return _page(request, "previews.html", kinds=TEMPLATES, names=TEMPLATE_NAMES_DE)


@router.get("/templates/{template}.{lang}.{fmt}")
async def preview(template: str, lang: str, fmt: str, _staff: StaffMember = Depends(require_role_page("admin"))) -> Response:
    """One template rendered with sample data: `html`, `txt`, or the whole message as `eml`."""
    if template not in TEMPLATES or lang not in ("de", "en") or fmt not in ("html", "txt", "eml"):
        raise HTTPException(404, "Vorlage nicht gefunden.")
    delivery, context = sample(template, lang)
    if fmt == "eml":
        message = build_message(delivery, context, mail_from="Themenforum <themenforum@example.org>")
        return Response(bytes(message), media_type="message/rfc822")
    mail = render(template, lang, context)
    if fmt == "txt":
        return PlainTextResponse(f"Betreff: {mail.subject}\n\n{mail.text}")
    return HTMLResponse(mail.html)


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(request: Request, _staff: StaffMember = Depends(require_role_page("admin"))) -> HTMLResponse:
    return await _webhooks(request, {}, {})


async def _webhooks(request: Request, errors: dict[str, str], values: dict[str, Any], created: dict[str, Any] | None = None,
                    status: int = 200) -> HTMLResponse:
    store = WebhookStore(request.app.state.runtime.db)
    response = _page(request, "webhooks.html", hooks=await store.list(), deliveries=await store.deliveries(50),
                     types=sorted(CATALOGUE), errors=errors, values=values, created=created)
    response.status_code = status
    return response


@router.post("/webhooks", response_class=HTMLResponse)
async def add_webhook(request: Request, _staff: StaffMember = Depends(require_role_page("admin")), csrf: str = Form(""),
                      url: str = Form("", max_length=500), description: str = Form("", max_length=200)) -> HTMLResponse:
    check_csrf(request, csrf)
    form = await request.form()
    types = [str(t) for t in form.getlist("event_types")]
    try:
        body = WebhookCreate(url=url, event_types=types, description=description)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = {e["field"]: e["message"] for e in field_errors(list(exc.errors()))}
        return await _webhooks(request, errors, {"url": url, "event_types": types, "description": description}, status=422)
    hook = await WebhookStore(request.app.state.runtime.db).register(str(body.url), body.event_types, None, description)
    return await _webhooks(request, {}, {}, created=hook, status=201)


@router.post("/webhooks/{hook_id}/delete")
async def remove_webhook(hook_id: str, request: Request, _staff: StaffMember = Depends(require_role_page("admin")),
                         csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    await WebhookStore(request.app.state.runtime.db).remove(hook_id)
    return RedirectResponse("/staff/webhooks", status_code=303)
