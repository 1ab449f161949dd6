# SPDX-License-Identifier: GPL-2.0-only
#
# This file is a separate program under SecantusDB's licence (GPL-2.0-only), not part of
# Themenforum's Apache-2.0 code: it imports SecantusDB and changes two of its functions before
# starting the server. Themenforum's code never imports it; the embedded stack runs it as a
# program (shared/embedded.py), the same way it runs the stock `secantusd-py`.
"""SecantusDB's dev server with two fixes for multi-document transactions under concurrency.

1. A transaction's cursors keep their positions between statements. SecantusDB releases cursor
   positions after every statement outside a transaction (`release_thread_snapshot`), but not inside
   one. A positioned WiredTiger cursor holds a hazard pointer on its page. When another statement
   needs that page split or evicted (an append-heavy page grown past its limit), WiredTiger retries
   the forced eviction in a loop while the hazard pointer stays. The transaction that holds it
   cannot send its next statement, because of (2). Measured with WiredTiger statistics on the
   flow benchmark: every process idle for 5-20 s, "page acquire eviction blocked" and "hazard
   pointer blocked page eviction" about 25,000 each per stall. Fix: reset the transaction's
   cursors after each statement. WiredTiger keeps the transaction's snapshot and its writes across
   a cursor reset; only the positions go.

2. The transaction registry's prune holds the registry lock while it waits for every
   transaction's mutex, including one that is running a statement. So each transaction statement
   or commit waits for every other statement in flight, and one slow statement stops all of them.
   Fix: the prune skips transactions whose mutex is taken. A transaction running a statement is
   not idle, so it is not due to be reaped; the next prune sees it again.

Both belong upstream; remove this file once the pinned SecantusDB has them.
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


def _prune_without_waiting(transactions_module: object) -> bool:
    registry_cls = getattr(transactions_module, "TransactionRegistry", None)
    state = getattr(transactions_module, "TxnState", None)
    if registry_cls is None or state is None or not hasattr(registry_cls, "_prune_locked"):
        return False

    def _prune_locked(self: object) -> int:
        cutoff = self._time() - self._lifetime  # type: ignore[attr-defined]
        reaped = 0
        for txn in list(self._txns.values()):  # type: ignore[attr-defined]
            if not txn.mutex.acquire(blocking=False):
                continue  # running a statement or a commit: not idle
            try:
                if txn.state is state.IN_PROGRESS and txn.last_use < cutoff:
                    self._rollback_quietly(txn)  # type: ignore[attr-defined]
                    txn.state = state.ABORTED
                    reaped += 1
            finally:
                txn.mutex.release()
        return reaped

    registry_cls._prune_locked = _prune_locked
    return True


def main() -> int:
    if os.environ.get("SECANTUS_UNPATCHED") != "1":
        import secantus.storage
        import secantus.transactions

        applied = {"cursor reset": _reset_cursors_after_statements(secantus.storage),
                   "non-blocking prune": _prune_without_waiting(secantus.transactions)}
        missing = [name for name, ok in applied.items() if not ok]
        if missing:
            print(f"secantusd_patched: not applied (this SecantusDB differs): {', '.join(missing)}", file=sys.stderr)
    from secantus.cli import main as secantus_main

    sys.argv[0] = "secantusd-py"
    return int(secantus_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
