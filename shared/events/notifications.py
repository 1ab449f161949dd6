"""`forum.notifications`: messages to people (owned by notify)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class NotificationRequested(BaseModel):
    """Some service asks notify to send a templated message."""

    notification_id: str
    recipient_id: str = Field(description="Participant id.")
    template: str
    language: str = "de"
    context: dict[str, object] = {}
    forum_id: str | None = Field(None, description="Forum the message is about (for titles and dates).")
    workshop_id: str | None = Field(None, description="Workshop the message is about, if any.")


class NotificationSent(BaseModel):
    """A message was handed to the mail server."""

    notification_id: str
    recipient_id: str
    template: str
    cause_event_id: str
    forum_id: str | None = None
    sent_at: datetime


class NotificationFailed(BaseModel):
    """A message could not be delivered after its attempts."""

    notification_id: str
    recipient_id: str
    template: str
    cause_event_id: str
    forum_id: str | None = None
    attempts: int
    error: str
    permanent: bool = False
