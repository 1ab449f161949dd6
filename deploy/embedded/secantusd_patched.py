# SPDX-License-Identifier: GPL-2.0-only
#
# This file is a separate program under SecantusDB's licence (GPL-2.0-only), not part of
# Themenforum's Apache-2.0 code: it imports SecantusDB and changes one of its functions before
# starting the server. Themenforum's code never imports it; the embedded stack runs it as a
# program (shared/embedded.py), the same way it runs the stock `secantusd-py`.
"""SecantusDB's dev server with a fix for transactions under concurrency.

A transaction's cursors kept their positions between statements. SecantusDB releases cursor
positions after every statement outside a transaction (`release_thread_snapshot`), but not inside
one. A positioned WiredTiger cursor holds a hazard pointer on its page. Once that page's versions
outgrow its memory limit (a hot document updated often while the transaction is open), every other
write to the page waits for a forced eviction that the hazard pointer blocks: WiredTiger retries it
in a sleeping loop, 13 ms per write, until the transaction sends its next statement. Under load the
transaction's next statement waits in turn for the transaction registry, which waits for the
blocked statement. Measured with WiredTiger statistics on the flow benchmark: every process idle
for 5-20 s, with about 25,000 "page acquire eviction blocked" and "hazard pointer blocked page
eviction" per stall. The fix resets the transaction's cursors after each statement. WiredTiger
keeps the transaction's snapshot and its writes across a cursor reset; only the positions go.

A second change was tried and left out: letting the registry's prune skip busy transactions
instead of waiting for them. Transactions then ran side by side, and the store needed about 2 ms
more CPU per registration in the flow benchmark (10.8 against 8.9 ms).

This belongs upstream; remove this file once the pinned SecantusDB has it.
Set SECANTUS_UNPATCHED=1 to run the stock server for comparison.
"""

from __future__ import annotations

import contextlib
import os
import sys


def _reset_cursors_after_statements(storage_module: object) -> bool:
    storage_cls = getattr(storage_module, "Storage", None)
    original = getattr(storage_cls, "use_user_transaction", None)
    if original is None or getattr(original, "__themenforum_patched__", False):
        return False

    @contextlib.contextmanager
    def use_user_transaction(self: object, handle: object) -> object:
        try:
            with original(self, handle):
                yield
        finally:
            for cursor in list(getattr(handle, "cursors", {}).values()):
                with contextlib.suppress(Exception):
                    cursor.reset()

    use_user_transaction.__themenforum_patched__ = True  # type: ignore[attr-defined]
    storage_cls.use_user_transaction = use_user_transaction  # type: ignore[union-attr]
    return True


def main() -> int:
    if os.environ.get("SECANTUS_UNPATCHED") != "1":
        import secantus.storage

        if not _reset_cursors_after_statements(secantus.storage):
            print("secantusd_patched: not applied (this SecantusDB differs)", file=sys.stderr)
    from secantus.cli import main as secantus_main

    sys.argv[0] = "secantusd-py"
    return int(secantus_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
