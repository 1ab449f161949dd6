"""Pure part of the selection console's stream: which events become items and what an item may hold."""

from __future__ import annotations

import json

from services.registration.console_stream import console_item, sse


def message(kind, **data):
    return json.dumps({"type": kind, "subject": "r1", "data": {"forum_id": "f", **data}}).encode()


def test_a_decision_becomes_an_item_of_ids_and_counts_without_personal_fields():
    item = console_item("forum.selection", 1, 9, message(
        "selection.decided", registration_id="r1", participant_id="p1", status="waitlisted", workshop_id="ws1",
        waitlist_position=3, actor_group="company", municipality="Essen", explanation="Frau Ada Beispiel steht auf Platz 3."))
    assert item == {"id": "forum.selection:1:9", "type": "selection.decided", "forum_id": "f", "registration_id": "r1",
                    "status": "waitlisted", "workshop_id": "ws1", "waitlist_position": 3}
    assert sse(item).startswith("id: forum.selection:1:9\nevent: selection.decided\ndata: {")


def test_a_submission_keeps_its_preferences_but_never_the_name_or_address():
    item = console_item("forum.registrations", 0, 4, message(
        "registration.submitted", registration_id="r2", first_name="Ada", last_name="Beispiel", email="ada@example.org",
        organisation="Stadt Bochum", preferences=["ws2", "ws1"]))
    assert item is not None and item["preferences"] == ["ws2", "ws1"]
    assert not {"first_name", "last_name", "email", "organisation"} & set(item)


def test_other_events_and_what_is_not_an_event_are_left_out():
    assert console_item("forum.registrations", 0, 1, message("invitation.sent", invitation_id="i1")) is None
    assert console_item("forum.selection", 0, 2, json.dumps({"type": "selection.decided", "data": {}}).encode()) is None
    assert console_item("forum.selection", 0, 3, b"not json") is None
    assert console_item("forum.selection", 0, 4, None) is None
