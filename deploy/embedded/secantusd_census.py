# SPDX-License-Identifier: GPL-2.0-only
#
# A separate program under SecantusDB's licence, like secantusd_patched.py next to it: it imports
# SecantusDB. Themenforum's code never imports it; `python -m tests.bench.census` runs it as the store.
"""The patched SecantusDB server (secantusd_patched.py) with a census of the commands it runs.

Every command is counted by (database, collection, command and the fields its filter names): calls,
documents written, and the CPU time of the thread that ran it. The census is written as JSON to the file named by
SECANTUS_CENSUS_OUT every two seconds and when the server stops.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

WRITTEN = {"insert": "documents", "update": "updates", "delete": "deletes"}


def shape(name: str, body: Any) -> str:
    """The command and the top-level fields of its filter (the first statement's, for a bulk), e.g. `find{_id}`."""
    if name in ("find", "count", "findAndModify", "findandmodify"):
        where = body.get("filter", body.get("query"))
    elif name in ("update", "delete"):
        statements = body.get(WRITTEN[name]) or [{}]
        where = statements[0].get("q")
    elif name == "aggregate":
        first = (body.get("pipeline") or [{}])[0]
        where = first.get("$match") if isinstance(first, dict) else None
    else:
        return name
    return f"{name}{{{','.join(sorted(where))}}}" if isinstance(where, dict) else name


def _load_patched() -> Any:
    path = Path(__file__).with_name("secantusd_patched.py")
    spec = importlib.util.spec_from_file_location("secantusd_patched", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    patched = _load_patched()
    import secantus.cli
    import secantus.server

    out = Path(os.environ.get("SECANTUS_CENSUS_OUT", "secantus-census.json"))
    counts: dict[str, list[float]] = {}
    lock = threading.Lock()

    def write() -> None:
        with lock:
            text = json.dumps(counts)
        out.with_suffix(".tmp").write_text(text)
        out.with_suffix(".tmp").replace(out)

    def every_two_seconds() -> None:
        while True:
            time.sleep(2)
            write()

    stock_cli = secantus.cli.main

    def counted_cli() -> Any:
        # Wrapped here, after secantusd_patched has put its own dispatch in place.
        inner = secantus.server.dispatch

        def dispatch(body: Any, ctx: Any, *args: Any, **kwargs: Any) -> Any:
            name = next(iter(body), "?")
            target = body.get("collection") if name == "getMore" else body.get(name)
            key = f"{body.get('$db', '')}|{target if isinstance(target, str) else ''}|{shape(name, body)}"
            docs = len(body.get(WRITTEN[name]) or []) if name in WRITTEN else 0
            started = time.thread_time()
            try:
                return inner(body, ctx, *args, **kwargs)
            finally:
                spent = time.thread_time() - started
                with lock:
                    row = counts.setdefault(key, [0, 0, 0.0])
                    row[0] += 1
                    row[1] += docs
                    row[2] += spent

        secantus.server.dispatch = dispatch
        threading.Thread(target=every_two_seconds, daemon=True).start()
        atexit.register(write)
        return stock_cli()

    secantus.cli.main = counted_cli
    return int(patched.main() or 0)


if __name__ == "__main__":
    sys.exit(main())
