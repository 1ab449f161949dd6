"""CloudEvents 1.0 envelope (structured JSON mode) used on every topic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

DataT = TypeVar("DataT")

# Namespace for deterministic (uuid5) ids of things derived from events.
ID_NAMESPACE = uuid.UUID("6f1c3a52-9d0e-4f4e-9a53-1b7f0c2d8e11")


def derived_id(*parts: object) -> str:
    """A stable id for something created from the given parts (uuid5)."""
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(str(p) for p in parts)))


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class CloudEvent(BaseModel, Generic[DataT]):
    """A CloudEvents 1.0 envelope; `data` is the event family's payload model."""

    model_config = ConfigDict(extra="forbid")

    specversion: Literal["1.0"] = Field("1.0", description="CloudEvents specification version.")
    id: str = Field(description="Unique event id (UUID); consumers deduplicate by it.")
    type: str = Field(description="Event type, e.g. `registration.submitted`.", examples=["registration.submitted"])
    source: str = Field(description="The service that produced the event.", examples=["registration"])
    time: datetime = Field(description="When the event happened (RFC 3339, UTC).")
    subject: str = Field(description="Aggregate id; also the Kafka message key.")
    datacontenttype: Literal["application/json"] = "application/json"
    dataversion: str = Field("1", description="Version of the `data` schema; a breaking change bumps it.")
    correlationid: str = Field(description="Id that ties together all events caused by one request.")
    data: DataT


class RawEvent(CloudEvent[dict[str, Any]]):
    """Envelope with undecoded data, used before the type is known."""
