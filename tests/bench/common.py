"""What a benchmark scenario reports, and small helpers to measure it."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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


def processes(stack: Any) -> dict[str, int]:
    """Current pid of every process of the stack (a restarted service has a new one)."""
    pids = {name: child.proc.pid for name, child in stack.services.items() if child.proc}
    pids.update({"kafka (Tansu)": stack.kafka.proc.pid, "mongodb (SecantusDB)": stack.mongodb.proc.pid})
    return pids


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time a process has used so far (from /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuWindow:
    """CPU time each process of the stack (and the bench itself) spends between creation and `rows()`.

    Turned into rows of registrations per CPU-second, with the milliseconds of CPU per registration
    in the note: unlike throughput, this does not move with the machine's other load or with a
    stall of the store, so it shows what a change saves in each process.
    """

    BENCH = "bench client"

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.before = self._now()

    def _now(self) -> dict[str, float]:
        pids = {**processes(self.stack), self.BENCH: os.getpid()}
        return {name: s for name, pid in pids.items() if (s := cpu_seconds(pid)) is not None}

    def rows(self, prefix: str, n: int, *, floor_prefix: str | None = None) -> list[Result]:
        after = self._now()
        rows = []
        for name, seconds in after.items():
            used = seconds - self.before.get(name, seconds)
            if used <= 0:
                continue
            rows.append(Result(f"{prefix}: {name}", n, used, [], "registrations per CPU-second",
                               note=f"{1000 * used / n:.2f} ms CPU per registration",
                               floor=f"{floor_prefix}: {name}" if floor_prefix else None))
        return rows


async def post_json(client: Any, url: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST `body` as JSON with an aiohttp session; the status and the decoded answer (its text when not JSON)."""
    async with client.post(url, json=body) as answer:
        text = await answer.text()
        try:
            return answer.status, json.loads(text)
        except ValueError:
            return answer.status, text
