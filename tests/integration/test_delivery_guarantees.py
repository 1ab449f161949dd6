"""Idempotency, dead letters and catch-up after a restart, against the real servers."""

from __future__ import annotations

import base64
import json
import time
import uuid

from shared.events import encode, make_event, utcnow
from shared.events.registrations import RegistrationSubmitted
from shared.testing import eventually
from tests.conftest import acknowledgements, person
from tests.kafka import events, produce, read_topic


def _submitted_event(stack, registration_id):
    messages = read_topic(stack.bootstrap, "forum.registrations",
                          until=lambda ms: any(e.get("subject") == registration_id for e in events(ms)))
    return next(m for m in messages if json.loads(m.value()).get("subject") == registration_id)


def _decisions_for(stack, registration_id, at_least=1):
    messages = read_topic(stack.bootstrap, "forum.selection", timeout=20,
                          until=lambda ms: sum(e.get("subject") == registration_id for e in events(ms)) >= at_least)
    return [e for e in events(messages) if e.get("subject") == registration_id]


def test_the_same_event_delivered_twice_has_one_effect_in_every_service(stack, http, mongo):
    body = person(preferences=["tf2-ws1"], actor_group="company", municipality="Essen")
    reg = http.post(stack.url("registration", "/api/v1/registrations"), json=body).json()
    original = _submitted_event(stack, reg["id"])
    event_id = json.loads(original.value())["id"]
    eventually(lambda: acknowledgements(stack, body["email"]))
    eventually(lambda: mongo["themenforum_results"].outbox.find_one({"_id": f"event:{event_id}"}))
    eventually(lambda: mongo["themenforum_agenda"].outbox.find_one({"_id": f"event:{event_id}"}))
    before = {
        "agenda": mongo["themenforum_agenda"].participation.find_one({"_id": "tf2-ws1"})["registered_first_choice"],
        "results": mongo["themenforum_results"].reporting_participation.find_one(
            {"workshop_id": "tf2-ws1", "actor_group": "company", "municipality": "Essen"})["registered"],
    }

    produce(stack.bootstrap, "forum.registrations", [(original.key(), original.value())] * 2)
    # A later marker event on the same key proves the duplicates were consumed before we look.
    marker = person(email=f"marker.{uuid.uuid4().hex[:8]}@example.org")
    marker_event = make_event("registration.submitted", subject=original.key().decode(), source="test", data=RegistrationSubmitted(
        registration_id=str(uuid.uuid4()), forum_id="themenforum-2", participant_id=str(uuid.uuid4()),
        first_name="M", last_name="K", email=marker["email"], organisation="Test", actor_group="company",
        municipality="Essen", preferences=["tf2-ws2"], consent_version="1", submitted_at=utcnow()))
    produce(stack.bootstrap, "forum.registrations", [(original.key(), encode(marker_event))])
    eventually(lambda: stack.mails(to=marker["email"]))
    for db in ("themenforum_agenda", "themenforum_results", "themenforum_registration"):
        eventually(lambda db=db: mongo[db].outbox.find_one({"_id": f"event:{marker_event.id}"}))

    assert len(acknowledgements(stack, body["email"])) == 1
    assert mongo["themenforum_notify"].deliveries.count_documents({"cause_event_id": event_id}) == 1
    assert mongo["themenforum_agenda"].participation.find_one({"_id": "tf2-ws1"})["registered_first_choice"] == before["agenda"]
    assert mongo["themenforum_results"].reporting_participation.find_one(
        {"workshop_id": "tf2-ws1", "actor_group": "company", "municipality": "Essen"})["registered"] == before["results"]
    decisions = _decisions_for(stack, reg["id"])
    assert len({d["id"] for d in decisions}) == 1
    assert mongo["themenforum_registration"].registrations.find_one({"_id": reg["id"]})["decision_seq"] == 1


