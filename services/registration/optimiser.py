"""Batch selection: the optimal assignment of all applicants to workshops (an integer program). No I/O.

Variables x[i,k] = 1 when applicant i gets their k-th preference. Each applicant gets at most
one seat (the workshops run in parallel); per workshop the seats, each group's maximum and the
organisation cap hold as hard constraints; each group's minimum is reserved through a slack that
costs more than any one placement gains, so minimums are met whenever applicants allow it.
Ties are broken by a seeded lottery: a tiny per-person bonus that never outweighs one unit
of preference satisfaction. HiGHS (through scipy.optimize.milp) solves it to proven optimality.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from .selection import BLOCKER_TEXT, WorkshopFill, blocker_text


@dataclass(frozen=True)
class Applicant:
    """One person in the batch run."""

    registration_id: str
    group: str
    org: str
    preferences: tuple[str, ...]
    fixed: str | None = None  # a staff override: this workshop, whatever the optimiser prefers


@dataclass
class Assignment:
    """The result of a batch run."""

    placed: dict[str, str | None]
    lottery: dict[str, int]  # registration id -> lottery rank (1 = drawn first)
    seed: int
    objective: int  # preference satisfaction minus the penalty for missed minimums
    solve_seconds: float = 0.0
    gap: float = 0.0  # proven relative optimality gap of the solver (0 when solved exactly)
    filled: dict[str, Counter[str]] = field(default_factory=dict)


def score(rank: int, n_pref: int) -> int:
    """Satisfaction of getting one's rank-th preference (0 = first); always > 0."""
    return n_pref - rank


def min_penalty(n_pref: int) -> int:
    """Cost of one missed minimum seat: more than any single placement is worth."""
    return 2 * n_pref


def objective_of(applicants: list[Applicant], workshops: dict[str, WorkshopFill], placed: dict[str, str | None]) -> int:
    """The integer objective of an assignment (used for the optimality gap and brute-force checks)."""
    n_pref = max((len(a.preferences) for a in applicants), default=1)
    total, counts = 0, Counter()
    for a in applicants:
        w = placed.get(a.registration_id)
        if w is not None:
            total += score(a.preferences.index(w), n_pref) if w in a.preferences else 0
            counts[(w, a.group)] += 1
    for w, fill in workshops.items():
        for g, q in fill.quotas.items():
            total -= min_penalty(n_pref) * max(0, q.get("min", 0) - counts[(w, g)])
    return total


def feasible(applicants: list[Applicant], workshops: dict[str, WorkshopFill], placed: dict[str, str | None]) -> bool:
    """Do seats, group maximums and organisation caps hold?"""
    fills = {w: WorkshopFill(f.workshop_id, f.number, f.title, f.seats, f.reserved_seats, f.quotas, f.organisation_cap)
             for w, f in workshops.items()}
    for a in applicants:
        w = placed.get(a.registration_id)
        if w is not None:
            fills[w].take(a.group, a.org)
    return all(
        f.accepted <= f.open_seats and all(f.by_group.get(g, 0) <= f.group_max(g) for g in f.by_group)
        and (f.organisation_cap is None or all(v <= f.organisation_cap for v in f.by_org.values()))
        for f in fills.values()
    )


