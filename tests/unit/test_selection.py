"""Selection rules as properties: no constraint is ever broken; the batch assignment is optimal."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.registration.domain import near_duplicate_ids
from services.registration.optimiser import Applicant, assign, feasible, objective_of
from services.registration.selection import Candidate, WorkshopFill, choose_move_up, decide_rolling, organisation_key

GROUPS = ["company", "research", "municipality", "chamber"]
ORGS = ["a", "b", "c", "d", "e"]


@st.composite
def workshops(draw, count=st.integers(1, 3), max_seats=12):
    out = {}
    for n in range(draw(count)):
        seats = draw(st.integers(0, max_seats))
        reserved = draw(st.integers(0, 2))
        quotas = {}
        for g in GROUPS:
            if draw(st.booleans()):
                lo = draw(st.integers(0, 3))
                quotas[g] = {"min": lo, "max": draw(st.integers(lo, max_seats))}
        cap = draw(st.one_of(st.none(), st.integers(1, 3)))
        out[f"w{n}"] = WorkshopFill(f"w{n}", n + 1, f"Workshop {n + 1}", seats, reserved, quotas, cap)
    return out


@st.composite
def pools(draw, max_people=60):
    ws = draw(workshops())
    ids = list(ws)
    people = []
    for i in range(draw(st.integers(0, max_people))):
        prefs = draw(st.permutations(ids).flatmap(lambda p: st.integers(1, len(p)).map(lambda k: tuple(p[:k]))))
        people.append(Applicant(f"p{i}", draw(st.sampled_from(GROUPS)), draw(st.sampled_from(ORGS)), prefs))
    return ws, people


def within_limits(fill: WorkshopFill) -> bool:
    return (fill.accepted <= fill.open_seats
            and all(n <= fill.group_max(g) for g, n in fill.by_group.items())
            and (fill.organisation_cap is None or all(n <= fill.organisation_cap for n in fill.by_org.values())))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_rolling_decisions_never_exceed_seats_group_maximums_or_organisation_caps(pool):
    ws, people = pool
    for p in people:
        decision = decide_rolling(p.group, p.org, list(p.preferences), ws)
        if decision.status == "accepted":
            assert decision.workshop_id in p.preferences
            ws[decision.workshop_id].take(p.group, p.org)
        else:
            assert decision.workshop_id == p.preferences[0]
            assert len(decision.reasons) == len(p.preferences)  # every preference says why it was full
        assert all(within_limits(f) for f in ws.values())


@settings(max_examples=200, deadline=None)
@given(pools(max_people=40))
def test_rolling_takes_the_first_preference_that_has_room(pool):
    ws, people = pool
    for p in people:
        decision = decide_rolling(p.group, p.org, list(p.preferences), ws)
        first_open = next((w for w in p.preferences if ws[w].blocker(p.group, p.org) is None), None)
        assert (decision.workshop_id if decision.status == "accepted" else None) == first_open
        if first_open:
            ws[first_open].take(p.group, p.org)


def test_seats_reserved_for_a_groups_minimum_are_not_given_to_others():
    fill = WorkshopFill("w", 1, "W", 3, 0, {"research": {"min": 1, "max": 3}})
    fill.take("company", "a")
    fill.take("company", "b")
    assert fill.blocker("company", "c") == "seats_reserved_for_other_groups"
    assert fill.blocker("research", "c") is None


def test_a_waitlist_explanation_names_the_full_group_and_the_workshop():
    fill = WorkshopFill("w", 2, "W", 10, 0, {"municipality": {"min": 0, "max": 1}})
    fill.take("municipality", "a")
    decision = decide_rolling("municipality", "b", ["w"], {"w": fill})
    assert decision.status == "waitlisted" and decision.reasons == ["group_full"]
    assert "Workshop 2 ist für die Gruppe Kommunen und Verwaltung ausgebucht" in decision.explanation


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(GROUPS), st.sampled_from(ORGS)), min_size=0, max_size=20), st.sampled_from(GROUPS))
def test_a_freed_seat_goes_to_the_first_waiting_person_of_the_freed_group(waiting, freed):
    fill = WorkshopFill("w", 1, "W", 10, 0, {g: {"min": 0, "max": 3} for g in GROUPS}, 2)
    for g in GROUPS:
        for org in ("x", "y"):
            fill.take(g, org) if fill.by_group.get(g, 0) < 3 else None
    fill.release(freed, "x")
    candidates = [Candidate(f"c{i}", g, o, ("w",), i) for i, (g, o) in enumerate(waiting)]
    chosen = choose_move_up(freed, fill, candidates)
    same = [c for c in candidates if c.group == freed and fill.blocker(c.group, c.org) is None]
    fits = [c for c in candidates if fill.blocker(c.group, c.org) is None]
    assert chosen == (same[0] if same else fits[0] if fits else None)


def brute_force(people, ws):
    """Best objective over every feasible assignment (small instances only)."""
    best = None
    options = [(None, *p.preferences) for p in people]
    for combo in itertools.product(*options):
        placed = {p.registration_id: w for p, w in zip(people, combo)}
        if feasible(people, ws, placed):
            value = objective_of(people, ws, placed)
            best = value if best is None else max(best, value)
    return best


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(max_people=6), st.integers(0, 2**31))
def test_the_batch_assignment_is_feasible_and_as_good_as_brute_force(pool, seed):
    ws, people = pool
    result = assign(people, ws, seed)
    assert feasible(people, ws, result.placed)
    assert all(w is None or w in p.preferences for p in people for w in [result.placed[p.registration_id]])
    assert result.objective == brute_force(people, ws)
    assert result.gap == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools(max_people=60), st.integers(0, 2**31))
def test_the_batch_assignment_never_breaks_a_limit_on_larger_pools_and_the_seed_decides_ties(pool, seed):
    ws, people = pool
    first, again = assign(people, ws, seed), assign(people, ws, seed)
    assert feasible(people, ws, first.placed)
    assert first.placed == again.placed and first.lottery == again.lottery


def test_ties_go_to_the_lottery_winner_and_another_seed_can_draw_differently():
    ws = {"w": WorkshopFill("w", 1, "W", 1, 0, {})}
    people = [Applicant(f"p{i}", "company", f"o{i}", ("w",)) for i in range(8)]
    winners = set()
    for seed in range(20):
        result = assign(people, ws, seed)
        (winner,) = [rid for rid, w in result.placed.items() if w]
        assert result.lottery[winner] == 1  # the first drawn wins when everything else is equal
        winners.add(winner)
    assert len(winners) > 1


def test_staff_overrides_are_kept_by_the_batch_run():
    ws = {"w1": WorkshopFill("w1", 1, "W1", 1, 0, {}), "w2": WorkshopFill("w2", 2, "W2", 1, 0, {})}
    people = [Applicant("a", "company", "o1", ("w1",)), Applicant("b", "company", "o2", ("w1",), fixed="w2")]
    assert assign(people, ws, 1).placed == {"a": "w1", "b": "w2"}


def test_near_duplicates_are_the_same_person_spelled_differently_at_the_same_organisation():
    others = [{"_id": "1", "first_name": "Jürgen", "last_name": "Müller"}, {"_id": "2", "first_name": "Anna", "last_name": "Schmidt"}]
    assert near_duplicate_ids("Juergen", "Mueller", others) == ["1"]
    assert near_duplicate_ids("J.", "Müller", others) == ["1"]
    assert near_duplicate_ids("Bernd", "Becker", others) == []
    assert organisation_key("Stadt Bochum") == organisation_key(" stadt  BOCHUM ")
    assert organisation_key("Beispiel GmbH") == organisation_key("Beispiel")
