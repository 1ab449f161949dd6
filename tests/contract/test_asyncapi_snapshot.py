"""The published event catalogue (each service's AsyncAPI document) is snapshotted.

A contract change shows up as a diff of `tests/contract/asyncapi/*.json` in review.
After an intended change: `UPDATE_SNAPSHOTS=1 make test` (or `make docs`) and commit the files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shared.asyncapi import SERVICES, document

SNAPSHOTS = Path(__file__).parent / "asyncapi"


def _normalised(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc, sort_keys=True))
    doc.get("servers", {}).pop("development", None)  # host and port depend on the environment
    return doc


@pytest.mark.parametrize("service", SERVICES)
def test_the_asyncapi_document_matches_its_snapshot(service):
    current = _normalised(document(service))
    path = SNAPSHOTS / f"{service}.json"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(json.dumps(current, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    assert current == json.loads(path.read_text()), f"the {service} event contract changed: review, then UPDATE_SNAPSHOTS=1"
    assert current["asyncapi"].startswith("3.")
    for name, message in current["components"]["messages"].items():
        assert "EmptyPayload" not in json.dumps(message), f"{name} has no documented payload"
