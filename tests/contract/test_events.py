"""Every event of the catalogue round-trips through the wire format; bad ones are refused."""

from __future__ import annotations

import json

import pytest

from shared import topics
from shared.events import CATALOGUE, InvalidEvent, decode, encode, envelope_schema, make_event
from tests.contract.samples import SAMPLES


def test_every_catalogue_type_has_a_sample_and_a_known_topic():
    assert set(SAMPLES) == set(CATALOGUE)
    assert {spec.topic for spec in CATALOGUE.values()} <= set(topics.ALL)


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_an_event_round_trips_as_a_cloudevent(event_type):
    spec = CATALOGUE[event_type]
    event = make_event(event_type, subject="agg-1", source="test", data=spec.model.model_validate(SAMPLES[event_type]))
    wire = json.loads(encode(event))
    assert wire["specversion"] == "1.0" and wire["type"] == event_type and wire["subject"] == "agg-1"
    assert {"id", "source", "time", "datacontenttype", "correlationid", "dataversion", "data"} <= set(wire)
    back = decode(encode(event))
    assert back.id == event.id and back.data == event.data and isinstance(back.data, spec.model)


def test_make_event_refuses_data_of_another_type():
    with pytest.raises(TypeError):
        make_event("registration.cancelled", subject="x", source="t",
                   data=CATALOGUE["participant.erased"].model.model_validate(SAMPLES["participant.erased"]))


@pytest.mark.parametrize("raw,reason", [
    (b"not json", "envelope"),
    (json.dumps({"specversion": "1.0"}).encode(), "envelope"),
    (json.dumps({"specversion": "1.0", "id": "1", "type": "no.such_type", "source": "t", "time": "2027-01-01T00:00:00Z",
                 "subject": "s", "correlationid": "c", "data": {}}).encode(), "unknown event type"),
    (json.dumps({"specversion": "1.0", "id": "1", "type": "participant.erased", "source": "t", "time": "2027-01-01T00:00:00Z",
                 "subject": "s", "correlationid": "c", "data": {"participant_id": 5}}).encode(), "participant.erased data"),
])
def test_invalid_messages_are_refused_with_a_reason(raw, reason):
    with pytest.raises(InvalidEvent, match=reason):
        decode(raw)


@pytest.mark.parametrize("topic", [t for t in topics.ALL if t != topics.DEADLETTER])
def test_each_topic_documents_its_envelopes(topic):
    schemas = envelope_schema(topic)
    assert schemas and all(s["properties"]["data"] for s in schemas.values())
