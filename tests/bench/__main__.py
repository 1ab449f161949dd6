"""`make bench`: the floor and every scenario in one run on the embedded stack, as ratios.

Environment: BENCH_N (floor size, default 20000), BENCH_SLICE_N (registrations, default 300), BENCH_FLOW_N
(registrations of the flow scenario and its floor, default 20000),
BENCH_ONLY (comma-separated scenario module names to run, e.g. "scenario_agenda").
"""

from __future__ import annotations

import asyncio
import importlib
import os
import pkgutil
import platform
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from shared.testing import Stack

from . import floor, slice as slice_bench
from .common import Result, processes


def _fmt(value: float | None) -> str:
    return "–" if value is None else (f"{value:,.1f}" if value < 1000 else f"{value:,.0f}")


def table(results: list[Result], floors: dict[str, Result]) -> str:
    lines = [
        "| scenario | n | throughput /s | p50 ms | p99 ms | ratio to floor | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        base = floors.get(r.floor or "")
        ratio = f"{r.throughput / base.throughput:.3f} of {r.floor}" if base and base.throughput else "–"
        lines.append(f"| {r.scenario} | {r.n:,} | {_fmt(r.throughput)} {r.unit} | {_fmt(r.p50)} | {_fmt(r.p99)} | {ratio} | {r.note} |")
    return "\n".join(lines)


async def run(stack: Stack) -> list[Result]:
    n = int(os.environ.get("BENCH_N", 20000))
    only = [s for s in os.environ.get("BENCH_ONLY", "").split(",") if s]
    results = await floor.idle_cpu(stack) if not only or "idle" in only or "scenario_flow" in only else []
    results += [await floor.kafka_produce_consume(stack, n), await floor.mongo_insert_many(stack, n)]
    if not only or "slice" in only:
        results += await slice_bench.registrations_to_acknowledgement(stack, int(os.environ.get("BENCH_SLICE_N", 300)))
    package = Path(__file__).parent
    # The flow last, right after its floor: it leaves about 40,000 mails queued at the configured mail
    # rate, which starved every scenario after it (the notify scenario delivered 0 of 200 in its budget).
    for info in sorted(pkgutil.iter_modules([str(package)]), key=lambda m: (m.name == "scenario_flow", m.name)):
        if not info.name.startswith("scenario_") or (only and info.name not in only):
            continue
        if info.name == "scenario_flow":
            results += await floor.flow_floor(stack, int(os.environ.get("BENCH_FLOW_N", 20000)))
        module = importlib.import_module(f"tests.bench.{info.name}")
        try:
            results += await module.run(stack)
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
            results.append(Result(f"{info.name}: FAILED ({type(exc).__name__}: {exc})"[:160], 0, 0))
    return results


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RssSampler(threading.Thread):
    """Samples every process's resident memory once a second for the report."""

    def __init__(self, pids: Callable[[], dict[str, int]]) -> None:
        super().__init__(daemon=True)
        self.pids, self.samples = pids, {name: [] for name in pids()}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            for name, pid in self.pids().items():
                if (mb := _rss_mb(pid)) is not None:
                    self.samples.setdefault(name, []).append(mb)

    def table(self) -> str:
        lines = ["| process | RSS first MB | RSS peak MB | RSS last MB |", "|---|---:|---:|---:|"]
        for name, values in self.samples.items():
            if values:
                lines.append(f"| {name} | {values[0]:,.0f} | {max(values):,.0f} | {values[-1]:,.0f} |")
        return "\n".join(lines)


def main() -> None:
    stack = Stack().start()
    sampler = RssSampler(lambda: processes(stack))
    sampler.start()
    try:
        started = time.time()
        results = asyncio.run(run(stack))
    finally:
        sampler.stopped.set()
        stack.stop()
    kafka = next(r for r in results if r.scenario.startswith("floor: aiokafka"))
    mongo = next(r for r in results if r.scenario.startswith("floor: pymongo"))
    floors = {"kafka": kafka, "mongo": mongo, "kafka_produce_consume": kafka, "mongo_insert_many": mongo}
    floors.update({"flow_floor": r for r in results if r.scenario.startswith("flow_floor")})
    floors.update({r.scenario: r for r in results if r.scenario.startswith("cpu floor:")})
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    report = "\n".join([
        f"Benchmark run {time.strftime('%Y-%m-%d %H:%M', time.gmtime(started))} UTC on {machine}",
        "(embedded stack: Tansu + SecantusDB; ratios compare with the floor rows measured in this same run)",
        "",
        table(results, floors),
        "",
        "Memory of every process over the whole run (sampled each second):",
        "",
        sampler.table(),
    ])
    print(report)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(report + "\n")
    sys.exit(0)


if __name__ == "__main__":
    main()
