"""Agenda rules. No I/O.

The foundation keeps participation counts per workshop; the agenda editor, conflict
detection and versions build on them.
"""

from __future__ import annotations

from typing import Any


def count_changes(previous: dict[str, Any] | None, status: str, workshop_id: str | None, group: str) -> list[tuple[str, str, int]]:
    """Counter increments (workshop, field, delta) when a registration's decision changes."""
    changes: list[tuple[str, str, int]] = []
    if previous and previous.get("status") == "accepted" and previous.get("workshop_id"):
        changes += [(previous["workshop_id"], "accepted_total", -1),
                    (previous["workshop_id"], f"accepted_by_group.{previous['actor_group']}", -1)]
    if status == "accepted" and workshop_id:
        changes += [(workshop_id, "accepted_total", 1), (workshop_id, f"accepted_by_group.{group}", 1)]
    return changes
