"""Breakout groups for working phases. No I/O.

People are dealt into the groups in turn, one actor group after the other, so sizes and
every actor group's share differ by at most one between groups. A final pass swaps people
of the same actor group between groups to split organisations that still share a group.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    """An accepted participant as breakout groups need them (no contact data)."""

    registration_id: str
    actor_group: str
    organisation: str
    name: str = ""


def default_group_count(people: int, preferred_size: int = 7) -> int:
    """How many groups of about `preferred_size` people."""
    return max(1, round(people / preferred_size)) if people else 0


def _org(member: Member) -> str:
    return member.organisation.strip().casefold()


def form_groups(members: Sequence[Member], count: int) -> list[list[Member]]:
    """Split members into `count` groups, balanced by actor group, organisations kept apart."""
    if count < 1 or not members:
        return []
    count = min(count, len(members))
    by_group = Counter(m.actor_group for m in members)
    by_org = Counter((m.actor_group, _org(m)) for m in members)
    # Dealt in turn, each actor group's block lands evenly; an organisation's members of one
    # actor group are consecutive in the block, so they land in different groups.
    ordered = sorted(members, key=lambda m: (-by_group[m.actor_group], m.actor_group,
                                             -by_org[(m.actor_group, _org(m))], _org(m), m.registration_id))
    groups: list[list[Member]] = [[] for _ in range(count)]
    for position, member in enumerate(ordered):
        groups[position % count].append(member)
    _split_organisations(groups)
    return [sorted(g, key=lambda m: (m.actor_group, m.name, m.registration_id)) for g in groups]


def _clashes(group: list[Member]) -> int:
    orgs = Counter(_org(m) for m in group)
    return sum(n - 1 for n in orgs.values())


def _split_organisations(groups: list[list[Member]]) -> None:
    """Swap members of the same actor group between groups while that lowers organisation clashes."""
    improved = True
    while improved:
        improved = False
        for g, group in enumerate(groups):
            for a in list(group):
                if sum(_org(o) == _org(a) for o in group) < 2:
                    continue
                for h, other in enumerate(groups):
                    swap = _find_swap(group, other, a) if h != g else None
                    if swap is not None:
                        group[group.index(a)], other[other.index(swap)] = swap, a
                        improved = True
                        break
                if improved:
                    break
            if improved:
                break


def _find_swap(group: list[Member], other: list[Member], a: Member) -> Member | None:
    before = _clashes(group) + _clashes(other)
    for b in other:
        if b.actor_group != a.actor_group:
            continue
        g2 = [b if m is a else m for m in group]
        o2 = [a if m is b else m for m in other]
        if _clashes(g2) + _clashes(o2) < before:
            return b
    return None


def balance_report(groups: Sequence[Sequence[Member]]) -> dict[str, object]:
    """Figures that show how balanced the groups are."""
    sizes = [len(g) for g in groups]
    return {"sizes": sizes, "organisation_clashes": sum(_clashes(list(g)) for g in groups),
            "spread": (max(sizes) - min(sizes)) if sizes else 0, "groups": len(groups),
            "max_size": max(sizes, default=0), "ceil": math.ceil(sum(sizes) / len(sizes)) if sizes else 0}
