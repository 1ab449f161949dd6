"""HTTP pieces every service shares: probes, metrics, AsyncAPI, errors, body limits."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics

REASONS_DE = {
    "missing": "Pflichtfeld fehlt.",
    "json_invalid": "Kein gültiges JSON.",
    "string_too_long": "Zu lang.",
    "string_too_short": "Zu kurz.",
    "too_long": "Zu viele Einträge.",
    "too_short": "Zu wenige Einträge.",
    "string_type": "Text erwartet.",
    "bool_type": "Ja/Nein-Wert erwartet.",
    "bool_parsing": "Ja/Nein-Wert erwartet.",
    "list_type": "Liste erwartet.",
    "enum": "Unzulässiger Wert.",
    "literal_error": "Unzulässiger Wert.",
    "extra_forbidden": "Unbekanntes Feld.",
    "model_attributes_type": "Objekt erwartet.",
    "dict_type": "Objekt erwartet.",
}


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Turn pydantic errors into `{field, reason, message}` with a German message."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        reason = err.get("msg", "invalid")
        ctx_msg = str(err.get("ctx", {}).get("error", "")) if err.get("ctx") else ""
        out.append(
            {
                "field": ".".join(loc) or "body",
                "reason": reason,
                "type": err.get("type", "value_error"),
                "message": ctx_msg or REASONS_DE.get(err.get("type", ""), reason),
            }
        )
    return out


class FieldError(BaseModel):
    """One refused field."""

    field: str
    reason: str
    type: str
    message: str


class ErrorResponse(BaseModel):
    """What every 4xx with field errors looks like (422, 413)."""

    detail: str
    errors: list[FieldError] = []


def document_error_shape(app: FastAPI) -> None:
    """Make the OpenAPI document promise the 422 body the services really send."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if "HTTPValidationError" in components:
            shape = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(shape.pop("$defs", {}))
            components["HTTPValidationError"] = shape
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


async def validation_error_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each field and the reason."""
    errors = field_errors(list(exc.errors()))
    return JSONResponse(
        status_code=422,
        content={"detail": "Die Eingabe ist ungültig.", "errors": errors},
    )


class BodyLimitMiddleware:
    """Refuse request bodies above a byte limit with 413, before they are parsed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        # Read the body up to the limit first (bodies here are small), then replay it.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > self.max_bytes:
                await self._too_large(send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        body = json.dumps(
            {"detail": "Die Anfrage ist zu groß.", "errors": [{"field": "body", "reason": "request body too large",
                                                                "type": "too_large", "message": f"Höchstens {self.max_bytes} Bytes."}]}
        ).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


# No inline scripts anywhere; inline style attributes are allowed for server-rendered bar widths.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in self.headers if h[0] not in present]
            await send(message)

        await self.app(scope, receive, with_headers)


def install_common(app: FastAPI, *, service: str, max_body_bytes: int) -> None:
    """Error handlers, body limit, security headers and request metrics (paths only: no query strings logged)."""
    app.add_exception_handler(RequestValidationError, validation_error_handler)  # type: ignore[arg-type]
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    document_error_shape(app)
    app.add_middleware(RequestMetricsMiddleware, service=service)


class RequestMetricsMiddleware:
    """Count each response by route template and status, and time it to its first byte (a stream's length is not its cost).

    A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` (what `@app.middleware("http")` makes)
    runs every request through a task group and a memory stream, which showed in py-spy profiles
    of the registration service under a rush of submissions.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "unmatched")  # set by the router on this scope
                metrics.HTTP_REQUESTS.labels(self.service, scope["method"], route, str(message["status"])).inc()
                metrics.HTTP_SECONDS.labels(self.service, route).observe(time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, counted)


def probes_router() -> APIRouter:
    """/healthz, /readyz, /metrics and /asyncapi."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: bus and store reachable")
    async def readyz(request: Request) -> JSONResponse:
        checks = await request.app.state.runtime.readiness()
        ok = all(checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse,
                responses={200: {"content": {"text/plain": {}}}})
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/asyncapi", summary="AsyncAPI document of this service's events")
    async def asyncapi(request: Request) -> JSONResponse:
        return JSONResponse(request.app.state.runtime.asyncapi())

    return router
