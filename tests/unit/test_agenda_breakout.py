"""Breakout groups: sizes, actor-group balance, organisations apart."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from services.agenda.breakout import Member, balance_report, default_group_count, form_groups

GROUPS = ["company", "research", "municipality", "chamber", "finance", "civil_society"]


def test_thirty_people_in_four_groups_are_balanced_and_organisations_split():
    members = [Member(f"r{n}", GROUPS[n % 3], f"Org {n // 2}") for n in range(30)]  # pairs share an organisation
    groups = form_groups(members, 4)
    assert sorted(len(g) for g in groups) == [7, 7, 8, 8]
    assert balance_report(groups)["organisation_clashes"] == 0
    for actor_group in GROUPS[:3]:
        counts = [sum(m.actor_group == actor_group for m in g) for g in groups]
        assert max(counts) - min(counts) <= 1
    assert sorted(m.registration_id for g in groups for m in g) == sorted(m.registration_id for m in members)


def test_default_group_count():
    assert default_group_count(0) == 0 and default_group_count(5) == 1 and default_group_count(30) == 4


@st.composite
def people(draw):
    n = draw(st.integers(1, 40))
    orgs = draw(st.integers(1, 40))
    return [Member(f"r{k}", draw(st.sampled_from(GROUPS)), f"Org {draw(st.integers(0, orgs - 1))}") for k in range(n)], \
        draw(st.integers(1, 8))


@settings(max_examples=300, deadline=None)
@given(people())
def test_groups_are_a_partition_with_sizes_and_actor_groups_within_one(case):
    members, count = case
    groups = form_groups(members, count)
    assert sorted(m.registration_id for g in groups for m in g) == sorted(m.registration_id for m in members)
    sizes = [len(g) for g in groups]
    assert len(groups) == min(count, len(members)) and max(sizes) - min(sizes) <= 1
    for actor_group in GROUPS:
        counts = [sum(m.actor_group == actor_group for m in g) for g in groups]
        assert max(counts) - min(counts) <= 1


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 8), st.lists(st.tuples(st.sampled_from(GROUPS), st.integers(1, 8)), min_size=1, max_size=12))
def test_organisations_are_kept_apart_whenever_that_is_possible(count, orgs):
    """Possible: each organisation has no more members than there are groups (here: within one actor group)."""
    members = [Member(f"r{k}-{n}", group, f"Org {k}") for k, (group, size) in enumerate(orgs) for n in range(min(size, count))]
    groups = form_groups(members, count)
    assert balance_report(groups)["organisation_clashes"] == 0


def test_the_swap_pass_splits_organisations_across_actor_groups():
    # Round-robin alone would put both members of "Org X" into group 1.
    members = [Member("a", "company", "Org X"), Member("b", "company", "Org A"),
               Member("c", "research", "Org X"), Member("d", "research", "Org B")]
    groups = form_groups(members, 2)
    assert balance_report(groups)["organisation_clashes"] == 0
    assert all({m.actor_group for m in g} == {"company", "research"} for g in groups)
