"""Erasure works: after a person's request no service's database holds their name or e-mail."""

from __future__ import annotations

import json

from bson import json_util

from shared.testing import eventually
from tests.conftest import acknowledgements, person
from tests.kafka import events, read_topic


def _databases_mentioning(mongo, needles: list[str]) -> list[str]:
    found = []
    for name in mongo.list_database_names():
        if not name.startswith("themenforum_"):
            continue
        for collection in mongo[name].list_collection_names():
            for doc in mongo[name][collection].find():
                text = json.dumps(doc, default=json_util.default, ensure_ascii=False)
                found += [f"{name}.{collection}: {text[:600]}" for needle in needles if needle in text]
    return found


def test_an_erasure_request_removes_the_person_from_every_service(stack, http, mongo):
    body = person(first_name="Erika", organisation="Erase Werk GmbH", motivation="Bitte löschen Sie mich später.")
    reg = http.post(stack.url("registration", "/api/v1/registrations"), json=body).json()
    eventually(lambda: acknowledgements(stack, body["email"]), timeout=60)
    eventually(lambda: http.get(reg["status_url"]).json()["status"] != "received")
    participant = mongo["themenforum_registration"].registrations.find_one({"_id": reg["id"]})["participant_id"]
    needles = [body["email"], body["last_name"]]
    assert _databases_mentioning(mongo, needles), "the person is stored before the erasure"

    token = reg["status_url"].split("token=")[1]
    assert http.post(stack.url("registration", f"/api/v1/registrations/{reg['id']}/erasure")).status_code == 404
    answer = http.post(stack.url("registration", f"/api/v1/registrations/{reg['id']}/erasure"), params={"token": token})
    assert answer.status_code == 200 and answer.json()["registrations_anonymised"] == 1

    def confirmations():
        erased = {e["data"]["service"] for e in events(read_topic(stack.bootstrap, "forum.participants", timeout=3))
                  if e["type"] == "participant.erased" and e["subject"] == participant}
        return erased if erased >= {"registration", "agenda", "results", "notify"} else None

    eventually(confirmations, timeout=60, interval=1)
    # A mail already in flight when the erasure arrived is finished first; then nothing may remain.
    eventually(lambda: _databases_mentioning(mongo, needles) == [], timeout=20, interval=1)
    status = http.get(reg["status_url"]).json()
    assert status["status"] == "cancelled"
