"""Rolling selection rules: seats, quotas per actor group, organisation caps, waiting lists. No I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from shared.events.common import ACTOR_GROUP_LABELS_DE, ActorGroup
from shared.events.selection import DecisionStatus


def organisation_key(name: str) -> str:
    """A normal form of an organisation's name (for caps and near-duplicates); safe as a MongoDB field name."""
    text = unicodedata.normalize("NFKD", name.casefold()).encode("ascii", "ignore").decode()
    text = re.sub(r"\b(e\s*v|ggmbh|gmbh|ag|kg|mbh|ug|der|die|das|und|the|of)\b", " ", text)
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "unbekannt"


def group_label(group: str) -> str:
    """German label of an actor group."""
    return ACTOR_GROUP_LABELS_DE.get(ActorGroup(group), group) if group in ActorGroup.__members__ else group


@dataclass
class WorkshopFill:
    """Seats, quotas and current counts of one workshop (the selection state)."""

    workshop_id: str
    number: int
    title: str
    seats: int
    reserved_seats: int
    quotas: dict[str, dict[str, int]]
    organisation_cap: int | None = None
    accepted: int = 0
    by_group: dict[str, int] = field(default_factory=dict)
    by_org: dict[str, int] = field(default_factory=dict)
    waitlisted: int = 0

    @property
    def open_seats(self) -> int:
        """Seats people can still take (reserved seats are held for invitations)."""
        return max(0, self.seats - self.reserved_seats)

    def group_max(self, group: str) -> int:
        """Most seats this group may take."""
        quota = self.quotas.get(group)
        return min(quota["max"], self.open_seats) if quota else self.open_seats

    def held_for_others(self, group: str) -> int:
        """Seats still reserved for other groups' minimums."""
        return sum(max(0, q.get("min", 0) - self.by_group.get(g, 0)) for g, q in self.quotas.items() if g != group)

    def blocker(self, group: str, org: str) -> str | None:
        """Why this person cannot take a seat now (a reason code), or None if they can."""
        if self.accepted >= self.open_seats:
            return "workshop_full"
        if self.by_group.get(group, 0) >= self.group_max(group):
            return "group_full"
        if self.organisation_cap is not None and self.by_org.get(org, 0) >= self.organisation_cap:
            return "organisation_cap"
        if self.accepted + self.held_for_others(group) >= self.open_seats:
            return "seats_reserved_for_other_groups"
        return None

    def take(self, group: str, org: str) -> None:
        """Count one accepted person (in memory; the store does the same atomically)."""
        self.accepted += 1
        self.by_group[group] = self.by_group.get(group, 0) + 1
        self.by_org[org] = self.by_org.get(org, 0) + 1

    def release(self, group: str, org: str) -> None:
        """Free one accepted person's seat."""
        self.accepted -= 1
        self.by_group[group] = self.by_group.get(group, 0) - 1
        self.by_org[org] = self.by_org.get(org, 0) - 1


@dataclass(frozen=True)
class Decision:
    """The outcome of a rolling check for one registration."""

    status: DecisionStatus
    workshop_id: str
    first_choice: bool
    reasons: list[str]
    explanation: str


BLOCKER_TEXT = {
    "workshop_full": "Workshop {n} ist ausgebucht",
    "group_full": "Workshop {n} ist für die Gruppe {g} ausgebucht",
    "organisation_cap": "In Workshop {n} hat Ihre Organisation bereits die Höchstzahl an Plätzen",
    "seats_reserved_for_other_groups": "Die freien Plätze in Workshop {n} sind für andere Gruppen reserviert",
}


def blocker_text(reason: str, fill: WorkshopFill, group: str) -> str:
    """German text for one reason code."""
    return BLOCKER_TEXT[reason].format(n=fill.number, g=group_label(group))


def decide_rolling(group: str, org: str, preferences: list[str], fills: dict[str, WorkshopFill]) -> Decision:
    """First preference with a free seat for the person; else the waiting list of the first preference."""
    reasons: list[str] = []
    texts: list[str] = []
    for rank, workshop_id in enumerate(preferences):
        fill = fills[workshop_id]
        blocked = fill.blocker(group, org)
        if blocked is None:
            reasons.append("seat_available" if rank == 0 else "placed_in_lower_preference")
            lead = f"Sie haben einen Platz im Workshop {fill.number} „{fill.title}“ erhalten"
            why = "" if rank == 0 else f" (Ihr {rank + 1}. Wunsch; " + "; ".join(texts) + ")"
            return Decision(DecisionStatus.accepted, workshop_id, rank == 0, reasons, lead + why + ".")
        reasons.append(blocked)
        texts.append(blocker_text(blocked, fill, group))
    return Decision(DecisionStatus.waitlisted, preferences[0], False, reasons, "; ".join(texts))


def waitlist_explanation(decision: Decision, position: int) -> str:
    """German text for a waiting-list decision (names the blocking reason and the place)."""
    return f"{decision.explanation}; Sie stehen auf Platz {position} der Warteliste."


@dataclass(frozen=True)
class Candidate:
    """A waitlisted registration that might move up."""

    registration_id: str
    group: str
    org: str
    preferences: tuple[str, ...]
    waitlist_seq: int


def choose_move_up(freed_group: str, fill: WorkshopFill, candidates: list[Candidate]) -> Candidate | None:
    """Who takes a freed seat: the first waiting person of the freed group, else the first who fits."""
    ordered = sorted(candidates, key=lambda c: c.waitlist_seq)
    fitting = [c for c in ordered if fill.workshop_id in c.preferences and fill.blocker(c.group, c.org) is None]
    same_group = [c for c in fitting if c.group == freed_group]
    return (same_group or fitting or [None])[0]


def move_up_explanation(fill: WorkshopFill, freed_group: str, group: str) -> str:
    """German text for a person who moved up from the waiting list."""
    why = "für Ihre Gruppe " if freed_group == group else ""
    return (f"Ein Platz {why}im Workshop {fill.number} „{fill.title}“ ist frei geworden; "
            "Sie sind von der Warteliste nachgerückt und haben nun einen Platz.")
