"""Reporting rules: how events change the reporting figures. No I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from shared.events import derived_id


def participation_key(forum_id: str, workshop_id: str, actor_group: str, municipality: str) -> str:
    """Id of one participation cell (forum × workshop × actor group × municipality)."""
    return f"{forum_id}|{workshop_id}|{actor_group}|{municipality}"


def accepted_changes(previous: dict[str, Any] | None, status: str, forum_id: str, workshop_id: str | None,
                     actor_group: str, municipality: str) -> list[tuple[str, dict[str, str], int]]:
    """(cell id, cell fields, delta) of accepted counts when a decision replaces the previous one."""
    changes = []
    if previous and previous.get("status") == "accepted" and previous.get("workshop_id"):
        cell = {"forum_id": forum_id, "workshop_id": previous["workshop_id"], "actor_group": previous["actor_group"],
                "municipality": previous.get("municipality", "")}
        changes.append((participation_key(**cell), cell, -1))
    if status == "accepted" and workshop_id:
        cell = {"forum_id": forum_id, "workshop_id": workshop_id, "actor_group": actor_group, "municipality": municipality}
        changes.append((participation_key(**cell), cell, 1))
    return changes


def summarise_participation(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals by workshop, by actor group and by municipality from participation cells."""
    by_workshop: dict[str, dict[str, int]] = {}
    by_group: dict[str, dict[str, int]] = {}
    by_municipality: dict[str, dict[str, int]] = {}
    for cell in cells:
        for table, key in ((by_workshop, cell["workshop_id"]), (by_group, cell["actor_group"]),
                           (by_municipality, cell["municipality"])):
            row = table.setdefault(key, {"registered": 0, "accepted": 0})
            row["registered"] += cell.get("registered", 0)
            row["accepted"] += cell.get("accepted", 0)
    return {"by_workshop": by_workshop, "by_actor_group": by_group, "by_municipality": by_municipality,
            "registered": sum(r["registered"] for r in by_workshop.values()),
            "accepted": sum(r["accepted"] for r in by_workshop.values())}


# --- dot voting --------------------------------------------------------------------------------

DEFAULT_DOTS = 5


def voter_id(participant_id: str, workshop_id: str) -> str:
    """Pseudonymous id of one person's ballot in one workshop (never the person's name)."""
    return derived_id("voter", participant_id, workshop_id)


def voting_token(key: bytes, voter: str) -> str:
    """The secret part of a personal voting link; derived, so only its hash is stored."""
    return base64.urlsafe_b64encode(hmac.new(key, b"vote:" + voter.encode(), hashlib.sha256).digest()[:18]).decode()


def token_hash(token: str) -> str:
    """What the store keeps of a voting token."""
    return hashlib.sha256(token.encode()).hexdigest()


def remaining_dots(budget: int, used: int) -> int:
    """Dots a voter may still place (never negative)."""
    return max(0, budget - used)


# --- the report ---------------------------------------------------------------------------------

def rank_sketches(sketches: list[dict[str, Any]], tallies: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Sketches with their dots and voters, most dots first (ties by title)."""
    ranked = [{**s, "dots": tallies.get(s["sketch_id"], {}).get("dots", 0),
               "voters": len(tallies.get(s["sketch_id"], {}).get("voters", []))} for s in sketches]
    return sorted(ranked, key=lambda s: (-s["dots"], s["title"].lower()))


def ideas_by_cluster(ideas: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Ideas grouped by theme (unclustered last), each group sorted by title."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for idea in ideas:
        groups.setdefault(idea.get("cluster") or "", []).append(idea)
    order = sorted(groups, key=lambda c: (c == "", c.lower()))
    return [(c, sorted(groups[c], key=lambda i: i["title"].lower())) for c in order]


def selection_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Forum-wide selection statistics from per-workshop rows."""
    total = {k: sum(r.get(k, 0) for r in rows) for k in
             ("accepted", "waitlisted", "rejected", "cancelled", "accepted_first_choice", "waitlist_moves", "overrides")}
    total["first_choice_rate"] = round(total["accepted_first_choice"] / total["accepted"], 3) if total["accepted"] else None
    return total
