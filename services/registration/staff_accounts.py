"""Staff accounts and API tokens (admin only): the API under /api/v1/staff, owned by registration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shared.accounts.commands import (AccountError, cause, issue_token, list_accounts, list_tokens, public_account,
                                      revoke_token, save_account)
from shared.auth import StaffMember, require_role
from shared.events.staff import StaffRole

router = APIRouter(prefix="/api/v1/staff", tags=["staff access"])
Admin = Depends(require_role("admin"))
Name = Field(min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9._-]{1,62}$")
Workshops = Field(default_factory=list, max_length=50)


class AccountCreate(BaseModel):
    """A new staff account (without a password it can only use tokens)."""

    username: str = Name
    display_name: str = Field("", max_length=100)
    roles: list[StaffRole] = Field(min_length=1, max_length=5)
    workshops: list[str] = Workshops
    password: str | None = Field(None, min_length=12, max_length=200)


class AccountChange(BaseModel):
    """Fields to change; omitted ones stay."""

    display_name: str | None = Field(None, max_length=100)
    roles: list[StaffRole] | None = Field(None, max_length=5)
    workshops: list[str] | None = Field(None, max_length=50)
    password: str | None = Field(None, min_length=12, max_length=200)
    disabled: bool | None = None


class TokenCreate(BaseModel):
    """An API token for an account; roles and workshops narrow the account's (default: the same)."""

    username: str = Field(min_length=2, max_length=63)
    roles: list[StaffRole] | None = Field(None, max_length=5)
    workshops: list[str] | None = Field(None, max_length=50)
    label: str = Field("", max_length=100)


async def run_command(request: Request, kind: str, work: Any) -> Any:
    """Run one account command in a unit of work; command errors become 4xx naming the field."""
    try:
        return await request.app.state.runtime.unit_of_work(cause=cause(kind)).run(work)
    except AccountError as exc:
        raise HTTPException(exc.status, {"message": exc.message, "field": exc.field}) from exc


def _error(exc: HTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, dict) else {"message": str(exc.detail), "field": "body"}
    return JSONResponse({"detail": detail["message"], "errors": [
        {"field": detail["field"], "reason": detail["message"], "type": "value_error", "message": detail["message"]}]},
        status_code=exc.status_code)


@router.get("/accounts", summary="Admin: every staff account (without password hashes)")
async def get_accounts(request: Request, _admin: StaffMember = Admin) -> list[dict[str, Any]]:
    return await list_accounts(request.app.state.runtime.db)


@router.post("/accounts", status_code=201, summary="Admin: create a staff account")
async def create_account(request: Request, body: AccountCreate, _admin: StaffMember = Admin) -> Any:
    try:
        doc = await run_command(request, "account", lambda uow: save_account(
            uow, username=body.username, create=True, roles=[r.value for r in body.roles], workshops=body.workshops,
            display_name=body.display_name, password=body.password))
    except HTTPException as exc:
        return _error(exc)
    return JSONResponse(public_account(doc), status_code=201)


@router.patch("/accounts/{username}", summary="Admin: change roles, workshops, password or disable an account")
async def change_account(request: Request, username: str, body: AccountChange, _admin: StaffMember = Admin) -> Any:
    try:
        doc = await run_command(request, "account", lambda uow: save_account(
            uow, username=username, create=False, roles=None if body.roles is None else [r.value for r in body.roles],
            workshops=body.workshops, display_name=body.display_name, password=body.password, disabled=body.disabled))
    except HTTPException as exc:
        return _error(exc)
    return public_account(doc)


@router.get("/tokens", summary="Admin: every API token (without the tokens themselves)")
async def get_tokens(request: Request, _admin: StaffMember = Admin) -> list[dict[str, Any]]:
    return await list_tokens(request.app.state.runtime.db)


@router.post("/tokens", status_code=201, summary="Admin: issue an API token (the answer shows it once)")
async def create_token(request: Request, body: TokenCreate, _admin: StaffMember = Admin) -> Any:
    try:
        token_id, token = await run_command(request, "token", lambda uow: issue_token(
            uow, username=body.username, roles=None if body.roles is None else [r.value for r in body.roles],
            workshops=body.workshops, label=body.label))
    except HTTPException as exc:
        return _error(exc)
    return JSONResponse({"token_id": token_id, "token": token}, status_code=201)


@router.delete("/tokens/{token_id}", status_code=204, summary="Admin: revoke an API token")
async def delete_token(request: Request, token_id: str, _admin: StaffMember = Admin) -> Response:
    try:
        await run_command(request, "revoke", lambda uow: revoke_token(uow, token_id))
    except HTTPException as exc:
        return _error(exc)
    return Response(status_code=204)
