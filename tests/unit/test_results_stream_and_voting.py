"""Pure parts of the live stream (items, filters, redaction) and of voting links."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

from services.results import stream
from services.results.domain import remaining_dots, token_hash, voter_id, voting_token
from services.results.stream import LiveKeys, make_hub, matches, opened, redact, to_item
from shared import pii


def registration(offset=7):
    value = json.dumps({"type": "registration.submitted", "subject": "r1", "time": "2027-03-01T10:00:00Z", "data": {
        "forum_id": "f", "first_name": "Ada", "email": "ada@example.org", "actor_group": "company", "preferences": ["ws2", "ws1"]}})
    return to_item("forum.registrations", 2, offset, value.encode())


def test_a_stream_item_carries_its_position_forum_and_workshops():
    item = registration()
    assert item["id"] == "forum.registrations:2:7" and item["forum_id"] == "f" and item["workshops"] == ["ws2", "ws1"]
    assert to_item("forum.results", 0, 1, b"not json") is None


def test_filters_by_forum_workshop_and_type_family():
    item = registration()
    assert matches(item, "f", "ws1", ["registration.*"]) and matches(item, None, None, [])
    assert not matches(item, "other", None, []) and not matches(item, None, "ws3", [])
    assert not matches(item, None, None, ["result.*", "selection.decided"])


def test_contact_data_never_streams_and_names_only_for_admins():
    item = registration()
    admin, other = redact(item, personal=True)["data"], redact(item, personal=False)["data"]
    assert "email" not in admin and admin["first_name"] == "Ada"
    assert "email" not in other and "first_name" not in other and other["actor_group"] == "company"


def key_record(owner, key):
    value = None if key is None else json.dumps({"data": {"participant_id": owner, "key": key}}).encode()
    return SimpleNamespace(key=owner.encode(), value=value)


def sealed_item(owner, key):
    data = {"participant_id": owner, "forum_id": "f", **pii.seal_fields(key, owner, {"first_name": "Ada"})}
    return {"id": "forum.registrations:0:1", "type": "registration.submitted", "data": data}


async def test_an_admin_sees_the_name_of_a_registration_that_came_before_its_key(monkeypatch):
    """The key travels on another topic and may arrive after the registration: wait for it, not show it as erased."""
    erased_here: set[str] = {"p-erased"}

    async def keys_for(db, owners, session=None):
        return {}

    async def erased(db, owners, session=None):
        return erased_here & set(owners)

    monkeypatch.setattr(stream.keyring, "keys_for", keys_for)
    monkeypatch.setattr(stream.keyring, "erased", erased)
    keys, key = LiveKeys(), pii.new_key()
    asyncio.get_running_loop().call_later(0.2, keys.follow, [key_record("p-late", key)])
    assert (await opened(None, keys, sealed_item("p-late", key)))["data"]["first_name"] == "Ada"
    # An erased owner (in the store, or by a tombstone seen live) is not waited for; the name shows as erased.
    started = time.monotonic()
    assert (await opened(None, keys, sealed_item("p-erased", key)))["data"]["first_name"] == pii.ERASED
    keys.follow([key_record("p-gone", None), key_record("p-gone", key)])  # a replayed key after its tombstone
    assert (await opened(None, keys, sealed_item("p-gone", key)))["data"]["first_name"] == pii.ERASED
    assert time.monotonic() - started < 0.5
    # A key that never comes: the wait is bounded.
    started = time.monotonic()
    unknown = await opened(None, keys, sealed_item("p-never", key), key_wait_s=0.1)
    assert redact(unknown, personal=True)["data"]["first_name"] == pii.ERASED and time.monotonic() - started < 0.5


def test_a_reconnect_gets_what_came_after_its_last_event_id():
    hub = make_hub("unused", buffer=3)
    for offset in range(5):
        hub.publish(registration(offset))
    _, backlog = hub.subscribe("forum.registrations:2:2")
    assert [i["id"] for i in backlog] == ["forum.registrations:2:3", "forum.registrations:2:4"]
    _, lost = hub.subscribe("forum.registrations:2:0")  # no longer held: the client must reload
    assert lost is None


def test_voting_links_are_derived_pseudonymous_and_only_their_hash_is_kept():
    voter = voter_id("p1", "ws1")
    assert voter != voter_id("p1", "ws2") and "p1" not in voter
    token = voting_token(b"k" * 32, voter)
    assert token == voting_token(b"k" * 32, voter) and token != voting_token(b"x" * 32, voter)
    assert len(token_hash(token)) == 64 and token not in token_hash(token)
    assert remaining_dots(5, 7) == 0 and remaining_dots(5, 2) == 3
