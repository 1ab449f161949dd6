"""Which store commands a registration costs: the flow bench with a census of the store's commands.

    python -m tests.bench.census        (BENCH_FLOW_N registrations, default 5000)

Runs the flow scenario (and the floors it needs) with the store started through
deploy/embedded/secantusd_census.py, then prints, per database, collection and command: calls,
documents written and the store's CPU, each per registration, and the CPU per call. A
registration here is one document inserted into the registration service's `registrations`
(the flow's runs and its paced run together). A command is shown with the fields its filter
names, e.g. `find{_id}` or `update{_id,status}` (a bulk by its first statement). The floor's own database is left out. Counting
costs the store a little CPU of its own, so compare censuses with each other, not with `make bench`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from shared import embedded

CENSUS_STORE = Path(__file__).resolve().parents[2] / "deploy" / "embedded" / "secantusd_census.py"


def table(counts: dict[str, list[float]], top: int = 40) -> str:
    rows = [(db, coll, cmd, *map(float, values)) for key, values in counts.items()
            for db, coll, cmd in [key.split("|")] if db.startswith("themenforum_") or db == "admin"]
    registrations = sum(docs for db, coll, cmd, _, docs, _ in rows
                        if db.endswith("_registration") and coll == "registrations" and cmd == "insert")
    if not registrations:
        return "no registrations counted"
    total = sum(cpu for *_, cpu in rows)
    by_db: dict[str, float] = {}
    for db, *_, cpu in rows:
        by_db[db] = by_db.get(db, 0.0) + cpu
    lines = [f"{registrations:,.0f} registrations; store CPU {1000 * total / registrations:.2f} ms per registration: "
             + ", ".join(f"{db.removeprefix('themenforum_')} {1000 * cpu / registrations:.2f}"
                         for db, cpu in sorted(by_db.items(), key=lambda item: -item[1])),
             "",
             "| database | collection | command | calls / reg | docs / reg | store CPU ms / reg | µs / call |",
             "|---|---|---|---:|---:|---:|---:|"]
    for db, coll, cmd, calls, docs, cpu in sorted(rows, key=lambda r: -r[5])[:top]:
        lines.append(f"| {db.removeprefix('themenforum_')} | {coll} | {cmd} | {calls / registrations:.3f} | "
                     f"{docs / registrations:.3f} | {1000 * cpu / registrations:.3f} | {1e6 * cpu / calls:,.0f} |")
    return "\n".join(lines)


def main() -> None:
    os.environ.setdefault("BENCH_FLOW_N", "5000")
    os.environ.setdefault("BENCH_N", "2000")
    os.environ["BENCH_ONLY"] = "scenario_flow"
    with tempfile.TemporaryDirectory(prefix="census-") as tmp:
        out = Path(tmp) / "census.json"
        os.environ["SECANTUS_CENSUS_OUT"] = str(out)
        embedded.PATCHED_SECANTUS = CENSUS_STORE  # the stack starts the store through the census wrapper
        from .__main__ import main as bench

        try:
            bench()
        except SystemExit:
            pass
        print()
        print(table(json.loads(out.read_text())) if out.exists() else "no census written")
    sys.exit(0)


if __name__ == "__main__":
    main()