def test_poison_messages_go_to_the_dead_letters_and_the_partition_moves_on(stack, mongo):
    key = f"poison-{uuid.uuid4().hex[:8]}".encode()
    not_json = b"\x00this is not json{"
    wrong_schema = json.dumps({
        "specversion": "1.0", "id": str(uuid.uuid4()), "type": "registration.submitted", "source": "test",
        "time": "2026-01-01T00:00:00Z", "subject": key.decode(), "datacontenttype": "application/json",
        "dataversion": "1", "correlationid": "c", "data": {"registration_id": 42, "email": "x"},
    }).encode()
    valid_email = f"after.poison.{uuid.uuid4().hex[:8]}@example.org"
    valid = make_event("registration.submitted", subject=key.decode(), source="test", data=RegistrationSubmitted(
        registration_id=str(uuid.uuid4()), forum_id="themenforum-2", participant_id=str(uuid.uuid4()),
        first_name="P", last_name="M", email=valid_email, organisation="Test", actor_group="research",
        municipality="outside", preferences=["tf2-ws2"], consent_version="1", submitted_at=utcnow()))
    produce(stack.bootstrap, "forum.registrations", [(key, not_json), (key, wrong_schema), (key, encode(valid))])

    eventually(lambda: stack.mails(to=valid_email))  # notify got past both poison messages
    eventually(lambda: mongo["themenforum_results"].outbox.find_one({"_id": f"event:{valid.id}"}))

    def letters():
        found = [e for e in events(read_topic(stack.bootstrap, "forum.deadletter", timeout=5))
                 if e.get("original_key") == key.decode()]
        return found if len({(e["service"], e["offset"]) for e in found}) >= 8 else None

    found = eventually(letters, timeout=60, interval=1)
    by_service = {}
    for letter in found:
        by_service.setdefault(letter["service"], set()).add(letter["offset"])
        assert letter["topic"] == "forum.registrations"
    assert set(by_service) == {"registration", "agenda", "results", "notify"}
    assert all(len(offsets) == 2 for offsets in by_service.values())
    originals = {base64.b64decode(l["original_value_b64"]) for l in found}
    assert originals == {not_json, wrong_schema}
    errors = " ".join(l["error"] for l in found)
    assert "envelope" in errors and "registration_id" in errors


def test_a_stopped_service_catches_up_from_its_committed_offset(stack, http, mongo):
    stack.stop_service("notify")
    try:
        bodies = [person(first_name=f"Cat{i}") for i in range(5)]
        for body in bodies:
            assert http.post(stack.url("registration", "/api/v1/registrations"), json=body).status_code == 202
        time.sleep(1)
        assert not any(acknowledgements(stack, b["email"]) for b in bodies)
    finally:
        stack.start_service("notify")
    for body in bodies:
        eventually(lambda body=body: acknowledgements(stack, body["email"]), timeout=60)
    time.sleep(2)
    assert all(len(acknowledgements(stack, b["email"])) == 1 for b in bodies)


def test_a_killed_registration_service_loses_and_doubles_nothing(stack, http, mongo):
    bodies = [person(first_name=f"Kill{i}", preferences=["tf2-ws2", "tf2-ws1"]) for i in range(6)]
    ids = [http.post(stack.url("registration", "/api/v1/registrations"), json=b).json()["id"] for b in bodies[:3]]
    stack.kill_service("registration")
    stack.start_service("registration")
    ids += [http.post(stack.url("registration", "/api/v1/registrations"), json=b).json()["id"] for b in bodies[3:]]
    registrations = mongo["themenforum_registration"].registrations
    eventually(lambda: registrations.count_documents({"_id": {"$in": ids}, "status": {"$ne": "received"}}) == 6, timeout=60)
    for registration_id in ids:
        decisions = _decisions_for(stack, registration_id)
        assert len({d["id"] for d in decisions}) == 1, registration_id
        assert registrations.find_one({"_id": registration_id})["decision_seq"] == 1