def assign(applicants: list[Applicant], workshops: dict[str, WorkshopFill], seed: int) -> Assignment:
    """Solve the batch assignment to optimality; unplaced applicants come out as None."""
    import time

    rng = random.Random(seed)
    order = [a.registration_id for a in applicants]
    rng.shuffle(order)
    lottery = {rid: i + 1 for i, rid in enumerate(order)}
    n_pref = max((len(a.preferences) for a in applicants), default=1)
    eps = 0.5 / (len(applicants) + 1)  # all lottery bonuses together stay below one unit of satisfaction

    cols: list[tuple[int, str, int]] = []  # (applicant index, workshop, rank)
    for i, a in enumerate(applicants):
        for rank, w in enumerate(a.preferences):
            if w in workshops and (a.fixed is None or a.fixed == w):
                cols.append((i, w, rank))
        if a.fixed is not None and a.fixed not in a.preferences and a.fixed in workshops:
            cols.append((i, a.fixed, n_pref))  # moved by staff to a workshop they did not ask for
    slacks = [(w, g, q.get("min", 0)) for w, f in workshops.items() for g, q in f.quotas.items() if q.get("min", 0) > 0]
    n_x, n = len(cols), len(cols) + len(slacks)

    c = np.zeros(n)
    for j, (i, w, rank) in enumerate(cols):
        bonus = score(rank, n_pref) if rank < n_pref else 0
        c[j] = -(bonus + eps * (len(applicants) - lottery[applicants[i].registration_id] + 1) / len(applicants))
    c[n_x:] = min_penalty(n_pref)
    lower, upper = np.zeros(n), np.ones(n)
    for j, (i, _w, _r) in enumerate(cols):
        if applicants[i].fixed is not None:
            lower[j] = 1  # staff overrides survive re-runs
    upper[n_x:] = [m for _w, _g, m in slacks]

    rows, row_cols, lo, hi = [], [], [], []

    def add_row(members: list[int], low: float, high: float, extra: list[int] = ()) -> None:
        r = len(lo)
        rows.extend([r] * (len(members) + len(extra)))
        row_cols.extend(list(members) + list(extra))
        lo.append(low)
        hi.append(high)

    by_applicant, by_w, by_wg, by_wo = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
    for j, (i, w, _r) in enumerate(cols):
        a = applicants[i]
        by_applicant[i].append(j)
        by_w[w].append(j)
        by_wg[(w, a.group)].append(j)
        by_wo[(w, a.org)].append(j)
    for members in by_applicant.values():
        if len(members) > 1:
            add_row(members, 0, 1)
    for w, members in by_w.items():
        add_row(members, 0, workshops[w].open_seats)
    for (w, g), members in by_wg.items():
        add_row(members, 0, workshops[w].group_max(g))
    for (w, o), members in by_wo.items():
        cap = workshops[w].organisation_cap
        if cap is not None and len(members) > cap:
            add_row(members, 0, cap)
    for s, (w, g, m) in enumerate(slacks):  # placed(w, g) + slack >= min
        add_row(by_wg.get((w, g), []), m, np.inf, extra=[n_x + s])

    started = time.perf_counter()
    placed: dict[str, str | None] = {a.registration_id: None for a in applicants}
    if n_x:
        matrix = coo_array((np.ones(len(rows)), (rows, row_cols)), shape=(len(lo), n)).tocsr()
        constraints, bounds = LinearConstraint(matrix, lo, hi), Bounds(lower, upper)
        # The constraint matrix is nearly a network matrix, so the LP relaxation is usually integral
        # already: solve it first and only branch when it is not.
        result = milp(c, constraints=constraints, bounds=bounds, options={"presolve": True})
        gap = 0.0
        if result.x is None or np.any(np.abs(result.x[:n_x] - np.round(result.x[:n_x])) > 1e-6):
            result = milp(c, constraints=constraints, integrality=np.r_[np.ones(n_x), np.zeros(n - n_x)],
                          bounds=bounds, options={"mip_rel_gap": 0, "presolve": True})
        if result.x is None:
            raise ValueError(f"no feasible assignment: {result.message}")
        gap = float(getattr(result, "mip_gap", 0.0) or 0.0)
        for j in np.flatnonzero(result.x[:n_x] > 0.5):
            i, w, _r = cols[j]
            placed[applicants[i].registration_id] = w
    else:
        gap = 0.0
    elapsed = time.perf_counter() - started
    filled: dict[str, Counter[str]] = defaultdict(Counter)
    for a in applicants:
        if placed[a.registration_id]:
            filled[placed[a.registration_id]][a.group] += 1
    return Assignment(placed, lottery, seed, objective_of(applicants, workshops, placed), elapsed, gap, dict(filled))


def final_fills(applicants: list[Applicant], workshops: dict[str, WorkshopFill], placed: dict[str, str | None]) -> dict[str, WorkshopFill]:
    """Workshop counts after an assignment."""
    fills = {w: WorkshopFill(f.workshop_id, f.number, f.title, f.seats, f.reserved_seats, f.quotas, f.organisation_cap)
             for w, f in workshops.items()}
    for a in applicants:
        if placed.get(a.registration_id):
            fills[placed[a.registration_id]].take(a.group, a.org)
    return fills


def explain(a: Applicant, placed: str | None, fills: dict[str, WorkshopFill]) -> tuple[list[str], str]:
    """Reason codes and the German explanation of one person's batch outcome."""
    if a.fixed:
        return ["staff_override"], f"Die Veranstalter haben Ihnen einen Platz im Workshop {fills[a.fixed].number} gegeben."
    reasons, texts = [], []
    for w in a.preferences:
        if w == placed:
            break
        fill = fills[w]
        # A full workshop, group or organisation names itself; otherwise the seat went to balance the groups.
        code = fill.blocker(a.group, a.org) or "balanced_by_optimiser"
        reasons.append(code)
        texts.append(blocker_text(code, fill, a.group) if code in BLOCKER_TEXT
                     else f"Workshop {fill.number}: Plätze wurden für eine ausgewogene Mischung der Gruppen vergeben")
    if placed is None:
        return reasons or ["not_placed"], "; ".join(texts) or "Kein Platz frei"
    fill = fills[placed]
    rank = a.preferences.index(placed) if placed in a.preferences else None
    lead = f"Sie haben einen Platz im Workshop {fill.number} „{fill.title}“ erhalten"
    if rank == 0:
        return ["first_choice"], lead + " (Ihr Erstwunsch)."
    return reasons + ["placed_in_lower_preference"], f"{lead} (Ihr {(rank or 0) + 1}. Wunsch; " + "; ".join(texts) + ")."
