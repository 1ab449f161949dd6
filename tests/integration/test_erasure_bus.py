"""Erasure reaches the bus: personal fields travel sealed with a per-person key that erasure shreds."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from bson import json_util

from services.results.rebuild import fold, read_events
from shared import pii
from shared.events import encode, make_event, utcnow
from shared.events.keys import ParticipantKeyIssued
from shared.events.registrations import RegistrationSubmitted
from shared.testing import eventually
from tests.conftest import acknowledgements, person
from tests.kafka import events, produce, read_topic

SERVICES = ("registration", "agenda", "results", "notify")


def _fresh_person() -> dict:
    tag = uuid.uuid4().hex[:8]
    return person(first_name=f"Siegfried{tag}", last_name=f"Verschluss-{tag}", organisation=f"Kryptowerk {tag} GmbH")


def _submitted(stack, registration_id: str) -> dict:
    def find(messages):
        return [e for e in events(messages) if e["type"] == "registration.submitted" and e["subject"] == registration_id]
    return find(read_topic(stack.bootstrap, "forum.registrations", until=find))[0]


def _key_records(stack, owner_id: str, *, tombstone: bool = False) -> list:
    """The records of one owner's key on `forum.keys` (read until the key, or its tombstone, is there)."""
    def mine(messages):
        return [m for m in messages if m.key() == owner_id.encode()]
    return mine(read_topic(stack.bootstrap, "forum.keys", timeout=10,
                           until=lambda ms: any(m.value() is None for m in mine(ms)) if tombstone else mine(ms)))


def _keys_held(mongo, participant_id: str, services: tuple[str, ...] = SERVICES) -> dict[str, str | None]:
    """What each service's own store holds of the person's key."""
    held = {}
    for service in services:
        doc = mongo[f"themenforum_{service}"].participant_keys.find_one({"_id": participant_id})
        held[service] = doc.get("key") if doc else None
    return held


def test_personal_fields_travel_sealed_and_the_person_still_gets_their_mail(stack, http, mongo):
    body = _fresh_person()
    reg = http.post(stack.url("registration", "/api/v1/registrations"), json=body).json()
    eventually(lambda: acknowledgements(stack, body["email"]), timeout=60)  # notify opened the sealed address
    mail = acknowledgements(stack, body["email"])[0]
    assert body["first_name"] in str(mail.get_body(("plain",)).get_content())  # and the sealed name
    event = _submitted(stack, reg["id"])
    assert event["dataversion"] == "2"
    for field in ("first_name", "last_name", "email", "organisation", "role"):
        assert event["data"][field].startswith(f"pii:v1:{event['data']['participant_id']}:"), field
    raw = b"".join(m.value() or b"" for m in read_topic(stack.bootstrap, "forum.registrations", timeout=3))
    for clear in (body["email"], body["first_name"], body["last_name"], body["organisation"]):
        assert clear.encode() not in raw, "personal data in clear on forum.registrations"
    records = _key_records(stack, event["data"]["participant_id"])
    assert records and json.loads(records[0].value())["type"] == "participant.key_issued"


def test_erasure_shreds_the_key_on_the_bus_and_in_every_store(stack, http, mongo):
    body = _fresh_person()
    reg = http.post(stack.url("registration", "/api/v1/registrations"), json=body).json()
    eventually(lambda: acknowledgements(stack, body["email"]), timeout=60)
    event = _submitted(stack, reg["id"])
    pid = event["data"]["participant_id"]
    key = json.loads(_key_records(stack, pid)[0].value())["data"]["key"]
    assert pii.open_value(key, pid, "email", event["data"]["email"]) == body["email"]  # the key did open it
    eventually(lambda: all(_keys_held(mongo, pid).values()), timeout=30)  # every service received the key
    assert set(_keys_held(mongo, pid).values()) == {key}

    token = reg["status_url"].split("token=")[1]
    answer = http.post(stack.url("registration", f"/api/v1/registrations/{reg['id']}/erasure"), params={"token": token})
    assert answer.status_code == 200

    def confirmed():
        erased = {e["data"]["service"] for e in events(read_topic(stack.bootstrap, "forum.participants", timeout=3))
                  if e["type"] == "participant.erased" and e["subject"] == pid}
        return erased >= set(SERVICES)

    eventually(confirmed, timeout=60, interval=1)
    tombstone = [m for m in _key_records(stack, pid, tombstone=True) if m.value() is None]
    assert tombstone, "no tombstone for the key on forum.keys"
    eventually(lambda: not any(_keys_held(mongo, pid).values()), timeout=30)
    # No store keeps a copy of the key anywhere (the registration's outbox record carried it once).
    for service in SERVICES:
        db = mongo[f"themenforum_{service}"]
        for collection in db.list_collection_names():
            for doc in db[collection].find():
                assert key not in json.dumps(doc, default=json_util.default), f"{service}.{collection} holds the key"
    # The sealed values still on the topic open with no service's keys: only the placeholder remains.
    for service in SERVICES:
        keys = {d["_id"]: d.get("key") for d in mongo[f"themenforum_{service}"].participant_keys.find({"_id": pid})}
        assert pii.open_or(keys, pid, "email", event["data"]["email"]) == pii.ERASED
    # A rebuild of the reporting read models from the topics still works and yields no personal data.
    view = asyncio.run(fold(read_events(stack.bootstrap)))
    assert view.events and view.collections.get("decisions", {}).get(reg["id"])
    folded = json.dumps(view.collections, default=str)
    assert "pii:v1:" not in folded and body["email"] not in folded and body["last_name"] not in folded


