"""Reporting rules: how events change the reporting figures. No I/O."""

from __future__ import annotations

from typing import Any


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
