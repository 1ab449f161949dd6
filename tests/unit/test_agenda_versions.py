"""Diffs between versions, the ICS export and the editor's timeline grid (pure functions)."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import icalendar
from hypothesis import given, settings
from hypothesis import strategies as st

from services.agenda import timeline
from services.agenda.domain import Room, diff_is_empty, diff_items, effective_items, shifted
from services.agenda.ics import agenda_calendar
from shared.events.agenda import AgendaItemData

TZ = ZoneInfo("Europe/Berlin")


def item(item_id, start="10:00", end="11:00", ws="ws1", **kw):
    day = date(2027, 3, 25)
    h1, m1 = map(int, start.split(":"))
    h2, m2 = map(int, end.split(":"))
    return AgendaItemData(item_id=item_id, workshop_id=ws, starts_at=datetime.combine(day, time(h1, m1), TZ),
                          ends_at=datetime.combine(day, time(h2, m2), TZ), title=kw.pop("title", item_id),
                          kind=kw.pop("kind", "working_phase"), **kw)


def test_the_diff_names_added_removed_and_only_the_changed_fields():
    before = [item("a"), item("b"), item("c", room="r1")]
    after = [item("a"), item("c", room="r2", title="C neu"), item("d")]
    diff = diff_items(before, after)
    assert [i.item_id for i in diff.added] == ["d"] and [i.item_id for i in diff.removed] == ["b"]
    assert diff.changed == [{"item_id": "c", "title": "C neu", "before": {"title": "c", "room": "r1"},
                             "after": {"title": "C neu", "room": "r2"}}]
    assert diff_is_empty(diff_items(after, after))


@settings(max_examples=100, deadline=None)
@given(st.sets(st.integers(0, 9)), st.sets(st.integers(0, 9)), st.sets(st.integers(0, 9)))
def test_applying_the_diff_to_the_old_version_gives_the_new_one(old_ids, new_ids, moved):
    before = [item(f"i{n}") for n in sorted(old_ids)]
    after = [shifted(item(f"i{n}"), 15) if n in moved else item(f"i{n}") for n in sorted(new_ids)]
    diff = diff_items(before, after)
    rebuilt = {i.item_id: i.model_dump(mode="json") for i in before if i.item_id not in {r.item_id for r in diff.removed}}
    for change in diff.changed:
        rebuilt[change["item_id"]].update(change["after"])
    rebuilt.update({i.item_id: i.model_dump(mode="json") for i in diff.added})
    assert rebuilt == {i.item_id: i.model_dump(mode="json") for i in after}
    assert {c["item_id"] for c in diff.changed} == {f"i{n}" for n in old_ids & new_ids & moved}


def test_a_workshops_agenda_holds_its_items_and_the_plenary_ones_in_time_order():
    items = [item("w2", ws="ws2"), item("late", "12:00", "13:00"), item("open", "09:00", "10:00", ws=None), item("w1")]
    assert [i.item_id for i in effective_items(items, "ws1")] == ["open", "w1", "late"]


def test_the_calendar_has_stable_uids_the_version_as_sequence_and_cancelled_removals():
    version = {"version": 3, "published_at": datetime(2027, 3, 1, 12, tzinfo=timezone.utc),
               "items": [item("a", room="r1", room_name="Raum A", moderators=["Kim"]).model_dump(mode="json")]}
    raw = agenda_calendar(version, title="Workshop 1", tz="Europe/Berlin", url="http://x/workshops/ws1",
                          removed=[item("gone"), item("a")])
    parsed = icalendar.Calendar.from_ical(raw)
    events = {str(e["UID"]): e for e in parsed.walk("VEVENT")}
    assert set(events) == {"a@agenda.themenforum", "gone@agenda.themenforum"}
    a = events["a@agenda.themenforum"]
    assert int(a["SEQUENCE"]) == 3 and str(a["LOCATION"]) == "Raum A" and str(a["STATUS"]) == "CONFIRMED"
    assert a["DTSTART"].params["TZID"] == "Europe/Berlin" and a.decoded("DTSTART").hour == 10
    assert str(events["gone@agenda.themenforum"]["STATUS"]) == "CANCELLED"


def test_the_timeline_spans_plenary_items_over_every_workshop_column():
    items = [item("open", "09:00", "09:30", ws=None), item("w1", "09:30", "10:00"), item("w2", "09:30", "10:15", ws="ws2")]
    grids = timeline.build(items, view="workshops", workshops=[("ws1", "W1"), ("ws2", "W2")], rooms={},
                           days=[date(2027, 3, 25)], day_start=time(9), day_end=time(11), tz="Europe/Berlin", found=[])
    cells = {c.item.item_id: c for c in grids[0].cells}
    assert (cells["open"].row, cells["open"].row_end, cells["open"].col, cells["open"].col_end) == (2, 8, 2, 4)
    assert (cells["w1"].row, cells["w1"].row_end, cells["w1"].col) == (8, 14, 2)
    assert (cells["w2"].col, cells["w2"].row_end) == (3, 17)
    rooms = timeline.build(items, view="rooms", workshops=[], rooms={"r": Room("r", "R", 5)}, days=[], day_start=time(9),
                           day_end=time(11), tz="Europe/Berlin", found=[])
    assert rooms[0].columns == [("r", "R"), ("", "ohne Raum")] and {c.col for c in rooms[0].cells} == {3}
