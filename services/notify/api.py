"""HTTP routes of the notify service (staff only): delivery log, reminders, webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import AnyHttpUrl, BaseModel, Field, field_validator

from shared.auth import StaffMember, require_role, require_staff
from shared.events import CATALOGUE

from .store import NotifyStore
from .webhooks import WebhookStore

router = APIRouter(prefix="/api/v1", tags=["notify"])


def _db(request: Request) -> Any:
    return request.app.state.runtime.db


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": r.pop("_id"), **r} for r in rows]


@router.get("/deliveries", summary="Staff: the delivery log (newest first)")
async def list_deliveries(
    request: Request, _staff: StaffMember = Depends(require_staff),
    limit: int = Query(100, ge=1, le=1000),
    status: str | None = Query(None, pattern="^(waiting|pending|sending|sent|failed)$"),
) -> list[dict[str, Any]]:
    return _rows(await NotifyStore(_db(request)).list(limit, status))


@router.get("/reminders", summary="Staff: planned and fired reminders")
async def list_reminders(request: Request, _staff: StaffMember = Depends(require_staff),
                         forum_id: str | None = Query(None, max_length=100)) -> list[dict[str, Any]]:
    return _rows(await NotifyStore(_db(request)).reminders(forum_id))


class SchedulerRun(BaseModel):
    """Run the reminder scheduler once as if it were `now` (rehearsals and tests)."""

    now: datetime = Field(description="The moment to run the scheduler for (RFC 3339 with offset).")

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("Zeitzone fehlt (z. B. 2027-03-18T09:00:00+01:00).")
        return value


@router.post("/reminders/run", summary="Staff: fire the reminders due at a given time (each fires only once)")
async def run_reminders(body: SchedulerRun, request: Request, _staff: StaffMember = Depends(require_role("admin"))) -> dict[str, Any]:
    fired = await request.app.state.scheduler.fire_due(body.now)
    return {"fired": fired}


class WebhookCreate(BaseModel):
    """A webhook endpoint and the event types it receives (`*` for all)."""

    url: AnyHttpUrl
    event_types: list[str] = Field(min_length=1, max_length=50)
    secret: str | None = Field(None, min_length=16, max_length=200, description="Generated when omitted.")
    description: str = Field("", max_length=200)

    @field_validator("event_types")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t != "*" and t not in CATALOGUE]
        if unknown:
            raise ValueError(f"Unbekannter Ereignistyp: {', '.join(unknown)}")
        return value


@router.post("/webhooks", status_code=201, summary="Staff: register a webhook (the answer shows the secret once)")
async def create_webhook(body: WebhookCreate, request: Request, _staff: StaffMember = Depends(require_role("admin"))) -> dict[str, Any]:
    hook = await WebhookStore(_db(request)).register(str(body.url), body.event_types, body.secret, body.description)
    return {"id": hook.pop("_id"), **hook}


@router.get("/webhooks", summary="Staff: registered webhooks (without secrets)")
async def list_webhooks(request: Request, _staff: StaffMember = Depends(require_role("admin"))) -> list[dict[str, Any]]:
    return _rows(await WebhookStore(_db(request)).list())


@router.delete("/webhooks/{hook_id}", status_code=204, summary="Staff: deactivate a webhook")
async def delete_webhook(hook_id: str, request: Request, _staff: StaffMember = Depends(require_role("admin"))) -> None:
    if not await WebhookStore(_db(request)).remove(hook_id):
        raise HTTPException(404, "Webhook nicht gefunden.")


@router.get("/webhook-deliveries", summary="Staff: the webhook delivery log (newest first)")
async def list_webhook_deliveries(request: Request, _staff: StaffMember = Depends(require_role("admin")),
                                  limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    return _rows(await WebhookStore(_db(request)).deliveries(limit))
