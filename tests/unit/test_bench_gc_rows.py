"""The flow bench's collector rows, from two readings of each service's `/metrics`."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from tests.bench.scenario_flow import _gc_rows


def metrics(*pauses: tuple[int, float]) -> str:
    registry = CollectorRegistry()
    histogram = Histogram("themenforum_gc_pause_seconds", "pauses", ["service", "generation"], registry=registry)
    for generation, seconds in pauses:
        histogram.labels("registration", str(generation)).observe(seconds)
    return generate_latest(registry).decode()


def test_the_rows_count_only_what_happened_between_the_readings() -> None:
    before = metrics((0, 0.001), (2, 0.2))
    after = metrics((0, 0.001), (2, 0.2), (0, 0.002), (1, 0.01), (2, 0.05), (2, 0.03))
    [row] = _gc_rows({"registration": before}, {"registration": after}, 1000)
    assert row.scenario == "gc flow: registration"
    assert row.seconds == pytest.approx(0.092)
    assert row.note == "0.092 ms of collections per registration; 2 full collections, 40 ms each"


def test_no_full_collection_and_no_timer_are_told_apart() -> None:
    young = _gc_rows({"registration": metrics()}, {"registration": metrics((0, 0.004))}, 100)
    assert young[0].note.endswith("no full collection")
    assert _gc_rows({"agenda": "# no gc metrics\n"}, {"agenda": "# no gc metrics\n"}, 100) == []  # older code in a ladder


def test_one_full_collection_is_singular() -> None:
    [row] = _gc_rows({"results": metrics()}, {"results": metrics((2, 0.029))}, 100)
    assert row.note.endswith("; 1 full collection, 29 ms each")
