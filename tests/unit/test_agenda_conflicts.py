"""Conflict rules: worked examples and a property test against a brute-force oracle."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from services.agenda.conflicts import conflicts_by_workshop, detect_conflicts
from services.agenda.domain import DayWindow, Room
from shared.events.agenda import AgendaItemData

TZ = ZoneInfo("Europe/Berlin")
DAY = date(2027, 3, 25)
WORKSHOPS = ("ws1", "ws2", "ws3")
ROOMS = {"hall": Room("hall", "Saal", 100), "a": Room("a", "Raum A", 30), "b": Room("b", "Raum B", 12)}
WINDOW = [DayWindow(DAY, time(9, 0), time(17, 0))]


def at(clock: str) -> datetime:
    h, m = map(int, clock.split(":"))
    return datetime.combine(DAY, time(h, m), TZ)


def item(item_id, start, end, ws="ws1", room="a", kind="working_phase", moderators=()):
    return AgendaItemData(item_id=item_id, workshop_id=ws, starts_at=at(start), ends_at=at(end), title=item_id,
                          kind=kind, room=room, moderators=list(moderators))


def check(items, accepted=None, **kw):
    return detect_conflicts(items, workshops=WORKSHOPS, rooms=ROOMS, accepted=accepted or {}, days=WINDOW, **kw)


def kinds(found):
    return sorted((f.kind, f.item_ids) for f in found)


def test_a_clean_parallel_day_has_no_conflicts():
    items = [item("open", "09:00", "10:00", ws=None, room="hall", kind="plenary", moderators=["Lea"])]
    for n, ws in enumerate(WORKSHOPS):
        room = ["a", "b", "hall"][n]
        items += [item(f"{ws}-1", "10:00", "11:00", ws, room, moderators=[ws]),
                  item(f"{ws}-p", "11:00", "11:15", ws, None, kind="break"),
                  item(f"{ws}-2", "11:15", "12:30", ws, room, moderators=[ws])]
    items.append(item("close", "12:30", "13:00", ws=None, room="hall", kind="plenary", moderators=["Lea"]))
    assert check(items, accepted={"ws1": 30, "ws2": 12, "ws3": 20}) == []


def test_a_room_used_by_two_workshops_at_once_is_double_booked():
    found = check([item("x", "10:00", "11:00", "ws1", "a"), item("y", "10:30", "11:30", "ws2", "a")])
    assert kinds(found) == [("room_double_booked", ("x", "y"))]
    assert found[0].workshop_ids == ("ws1", "ws2") and "Raum A" in found[0].message


def test_touching_items_do_not_overlap():
    assert check([item("x", "10:00", "11:00"), item("y", "11:00", "12:00")]) == []


def test_a_moderator_in_two_places_at_once():
    found = check([item("x", "10:00", "11:00", "ws1", "a", moderators=["Kim"]),
                   item("y", "10:45", "11:30", "ws2", "b", moderators=["Kim", "Ole"])])
    assert kinds(found) == [("moderator_double_booked", ("x", "y"))] and found[0].detail == "Kim"


def test_items_of_one_workshop_overlap_but_parallel_workshops_may():
    found = check([item("x", "10:00", "11:00", "ws1", "a"), item("y", "10:30", "11:00", "ws1", "b"),
                   item("z", "10:00", "11:00", "ws2", "b")])
    assert ("overlap", ("x", "y")) in kinds(found)
    assert not any(f.kind == "overlap" and "z" in f.item_ids for f in found)


def test_a_workshop_item_overlapping_a_plenary_concerns_that_workshop_only():
    found = check([item("p", "09:00", "10:00", None, "hall", "plenary"), item("x", "09:30", "10:30", "ws2", "a")])
    assert kinds(found) == [("overlap", ("p", "x"))]
    assert found[0].workshop_ids == ("ws1", "ws2", "ws3")  # the plenary is on every agenda


def test_items_outside_the_day_and_without_a_room():
    found = check([item("early", "08:00", "09:30"), item("noroom", "09:30", "10:00", room=None),
                   item("pause", "10:00", "10:15", room=None, kind="break")])
    assert kinds(found) == [("no_room", ("noroom",)), ("outside_day", ("early",))]


def test_a_room_smaller_than_the_accepted_count():
    items = [item("x", "10:00", "11:00", "ws1", "b"), item("p", "09:00", "10:00", None, "a", "plenary")]
    assert kinds(check(items, accepted={"ws1": 12})) == []
    found = check(items, accepted={"ws1": 13, "ws2": 20})
    assert kinds(found) == [("room_too_small", ("p",)), ("room_too_small", ("x",))]
    assert "fasst 12" in next(f for f in found if f.item_ids == ("x",)).message


def test_a_gap_in_one_workshop_but_not_in_the_other():
    found = check([item("a1", "09:00", "10:00", "ws1"), item("a2", "10:30", "11:00", "ws1"),
                   item("b1", "09:00", "10:00", "ws2", "b"), item("b2", "10:00", "11:00", "ws2", "b")])
    assert kinds(found) == [("gap", ("a1", "a2"))]
    assert found[0].detail == "ws1 10:00–10:30"
    assert conflicts_by_workshop(found, WORKSHOPS) == {"ws1": found, "ws2": [], "ws3": []}
    assert check([item("a1", "09:00", "10:00"), item("a2", "10:05", "11:00")], gap_minutes=5) == []


# --- property test ------------------------------------------------------------------

SLOT = timedelta(minutes=15)
START = datetime.combine(DAY, time(8, 0), TZ)


@st.composite
def agendas(draw):
    n = draw(st.integers(0, 14))
    items = []
    for k in range(n):
        start = draw(st.integers(0, 40))
        length = draw(st.integers(1, 8))
        items.append(AgendaItemData(
            item_id=f"i{k:02d}", workshop_id=draw(st.sampled_from([None, *WORKSHOPS])),
            starts_at=START + start * SLOT, ends_at=START + (start + length) * SLOT, title=f"i{k}",
            kind=draw(st.sampled_from(["working_phase", "break", "input"])),
            room=draw(st.sampled_from([None, "hall", "a", "b"])),
            moderators=draw(st.lists(st.sampled_from(["Kim", "Ole", "Lea"]), max_size=2, unique=True)),
        ))
    accepted = {w: draw(st.integers(0, 40)) for w in WORKSHOPS}
    return items, accepted


def oracle(items, accepted):
    """Every conflict, by brute force: all pairs, and gaps found slot by slot."""
    expected = set()
    for a, b in combinations(items, 2):
        if not (a.starts_at < b.ends_at and b.starts_at < a.ends_at):
            continue
        pair = tuple(sorted((a.item_id, b.item_id)))
        if a.room is not None and a.room == b.room:
            expected.add(("room_double_booked", pair, a.room))
        for m in set(a.moderators) & set(b.moderators):
            expected.add(("moderator_double_booked", pair, m))
        if None in (a.workshop_id, b.workshop_id) or a.workshop_id == b.workshop_id:
            expected.add(("overlap", pair, ""))
    for i in items:
        if not (at("09:00") <= i.starts_at and i.ends_at <= at("17:00")):
            expected.add(("outside_day", (i.item_id,), ""))
        if i.room is None and i.kind != "break":
            expected.add(("no_room", (i.item_id,), ""))
        people = sum(accepted.values()) if i.workshop_id is None else accepted[i.workshop_id]
        if i.room and ROOMS[i.room].capacity < people:
            expected.add(("room_too_small", (i.item_id,), i.room))
    gaps = set()
    for ws in WORKSHOPS:
        mine = [i for i in items if i.workshop_id in (ws, None)]
        busy = [any(i.starts_at <= START + s * SLOT < i.ends_at for i in mine) for s in range(60)]
        used = [s for s, b in enumerate(busy) if b]
        for s in range(used[0], used[-1] + 1) if used else ():
            if not busy[s] and busy[s - 1]:
                end = next(e for e in range(s, 60) if busy[e])
                span = f"{(START + s * SLOT).strftime('%H:%M')}–{(START + end * SLOT).strftime('%H:%M')}"
                gaps.add(("gap", f"{ws} {span}"))
    return expected, gaps


@settings(max_examples=300, deadline=None)
@given(agendas())
def test_every_real_conflict_is_found_and_no_false_one(agenda):
    items, accepted = agenda
    found = detect_conflicts(items, workshops=WORKSHOPS, rooms=ROOMS, accepted=accepted, days=WINDOW)
    expected, gaps = oracle(items, accepted)
    assert {f.key for f in found if f.kind != "gap"} == expected
    assert {(f.kind, f.detail) for f in found if f.kind == "gap"} == gaps
    assert len({f.key for f in found}) == len(found)  # no conflict reported twice
    for f in found:
        touched = {i.workshop_id for i in items if i.item_id in f.item_ids}
        assert set(f.workshop_ids) == (set(WORKSHOPS) if None in touched else touched) or f.kind == "gap"
