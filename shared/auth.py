"""Staff authentication and roles: Bearer tokens for API clients, a signed session cookie for browsers.

Accounts and tokens come from the `forum.staff` projection every service keeps
(`shared.accounts.projection`); each request is checked against it, so a role change, a
disabled account or a revoked token takes effect at once in every service. The bootstrap
token (`FORUM_BOOTSTRAP_TOKEN`) is an admin token; the built-in `admin` account logs in with
`FORUM_ADMIN_PASSWORD`. The cookie is signed with `FORUM_SESSION_SECRET`, shared by all
services, so one log-in serves every service on the same host.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates

from shared.accounts import ANY_STAFF, BUILTIN_ADMIN, allowed, effective_roles, password_fingerprint, verify_password
from shared.accounts.projection import find_account, find_token
from shared.ratelimit import RateLimiter

bearer = HTTPBearer(auto_error=False, description="Staff API token")
LOGIN_LIMIT = RateLimiter(per_minute=10, burst=10)
SESSION_COOKIE = "tf_staff"
SESSION_SECONDS = 8 * 3600
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@dataclass(frozen=True)
class StaffMember:
    """Who is calling a staff route, with what they may do right now."""

    id: str
    roles: tuple[str, ...] = ()
    workshops: tuple[str, ...] = field(default=())
    via: str = "session"

    @property
    def role(self) -> str:
        """The strongest role (admin first), for code that needs just one."""
        return "admin" if "admin" in self.roles else (self.roles[0] if self.roles else "")

    def may(self, *required: str, workshop: str | None = None) -> bool:
        """Does this member hold one of the required roles (for this workshop)?"""
        return allowed(self.roles, self.workshops, required, workshop)


def _secret(settings: Any) -> bytes:
    raw = settings.forum_session_secret or settings.forum_bootstrap_token
    if raw is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Staff log-in is not configured.")
    return hashlib.sha256(b"themenforum-session:" + raw.get_secret_value().encode()).digest()


def _sign(settings: Any, payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    mac = hmac.new(_secret(settings), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _unsign(settings: Any, value: str) -> dict[str, Any] | None:
    body, _, mac = value.rpartition(".")
    if not body or not hmac.compare_digest(mac, hmac.new(_secret(settings), body.encode(), hashlib.sha256).hexdigest()):
        return None
    payload = json.loads(base64.urlsafe_b64decode(body))
    return payload if payload.get("exp", 0) > time.time() else None


def _db(request: Request) -> Any:
    return request.app.state.runtime.db


async def session_member(request: Request) -> StaffMember | None:
    """The staff member of a valid session cookie whose account is still active, if any."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        payload = _unsign(request.app.state.settings, cookie)
    except (ValueError, HTTPException):
        return None
    if not payload:
        return None
    account = await find_account(_db(request), payload["sub"])
    if account is None or account.get("disabled") or payload.get("pw") != password_fingerprint(account.get("password_hash")):
        return None
    return StaffMember(id=account["_id"], roles=tuple(account["roles"]), workshops=tuple(account.get("workshops", [])))


async def token_member(request: Request, token: str) -> StaffMember | None:
    """The staff member an API token acts for (None: unknown, revoked, or its account disabled)."""
    settings = request.app.state.settings
    expected = settings.forum_bootstrap_token.get_secret_value() if settings.forum_bootstrap_token else None
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return StaffMember(id="bootstrap-admin", roles=("admin",), via="token")
    record = await find_token(_db(request), token)
    account = await find_account(_db(request), record["username"]) if record else None
    if record is None or account is None or account.get("disabled"):
        return None
    roles = effective_roles(record["roles"], account["roles"])
    scope = record.get("workshops", [])
    workshops = scope if "admin" in account["roles"] else [w for w in scope if w in account.get("workshops", [])]
    return StaffMember(id=record["username"], roles=roles, workshops=tuple(workshops), via="token") if roles else None


def csrf_token(request: Request) -> str:
    """The CSRF token for forms of this staff session (bound to the session cookie)."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return hmac.new(_secret(request.app.state.settings), b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, token: str | None) -> None:
    """Refuse a state-changing staff form whose CSRF token does not match the session.

    Requests authenticated by a Bearer token need none: browsers never add that header by themselves.
    """
    if getattr(request.state, "staff_via", None) == "token":
        return
    if not token or not hmac.compare_digest(token, csrf_token(request)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Sicherheitsprüfung fehlgeschlagen (CSRF). Bitte laden Sie die Seite neu.")


async def _member(request: Request, credentials: HTTPAuthorizationCredentials | None) -> StaffMember | None:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        member = await token_member(request, credentials.credentials)
        if member is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Ungültiges Token.", {"WWW-Authenticate": "Bearer"})
    else:
        member = await session_member(request)
    if member is not None:
        request.state.staff_via = member.via
    return member


class LoginRequired(Exception):
    """Raised by page dependencies; the app answers with a redirect to the log-in page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class RoleRequired(Exception):
    """A logged-in member lacks the role a page needs; the app answers 403 with an HTML page."""


