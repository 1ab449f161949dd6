"""`make bench`: the floor and every scenario in one run on the embedded stack, as ratios.

Environment: BENCH_N (floor size, default 20000), BENCH_SLICE_N (registrations, default 300),
BENCH_ONLY (comma-separated scenario module names to run, e.g. "scenario_agenda").
"""

from __future__ import annotations

import asyncio
import importlib
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

from shared.testing import Stack

from . import floor, slice as slice_bench
from .common import Result


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
    results = [await floor.kafka_produce_consume(stack, n), await floor.mongo_insert_many(stack, n)]
    if not only or "slice" in only:
        results += await slice_bench.registrations_to_acknowledgement(stack, int(os.environ.get("BENCH_SLICE_N", 300)))
    package = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(package)]), key=lambda m: m.name):
        if not info.name.startswith("scenario_") or (only and info.name not in only):
            continue
        module = importlib.import_module(f"tests.bench.{info.name}")
        try:
            results += await module.run(stack)
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
            results.append(Result(f"{info.name}: FAILED ({type(exc).__name__}: {exc})"[:160], 0, 0))
    return results


def main() -> None:
    stack = Stack().start()
    try:
        started = time.time()
        results = asyncio.run(run(stack))
    finally:
        stack.stop()
    floors = {"kafka": results[0], "mongo": results[1]}
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    report = "\n".join([
        f"Benchmark run {time.strftime('%Y-%m-%d %H:%M', time.gmtime(started))} UTC on {machine}",
        "(embedded stack: Tansu + SecantusDB; ratios compare with the floor rows measured in this same run)",
        "",
        table(results, floors),
    ])
    print(report)
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(report + "\n")
    sys.exit(0)


if __name__ == "__main__":
    main()
