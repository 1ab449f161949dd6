"""Helpers for selection tests: a fresh forum per test, registering people, waiting for decisions."""

from __future__ import annotations

import json
import uuid
from typing import Any

from shared.testing import SEED, eventually
from tests.conftest import person


def make_forum(stack: Any, http: Any, workshops: list[dict[str, Any]], *, mode: str = "rolling") -> tuple[str, list[str]]:
    """Create and open a forum of its own (starting after the seeded one, so it never becomes the default)."""
    forum_id = f"test-{uuid.uuid4().hex[:10]}"
    ids = [f"{forum_id}-ws{n + 1}" for n in range(len(workshops))]
    commands: list[dict[str, Any]] = [{"command": "configure_forum", "forum": {
        "forum_id": forum_id, "title": f"Testforum {forum_id}", "starts_on": "2029-06-01", "selection_mode": mode,
        "privacy_notice_version": "2027-01", "status": "draft"}}]
    for n, (wid, w) in enumerate(zip(ids, workshops)):
        commands.append({"command": "configure_workshop", "workshop": {
            "workshop_id": wid, "forum_id": forum_id, "number": n + 1, "title": f"Workshop {n + 1}", **w}})
    commands.append({"command": "open_registration", "forum_id": forum_id})
    answer = http.post(stack.url("registration", "/api/v1/catalogue"), json={"commands": commands}, headers=stack.auth)
    assert answer.status_code == 200, answer.text
    return forum_id, ids


def register(stack: Any, http: Any, forum_id: str, prefs: list[str], **fields: Any) -> dict[str, Any]:
    """Submit one registration; returns the intake answer."""
    answer = http.post(stack.url("registration", "/api/v1/registrations"),
                       json=person(forum_id=forum_id, preferences=prefs, **fields))
    assert answer.status_code == 202, answer.text
    return answer.json()


def decided(http: Any, reg: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    """The status once a decision is there."""
    return eventually(lambda: (s := http.get(reg["status_url"]).json())["status"] != "received" and s, timeout=timeout)


def status_of(stack: Any, http: Any, registration_id: str) -> dict[str, Any]:
    return http.get(stack.url("registration", f"/api/v1/registrations/{registration_id}"), headers=stack.auth).json()


def seeded_copy(stack: Any, http: Any) -> tuple[str, dict[str, dict[str, Any]]]:
    """The seeded forum's catalogue under a fresh id; returns it and its workshops' configuration."""
    forum_id = f"load-{uuid.uuid4().hex[:8]}"
    commands, workshops = [], {}
    for cmd in json.loads(SEED.read_text())["commands"]:
        cmd = json.loads(json.dumps(cmd).replace("themenforum-2", forum_id).replace("tf2-", f"{forum_id}-"))
        if cmd["command"] == "configure_forum":
            cmd["forum"]["starts_on"] = cmd["forum"]["ends_on"] = "2029-01-01"
        if cmd["command"] == "configure_workshop":
            workshops[cmd["workshop"]["workshop_id"]] = cmd["workshop"]
        commands.append(cmd)
    assert http.post(stack.url("registration", "/api/v1/catalogue"), json={"commands": commands}, headers=stack.auth).status_code == 200
    return forum_id, workshops