def _workshop_of(request: Request, param: str | None) -> str | None:
    return request.path_params.get(param) if param else None


def require_role(*roles: str, workshop_param: str | None = None) -> Callable[..., Awaitable[StaffMember]]:
    """API dependency: a token or session holding one of `roles` (admin always; moderators per workshop)."""

    async def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> StaffMember:
        member = await _member(request, credentials)
        if member is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Anmeldung erforderlich.", {"WWW-Authenticate": "Bearer"})
        if not member.may(*roles, workshop=_workshop_of(request, workshop_param)):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Dafür fehlt Ihnen die Berechtigung.")
        return member

    return dependency


def require_role_page(*roles: str, workshop_param: str | None = None) -> Callable[..., Awaitable[StaffMember]]:
    """Page dependency: like `require_role`, but anonymous browsers are sent to the log-in form."""

    async def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> StaffMember:
        member = await _member(request, credentials)
        if member is None:
            raise LoginRequired(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))
        if not member.may(*roles, workshop=_workshop_of(request, workshop_param)):
            raise RoleRequired()
        return member

    return dependency


require_staff = require_role(ANY_STAFF)  # any staff member (viewer and up)
require_staff_page = require_role_page(ANY_STAFF)


async def login_required_handler(_request: Request, exc: LoginRequired) -> Response:
    return RedirectResponse(f"/staff/login?next={quote(exc.next_url)}", status_code=303)


async def role_required_handler(request: Request, _exc: RoleRequired) -> Response:
    lang = "en" if request.query_params.get("lang") == "en" else "de"
    return templates.TemplateResponse(request, "forbidden.html", {"lang": lang}, status_code=403)


def _safe_next(next_url: str) -> str:
    return next_url if next_url.startswith("/") and not next_url.startswith("//") else "/"


def _login_page(request: Request, next_url: str, *, error: bool = False, status_code: int = 200) -> Response:
    lang = "en" if request.query_params.get("lang") == "en" else "de"
    return templates.TemplateResponse(request, "login.html", {"lang": lang, "next": _safe_next(next_url), "error": error},
                                      status_code=status_code)


async def _check_password(request: Request, username: str, password: str) -> dict[str, Any] | None:
    """The account whose password this is, or None (the built-in admin checks the settings' password)."""
    settings = request.app.state.settings
    if username == BUILTIN_ADMIN:
        expected = settings.forum_admin_password.get_secret_value() if settings.forum_admin_password else None
        ok = bool(expected) and hmac.compare_digest(password.encode(), (expected or "").encode())
        return await find_account(_db(request), BUILTIN_ADMIN) if ok else None
    account = await find_account(_db(request), username)
    usable = account is not None and not account.get("disabled")
    ok = verify_password(account.get("password_hash") if usable and account else None, password)
    return account if ok and usable else None


def whoami_router() -> APIRouter:
    """`GET /api/v1/staff/me`: who the credentials belong to and what they may do (every service)."""
    router = APIRouter(prefix="/api/v1/staff", tags=["staff access"])

    @router.get("/me", summary="Staff: the calling member's name, roles and workshops")
    async def me(member: StaffMember = Depends(require_staff)) -> dict[str, Any]:
        return {"id": member.id, "roles": list(member.roles), "workshops": list(member.workshops), "via": member.via}

    return router


def login_router() -> APIRouter:
    """`/staff/login` and `/staff/logout` for browsers."""
    router = APIRouter(include_in_schema=False)

    @router.get("/staff/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str = Query("/", max_length=500)) -> Response:
        return _login_page(request, next)

    @router.post("/staff/login")
    async def login(request: Request, username: str = Form(max_length=100), password: str = Form(max_length=500),
                    next: str = Form("/", max_length=500)) -> Response:
        settings = request.app.state.settings
        address = request.client.host if request.client else "unknown"
        if LOGIN_LIMIT.exhausted(address):  # only failed attempts count, so staff are never locked out by success
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "Zu viele Fehlversuche. Bitte warten Sie eine Minute.",
                                {"Retry-After": "60"})
        account = await _check_password(request, username.strip().lower(), password)
        if account is None:
            LOGIN_LIMIT.allow(address)
            return _login_page(request, next, error=True, status_code=401)
        response = RedirectResponse(_safe_next(next), status_code=303)
        cookie = _sign(settings, {"sub": account["_id"], "roles": account["roles"],
                                  "pw": password_fingerprint(account.get("password_hash")),
                                  "exp": int(time.time()) + SESSION_SECONDS})
        # Lax, not Strict: a staff member following a link from a mail or another service must arrive logged in;
        # every state change is a POST with a CSRF token, which Lax does not send cross-site anyway.
        response.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_SECONDS, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https" or settings.forum_secure_cookies)
        return response

    @router.post("/staff/logout")
    async def logout() -> Response:
        response = RedirectResponse("/staff/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    return router
