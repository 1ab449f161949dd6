"""`forum.deadletter`: messages that could not be handled."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class DeadLetter(BaseModel):
    """A message some service gave up on, with where it came from and why."""

    original_value_b64: str = Field(description="The original message bytes, base64.")
    original_key: str | None = None
    topic: str
    partition: int
    offset: int
    error: str
    service: str
    event_id: str | None = None
    event_type: str | None = None
    failed_at: datetime
