"""Each running service froze what start-up allocated and times its garbage collections (its /metrics)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shared.testing import Stack, eventually


def samples(http: httpx.Client, url: str, service: str) -> dict[tuple[str, str | None], float]:
    families = text_string_to_metric_families(http.get(f"{url}/metrics").text)
    return {(s.name, s.labels.get("generation")): s.value for f in families for s in f.samples if s.labels.get("service") == service}


def test_each_service_froze_its_start_up_objects_and_times_its_collections(stack: Stack, http: httpx.Client) -> None:
    for service in ("registration", "agenda", "results", "notify"):
        values = samples(http, stack.url(service), service)
        # Tens of thousands of modules' objects, schemas and routes leave the full scans (0 without `tune_gc`).
        assert values[("themenforum_gc_frozen_objects", None)] > 10_000, service
        # The timer is installed and sees collections (a young one every 10,000 allocations: soon, even idle).
        eventually(lambda service=service: samples(http, stack.url(service), service)[("themenforum_gc_pause_seconds_count", "0")] > 0,
                   timeout=60, interval=1)