def test_a_mail_whose_key_has_not_arrived_yet_waits_for_it(stack, mongo):
    """Topics are not ordered among each other: a registration may reach notify before its key."""
    body, key, pid, rid = person(), pii.new_key(), str(uuid.uuid4()), str(uuid.uuid4())
    sealed = pii.seal_fields(key, pid, {f: body[f] for f in ("first_name", "last_name", "email", "organisation", "role")})
    data = RegistrationSubmitted(registration_id=rid, forum_id="themenforum-2", participant_id=pid, **sealed,
                                 actor_group=body["actor_group"], municipality=body["municipality"],
                                 preferences=body["preferences"], consent_version="test", submitted_at=utcnow())
    produce(stack.bootstrap, "forum.registrations",
            [(rid.encode(), encode(make_event("registration.submitted", subject=rid, source="test", data=data)))])
    deliveries = mongo["themenforum_notify"].deliveries
    eventually(lambda: deliveries.find_one({"recipient_id": pid, "template": "acknowledgement"}), timeout=30)
    time.sleep(3)  # the sender has had its chances: without the key the mail must wait, not fail or go out
    assert deliveries.find_one({"recipient_id": pid})["status"] in ("waiting", "pending")
    assert not stack.mails(to=body["email"])

    issued = make_event("participant.key_issued", subject=pid, source="test",
                        data=ParticipantKeyIssued(participant_id=pid, key=key))
    produce(stack.bootstrap, "forum.keys", [(pid.encode(), encode(issued))])
    mail = eventually(lambda: acknowledgements(stack, body["email"]), timeout=30)[0]
    assert body["last_name"] in str(mail.get_body(("plain",)).get_content())
    assert deliveries.find_one({"recipient_id": pid})["status"] == "sent"


def test_an_invitation_travels_sealed_with_its_own_key_and_is_still_mailed(stack, http):
    tag = uuid.uuid4().hex[:8]
    email, last = f"geladen.{tag}@example.org", f"Einladung-{tag}"
    csv = f"Vorname;Nachname;E-Mail;Organisation;Akteursgruppe;Workshop\nGerda;{last};{email};Amt {tag};municipality;1\n"
    answer = http.post(stack.url("registration", "/api/v1/fora/themenforum-2/invitations"), json={"csv": csv},
                       headers=stack.auth)
    assert answer.status_code == 201, answer.text
    mail = eventually(lambda: [m for m in stack.mails(to=email) if m["X-Themenforum-Template"] == "invitation"], timeout=60)[0]
    assert last in mail.get_body(("plain",)).get_content()

    def sent(messages):
        return [e for e in events(messages) if e["type"] == "invitation.sent" and e["data"]["email"].startswith("pii:")
                and pii.owner_of(e["data"]["email"]) == e["subject"]]
    messages = read_topic(stack.bootstrap, "forum.registrations", until=sent)
    raw = b"".join(m.value() or b"" for m in messages)
    assert email.encode() not in raw and last.encode() not in raw and f"Amt {tag}".encode() not in raw
    # Its own key went to forum.keys: with it (and only for its invitation id) the sealed address opens.
    keys = {m.key().decode(): json.loads(m.value())["data"]["key"]
            for m in read_topic(stack.bootstrap, "forum.keys", timeout=3) if m.value() is not None}
    opened = [pii.open_or(keys, e["subject"], "email", e["data"]["email"]) for e in sent(messages)]
    assert opened.count(email) == 1


def test_a_tombstone_on_forum_keys_makes_every_service_forget_the_key_and_is_no_dead_letter(stack, mongo):
    owner, key = str(uuid.uuid4()), pii.new_key()
    issued = make_event("participant.key_issued", subject=owner, source="test",
                        data=ParticipantKeyIssued(participant_id=owner, key=key))
    produce(stack.bootstrap, "forum.keys", [(owner.encode(), encode(issued))])
    # The consumers keep the key; registration, the issuer, stores its keys as it issues them and takes none off the bus.
    consumers = ("agenda", "results", "notify")
    eventually(lambda: set(_keys_held(mongo, owner, consumers).values()) == {key}, timeout=30)
    assert _keys_held(mongo, owner, ("registration",)) == {"registration": None}
    produce(stack.bootstrap, "forum.keys", [(owner.encode(), None)])
    eventually(lambda: not any(_keys_held(mongo, owner).values()), timeout=30)
    again = make_event("participant.key_issued", subject=owner, source="test",  # a new event id: not a duplicate
                       data=ParticipantKeyIssued(participant_id=owner, key=key))
    produce(stack.bootstrap, "forum.keys", [(owner.encode(), encode(again))])  # a late key is not taken again
    time.sleep(3)
    assert not any(_keys_held(mongo, owner).values())
    letters = [m for m in read_topic(stack.bootstrap, "forum.deadletter", timeout=3) if m.key() == owner.encode()]
    assert letters == []
