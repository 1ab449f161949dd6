"""Admin pages for staff accounts and API tokens (German first, English via ?lang=en)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.accounts import ROLES
from shared.accounts.commands import AccountError, cause, issue_token, list_accounts, list_tokens, revoke_token, save_account
from shared.auth import StaffMember, check_csrf, csrf_token, require_role_page, templates

router = APIRouter(include_in_schema=False)
AdminPage = Depends(require_role_page("admin"))


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "de"


async def _page(request: Request, staff: StaffMember, *, error: AccountError | None = None, token: str = "",
                notice: str = "", status: int = 200) -> HTMLResponse:
    db = request.app.state.runtime.db
    return templates.TemplateResponse(request, "staff_accounts.html", {
        "lang": _lang(request), "staff": staff, "accounts": await list_accounts(db), "tokens": await list_tokens(db),
        "roles": ROLES, "csrf": csrf_token(request), "error": error, "new_token": token, "notice": notice},
        status_code=status)


async def _run(request: Request, kind: str, work: Any) -> Any:
    return await request.app.state.runtime.unit_of_work(cause=cause(kind)).run(work)


def _list(form: Any, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()][:50]


def _workshops(form: Any) -> list[str]:
    raw = form.get("workshops") or ""
    return [w.strip() for w in str(raw).replace(";", ",").split(",") if w.strip()][:50]


def _back(request: Request) -> str:
    return "/staff/accounts" + ("?lang=en" if _lang(request) == "en" else "")


@router.get("/staff/accounts", response_class=HTMLResponse)
async def accounts_page(request: Request, staff: StaffMember = AdminPage) -> HTMLResponse:
    return await _page(request, staff)


@router.post("/staff/accounts", response_class=HTMLResponse)
async def create_account(request: Request, staff: StaffMember = AdminPage) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    password = str(form.get("password", "")) or None
    try:
        await _run(request, "account", lambda uow: save_account(
            uow, username=str(form.get("username", "")).strip().lower(), create=True, roles=_list(form, "roles"),
            workshops=_workshops(form), display_name=str(form.get("display_name", ""))[:100], password=password))
    except AccountError as exc:
        return await _page(request, staff, error=exc, status=exc.status)
    return RedirectResponse(_back(request), status_code=303)


@router.post("/staff/accounts/{username}", response_class=HTMLResponse)
async def change_account(request: Request, username: str, staff: StaffMember = AdminPage) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    try:
        await _run(request, "account", lambda uow: save_account(
            uow, username=username, create=False, roles=_list(form, "roles"), workshops=_workshops(form),
            password=str(form.get("password", "")) or None, disabled=form.get("disabled") == "on"))
    except AccountError as exc:
        return await _page(request, staff, error=exc, status=exc.status)
    return RedirectResponse(_back(request), status_code=303)


@router.post("/staff/tokens", response_class=HTMLResponse)
async def create_token(request: Request, staff: StaffMember = AdminPage) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    try:
        _id, token = await _run(request, "token", lambda uow: issue_token(
            uow, username=str(form.get("username", "")).strip().lower(), roles=_list(form, "roles") or None,
            workshops=_workshops(form) or None, label=str(form.get("label", ""))[:100]))
    except AccountError as exc:
        return await _page(request, staff, error=exc, status=exc.status)
    return await _page(request, staff, token=token, status=201)


@router.post("/staff/tokens/{token_id}/revoke", response_class=HTMLResponse)
async def revoke(request: Request, token_id: str, staff: StaffMember = AdminPage) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    try:
        await _run(request, "revoke", lambda uow: revoke_token(uow, token_id))
    except AccountError as exc:
        return await _page(request, staff, error=exc, status=exc.status)
    return RedirectResponse(_back(request), status_code=303)


