"""What a benchmark scenario reports, and small helpers to measure it."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Result:
    """One row of the benchmark table."""

    scenario: str
    n: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    unit: str = "ops"
    note: str = ""
    floor: str | None = None  # name of the floor row this one is compared with

    @property
    def throughput(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]

    @property
    def p50(self) -> float | None:
        return statistics.median(self.latencies_ms) if self.latencies_ms else None

    @property
    def p99(self) -> float | None:
        return self.percentile(99)
