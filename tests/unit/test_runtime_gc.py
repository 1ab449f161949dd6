"""`tune_gc`: start-up objects leave the collector's scans, and every collection's pause is recorded."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from shared.runtime import _GcTimer, tune_gc
from shared.settings import ServiceSettings


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds, callbacks = gc.get_threshold(), list(gc.callbacks)
    gc.callbacks[:] = [callback for callback in callbacks if not isinstance(callback, _GcTimer)]  # a runtime started in this process
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.callbacks[:] = callbacks


def pauses(service: str, generation: int) -> float:
    return REGISTRY.get_sample_value("themenforum_gc_pause_seconds_count", {"service": service, "generation": str(generation)}) or 0.0


def test_start_up_objects_are_frozen_and_collections_are_timed(restored_gc: None) -> None:
    settings = ServiceSettings(service_name="gc-unit", gc_gen0_threshold=5000)
    tune_gc(settings)
    assert gc.get_threshold()[0] == 5000
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the modules, pydantic schemas and everything else this test process imported
    # Read when scraped: frozen objects freed by reference counting since leave the count.
    assert REGISTRY.get_sample_value("themenforum_gc_frozen_objects", {"service": "gc-unit"}) == pytest.approx(frozen, rel=0.01)
    before = pauses("gc-unit", 2)
    gc.collect()
    assert pauses("gc-unit", 2) == before + 1
    tune_gc(settings)  # a second start (tests start runtimes more than once) adds no second timer
    assert sum(isinstance(callback, _GcTimer) for callback in gc.callbacks) == 1


def test_both_off_leaves_the_interpreter_as_it_was(restored_gc: None) -> None:
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    tune_gc(ServiceSettings(service_name="gc-off", gc_freeze_after_start=False, gc_gen0_threshold=0))
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == frozen
