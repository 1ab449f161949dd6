"""Before/after ladder: the same bench scenario at several commits, one after the other, in one run.

    python -m tests.bench.ladder REV [REV ...]       (or: make bench-ladder REVS="a b c")

Each commit is checked out into a temporary worktree and benched there with this checkout's
virtualenv (`python -m` puts the worktree first on the path, ahead of the editable install) and
this checkout's bench code (`tests/bench/`), so every commit is measured with the same instrument.
Environment: LADDER_ONLY (scenario modules, default scenario_flow), BENCH_FLOW_N (default 2000
here) and every other BENCH_ variable, passed through. Prints one table: the rows whose label
starts with "flow:", "store:", "notify:", "cpu" (milliseconds of CPU per registration) or "idle"
(share of a core with no load), one column per commit.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| ((?:flow|store|flow_floor|cpu|idle|batches|mails|notify|gc)[^|]*?) \| ([^|]*) \| ([^|]*) \| ([^|]*) \| ([^|]*) \|(?: [^|]* \| ([^|]*) \|)?")


def bench_at(rev: str) -> dict[str, str]:
    """Run the bench at one commit; the throughput (and p99 where there is one) per row label."""
    with tempfile.TemporaryDirectory(prefix="ladder-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev], check=True,
                       capture_output=True)
        try:
            # The same instrument for every commit: this checkout's bench code over the commit's services.
            for source in (ROOT / "tests" / "bench").glob("*.py"):
                shutil.copy2(source, tree / "tests" / "bench" / source.name)
            env = {**os.environ, "BENCH_ONLY": os.environ.get("LADDER_ONLY", "scenario_flow"),
                   "BENCH_FLOW_N": os.environ.get("BENCH_FLOW_N", "2000")}
            done = subprocess.run([sys.executable, "-m", "tests.bench"], cwd=tree, env=env, capture_output=True, text=True)
            print(f"--- {rev}: exit {done.returncode}", file=sys.stderr)
            rows = {}
            for line in done.stdout.splitlines():
                if (m := ROW.match(line)):
                    label, _n, rate, _p50, p99, note = ((x or "").strip() for x in m.groups())
                    if label.startswith(("cpu", "gc")):  # CPU and collector rows: milliseconds per registration, from the note
                        rows[label] = note.split(" ms")[0] + " ms"
                        continue
                    if label.startswith("idle"):  # the idle rows: share of a core, from the note
                        rows[label] = note.split(" of a core")[0] + " of a core"
                        continue
                    rows[label.split(" (")[0]] = rate + (f" (p99 {p99} ms)" if p99 not in ("–", "") else "")
            return rows
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)


def main(revs: list[str]) -> None:
    if not revs:
        sys.exit(__doc__)
    names = [subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s", r], capture_output=True, text=True,
                            check=True).stdout.strip()[:60] for r in revs]
    results = [bench_at(r) for r in revs]
    labels = list(dict.fromkeys(label for rows in results for label in rows))
    print("| row | " + " | ".join(f"`{n.split()[0]}`" for n in names) + " |")
    print("|---|" + "---:|" * len(revs))
    for label in labels:
        print(f"| {label} | " + " | ".join(rows.get(label, "–") for rows in results) + " |")
    print()
    for n in names:
        print(f"- `{n.split()[0]}`: {n.split(' ', 1)[1]}")


if __name__ == "__main__":
    main(sys.argv[1:])
