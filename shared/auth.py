"""Staff authentication: Bearer tokens for API clients, a signed session cookie for browsers.

The bootstrap token from `FORUM_BOOTSTRAP_TOKEN` is an admin token for operators'
automation and tests. Browsers log in at `/staff/login` with the admin password
(`FORUM_ADMIN_PASSWORD`); the session cookie is signed with `FORUM_SESSION_SECRET`, which
all services share, so one log-in serves every service on the same host. Accounts with
roles and hashed passwords build on this (see the hardening issue).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.ratelimit import RateLimiter

bearer = HTTPBearer(auto_error=False, description="Staff API token")
LOGIN_LIMIT = RateLimiter(per_minute=10, burst=10)
SESSION_COOKIE = "tf_staff"
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class StaffMember:
    """Who is calling a staff route."""

    id: str
    role: str


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


def session_member(request: Request) -> StaffMember | None:
    """The staff member of a valid session cookie, if any."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        payload = _unsign(request.app.state.settings, cookie)
    except (ValueError, HTTPException):
        return None
    return StaffMember(id=payload["sub"], role=payload["role"]) if payload else None


def csrf_token(request: Request) -> str:
    """The CSRF token for forms of this staff session (bound to the session cookie)."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return hmac.new(_secret(request.app.state.settings), b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, token: str | None) -> None:
    """Refuse a state-changing staff form whose CSRF token does not match the session."""
    if not token or not hmac.compare_digest(token, csrf_token(request)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Sicherheitsprüfung fehlgeschlagen (CSRF). Bitte laden Sie die Seite neu.")


async def require_staff(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> StaffMember:
    """Dependency for staff APIs: a valid Bearer token or a staff session cookie."""
    settings = request.app.state.settings
    if credentials is not None and credentials.scheme.lower() == "bearer":
        expected = settings.forum_bootstrap_token.get_secret_value() if settings.forum_bootstrap_token else None
        if expected and hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
            return StaffMember(id="bootstrap-admin", role="admin")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Ungültiges Token.", {"WWW-Authenticate": "Bearer"})
    member = session_member(request)
    if member is not None:
        return member
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Anmeldung erforderlich.", {"WWW-Authenticate": "Bearer"})


class LoginRequired(Exception):
    """Raised by `require_staff_page`; the app answers with a redirect to the log-in page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


async def require_staff_page(request: Request) -> StaffMember:
    """Dependency for staff HTML pages: the session, or a redirect to the log-in form."""
    member = session_member(request)
    if member is None:
        raise LoginRequired(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))
    return member


async def login_required_handler(_request: Request, exc: LoginRequired) -> Response:
    return RedirectResponse(f"/staff/login?next={quote(exc.next_url)}", status_code=303)


LOGIN_PAGE = """<!doctype html><html lang="de"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Anmeldung für Mitarbeitende – Themenforum</title>
<link rel="stylesheet" href="/static/base.css"></head><body>
<header class="site"><div class="inner"><a href="/">Themenforum</a></div></header>
<main id="inhalt"><h1>Anmeldung für Mitarbeitende</h1>{error}
<form method="post" action="/staff/login"><input type="hidden" name="next" value="{next}">
<label for="username">Benutzername</label><input type="text" id="username" name="username" autocomplete="username" required>
<label for="password">Passwort</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Anmelden</button></form></main></body></html>"""


def _safe_next(next_url: str) -> str:
    return next_url if next_url.startswith("/") and not next_url.startswith("//") else "/"


def login_router() -> APIRouter:
    """`/staff/login` and `/staff/logout` for browsers."""
    router = APIRouter(include_in_schema=False)

    @router.get("/staff/login", response_class=HTMLResponse)
    async def login_form(next: str = Query("/", max_length=500)) -> HTMLResponse:
        from html import escape

        return HTMLResponse(LOGIN_PAGE.format(error="", next=escape(_safe_next(next))))

    @router.post("/staff/login")
    async def login(request: Request, username: str = Form(max_length=100), password: str = Form(max_length=500),
                    next: str = Form("/", max_length=500)) -> Response:
        from html import escape

        settings = request.app.state.settings
        address = request.client.host if request.client else "unknown"
        if LOGIN_LIMIT.exhausted(address):  # only failed attempts count, so staff are never locked out by success
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "Zu viele Fehlversuche. Bitte warten Sie eine Minute.",
                                {"Retry-After": "60"})
        expected = settings.forum_admin_password.get_secret_value() if settings.forum_admin_password else None
        if not (expected and username == "admin" and hmac.compare_digest(password.encode(), expected.encode())):
            LOGIN_LIMIT.allow(address)
            page = LOGIN_PAGE.format(error='<div class="error-summary" role="alert"><p>Benutzername oder Passwort ist falsch.</p></div>',
                                     next=escape(_safe_next(next)))
            return HTMLResponse(page, status_code=401)
        response = RedirectResponse(_safe_next(next), status_code=303)
        cookie = _sign(settings, {"sub": username, "role": "admin", "exp": int(time.time()) + SESSION_SECONDS})
        response.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_SECONDS, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    @router.post("/staff/logout")
    async def logout() -> Response:
        response = RedirectResponse("/staff/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    return router
