"""The event catalogue: every event type, its topic and its data model."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from shared import topics

from . import agenda, catalogue, keys, notifications, participants, registrations, results, selection, staff
from .envelope import CloudEvent, RawEvent, derived_id, utcnow


@dataclass(frozen=True)
class EventSpec:
    """Where an event type lives and what its data looks like."""

    type: str
    topic: str
    model: type[BaseModel]
    dataversion: str = "1"


CATALOGUE: dict[str, EventSpec] = {
    spec.type: spec
    for spec in (
        EventSpec("forum.configured", topics.CATALOGUE, catalogue.ForumConfigured),
        EventSpec("workshop.configured", topics.CATALOGUE, catalogue.WorkshopConfigured),
        EventSpec("forum.registration_opened", topics.CATALOGUE, catalogue.ForumRegistrationOpened),
        EventSpec("forum.registration_closed", topics.CATALOGUE, catalogue.ForumRegistrationClosed),
        EventSpec("registration.submitted", topics.REGISTRATIONS, registrations.RegistrationSubmitted, dataversion="2"),
        EventSpec("registration.updated", topics.REGISTRATIONS, registrations.RegistrationUpdated, dataversion="2"),
        EventSpec("registration.cancelled", topics.REGISTRATIONS, registrations.RegistrationCancelled),
        EventSpec("invitation.sent", topics.REGISTRATIONS, registrations.InvitationSent, dataversion="2"),
        EventSpec("selection.decided", topics.SELECTION, selection.SelectionDecided),
        EventSpec("selection.overridden", topics.SELECTION, selection.SelectionOverridden),
        EventSpec("selection.finalized", topics.SELECTION, selection.SelectionFinalized),
        EventSpec("agenda.published", topics.AGENDA, agenda.AgendaPublished),
        EventSpec("agenda.updated", topics.AGENDA, agenda.AgendaUpdated),
        EventSpec("agenda.conflict_detected", topics.AGENDA, agenda.AgendaConflictDetected),
        EventSpec("agenda.groups_formed", topics.AGENDA, agenda.BreakoutGroupsFormed),
        EventSpec("result.idea_captured", topics.RESULTS, results.IdeaCaptured),
        EventSpec("result.sketch_submitted", topics.RESULTS, results.SketchSubmitted),
        EventSpec("result.vote_cast", topics.RESULTS, results.VoteCast),
        EventSpec("result.finalized", topics.RESULTS, results.ResultFinalized),
        EventSpec("notification.requested", topics.NOTIFICATIONS, notifications.NotificationRequested),
        EventSpec("notification.sent", topics.NOTIFICATIONS, notifications.NotificationSent),
        EventSpec("notification.failed", topics.NOTIFICATIONS, notifications.NotificationFailed),
        EventSpec("participant.erasure_requested", topics.PARTICIPANTS, participants.ParticipantErasureRequested),
        EventSpec("participant.erased", topics.PARTICIPANTS, participants.ParticipantErased),
        EventSpec("participant.key_issued", topics.KEYS, keys.ParticipantKeyIssued),
        EventSpec("staff.account_changed", topics.STAFF, staff.StaffAccountChanged),
        EventSpec("staff.token_issued", topics.STAFF, staff.StaffTokenIssued),
        EventSpec("staff.token_revoked", topics.STAFF, staff.StaffTokenRevoked),
    )
}


class InvalidEvent(ValueError):
    """A message that is not a valid event of the catalogue (goes to the dead letters)."""


def make_event(
    type_: str,
    *,
    subject: str,
    data: BaseModel,
    source: str,
    correlation_id: str | None = None,
    event_id: str | None = None,
) -> CloudEvent[Any]:
    """Build the envelope for a catalogue event, checking that the data fits the type."""
    spec = CATALOGUE[type_]
    if not isinstance(data, spec.model):
        raise TypeError(f"{type_} carries {spec.model.__name__}, not {type(data).__name__}")
    event_id = event_id or str(uuid.uuid4())
    return CloudEvent[spec.model](  # type: ignore[name-defined]
        id=event_id,
        type=type_,
        source=source,
        time=utcnow(),
        subject=subject,
        dataversion=spec.dataversion,
        correlationid=correlation_id or event_id,
        data=data,
    )


def encode(event: CloudEvent[Any]) -> bytes:
    """The event as CloudEvents structured-mode JSON bytes."""
    return event.model_dump_json().encode()


def decode(raw: bytes) -> CloudEvent[Any]:
    """Parse and validate bytes into a typed event; raise InvalidEvent with the reason."""
    try:
        envelope = RawEvent.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidEvent(f"envelope: {_short(exc)}") from exc
    spec = CATALOGUE.get(envelope.type)
    if spec is None:
        raise InvalidEvent(f"unknown event type {envelope.type!r}")
    try:
        data = spec.model.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidEvent(f"{envelope.type} data: {_short(exc)}") from exc
    return CloudEvent[spec.model].model_construct(**{**dict(envelope), "data": data})  # type: ignore[name-defined]


def _short(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(parts)


def envelope_schema(topic: str) -> dict[str, Any]:
    """JSON schema of every envelope on a topic (for docs and tests)."""
    return {
        spec.type: CloudEvent[spec.model].model_json_schema()  # type: ignore[name-defined]
        for spec in CATALOGUE.values()
        if spec.topic == topic
    }


__all__ = [
    "CATALOGUE",
    "CloudEvent",
    "EventSpec",
    "InvalidEvent",
    "decode",
    "derived_id",
    "encode",
    "envelope_schema",
    "make_event",
    "utcnow",
]
