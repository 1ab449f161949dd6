# SPDX-License-Identifier: GPL-2.0-only
#
# This file is a separate program under SecantusDB's licence (GPL-2.0-only), not part of
# Themenforum's Apache-2.0 code: it imports SecantusDB and replaces a few of its methods before
# starting the server. Themenforum's code never imports it; the embedded stack runs it as a
# program (shared/embedded.py), the same way it runs the stock `secantusd-py`.
"""SecantusDB's dev server with three fixes: cursors released between a transaction's statements,
updates that rewrite only the indexes whose fields changed (see `_index_only_what_changed`), and a
collection's index definitions and options read once per command (see `_read_catalogs_once_per_command`).

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

All three belong upstream; remove this file once the pinned SecantusDB has them.
Set SECANTUS_UNPATCHED=1 to run the stock server for comparison.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from typing import Any

import bson


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


def _index_only_what_changed(storage_module: object) -> bool:
    """On an update, rewrite the entries of only those indexes whose keys changed.

    The stock update path removes every index entry of the old document and writes every entry of the
    new one, unique-key claims included, even when the update touched no indexed field. Measured on a
    registration-like collection with six secondary indexes: 0.68 ms per update of an unindexed field,
    against 0.18 ms with the `_id` index alone. The two update paths call `_delete_index_entries(old)`
    and then `_write_index_entries(new)` for the same record; inside them the delete is held back and
    the write compares, index by index, the top-level fields the index reads. Indexes whose fields are
    the same in both documents (and whose partial filter says the same about both) are left alone; for
    the others, the original delete and write run as before. Geo and other special indexes are always
    rewritten.
    """
    storage_cls = getattr(storage_module, "Storage", None)
    names = ("_update_chunk", "_update_matching_single_txn", "_delete_index_entries", "_write_index_entries",
             "_partial_filters")
    helpers = ("_geo_type_of", "matches")
    if storage_cls is None or not all(hasattr(storage_cls, n) for n in names) \
            or not all(hasattr(storage_module, h) for h in helpers):
        return False
    if getattr(storage_cls._write_index_entries, "__themenforum_patched__", False):
        return False
    geo_type_of = storage_module._geo_type_of  # type: ignore[attr-defined]
    matches = storage_module.matches  # type: ignore[attr-defined]
    original_delete, original_write = storage_cls._delete_index_entries, storage_cls._write_index_entries
    local = threading.local()

    def in_update(method: Any) -> Any:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            outer = getattr(local, "held", _OUTSIDE)
            local.held = None
            try:
                result = method(self, *args, **kwargs)
                release_held(self)
                return result
            finally:
                # On an exception between the held delete and its write (a write conflict), the
                # statement's writes are rolled back; the delete is dropped rather than run in a
                # transaction that is being abandoned.
                local.held = outer
        return wrapper

    def release_held(self: Any) -> None:
        """A held-back delete that no write followed runs as it was called."""
        held = getattr(local, "held", _OUTSIDE)
        if held not in (None, _OUTSIDE):
            local.held = None
            original_delete(self, held[0], held[1], held[2], held[3], held[4], recordid=held[5])

    def delete_index_entries(self: Any, db: str, coll: str, doc: dict[str, Any], indexes: list[Any],
                             partials: dict[str, Any] | None = None, *, recordid: int) -> None:
        if getattr(local, "held", _OUTSIDE) is _OUTSIDE or not indexes:
            return original_delete(self, db, coll, doc, indexes, partials, recordid=recordid)
        release_held(self)
        local.held = (db, coll, doc, indexes, partials, recordid)
        return None

    def write_index_entries(self: Any, db: str, coll: str, doc: dict[str, Any], indexes: list[Any],
                            partials: dict[str, Any] | None = None, *, recordid: int) -> None:
        held = getattr(local, "held", _OUTSIDE)
        if held in (None, _OUTSIDE) or held[:2] != (db, coll) or held[5] != recordid:
            release_held(self)
            return original_write(self, db, coll, doc, indexes, partials, recordid=recordid)
        local.held = None
        old, old_partials = held[2], held[4]
        if partials is None:
            partials = self._partial_filters(db, coll)
        if old_partials is None:
            old_partials = partials
        changed = []
        for index in indexes:
            name, key_spec = index[0], index[1]
            old_filter, new_filter = old_partials.get(name), partials.get(name)
            if geo_type_of(key_spec) is not None or not _same_indexed_values(old, doc, key_spec):
                changed.append(index)
            elif (old_filter is None or matches(old, old_filter)) != (new_filter is None or matches(doc, new_filter)):
                changed.append(index)  # the same keys, but the partial filter now says otherwise
        if changed:
            original_delete(self, db, coll, old, changed, held[4], recordid=recordid)
            original_write(self, db, coll, doc, changed, partials, recordid=recordid)
        return None

    write_index_entries.__themenforum_patched__ = True  # type: ignore[attr-defined]
    storage_cls._delete_index_entries = delete_index_entries
    storage_cls._write_index_entries = write_index_entries
    storage_cls._update_chunk = in_update(storage_cls._update_chunk)
    storage_cls._update_matching_single_txn = in_update(storage_cls._update_matching_single_txn)
    return True


def _read_catalogs_once_per_command(storage_module: object, server_module: object) -> bool:
    """Read a collection's index definitions and options once per command, not once per document and helper.

    The write paths ask the index catalog (a WiredTiger table) for a collection's indexes in several
    helpers (`_all_indexes`, `_partial_filters`, `_index_options_map`, ...), and some of them once per
    document: 35 catalog scans per document on a collection with six indexes, each unpacking every
    index's key and BSON blob. Measured with cProfile on 3,000 inserts and 3,000 updates of
    registration-like documents: 39 % of the server's CPU. The collection's options (capped? time
    series?) are read the same way, per document and per command: 4-6 % of the server's CPU in the
    flow benchmark (py-spy, samples of the thread holding the GIL).

    Within one command (`server.dispatch`), the first read of a collection's catalog rows or options
    is kept as raw bytes, and every later read decodes those bytes again (callers get fresh dicts, as
    before). What is kept is dropped at the end of the command, and as soon as the command writes to
    either catalog table (creating, dropping or changing an index or a collection, marking an index
    multikey). Outside a command (start-up, background jobs) nothing is kept.
    """
    storage_cls = getattr(storage_module, "Storage", None)
    tables = (getattr(storage_module, "_IDX_TABLE", None), getattr(storage_module, "_COLL_TABLE", None))
    names = ("_iter_indexes", "_coll_options", "_cursor", "_cursor_optional")
    if storage_cls is None or None in tables or not all(hasattr(storage_cls, n) for n in names) \
            or not callable(getattr(server_module, "dispatch", None)):
        return False
    if getattr(storage_cls._iter_indexes, "__themenforum_patched__", False):
        return False
    wt = storage_module.wt  # type: ignore[attr-defined]
    idx_table, coll_table = tables
    original_cursor, original_optional = storage_cls._cursor, storage_cls._cursor_optional
    original_dispatch = server_module.dispatch  # type: ignore[attr-defined]
    local = threading.local()

    def forget() -> None:
        if getattr(local, "memo", None) is not None:
            local.memo = {}

    class Writes:
        """A catalog table's cursor that drops what the command kept before it changes the table."""

        __slots__ = ("_cursor",)

        def __init__(self, cursor: Any) -> None:
            object.__setattr__(self, "_cursor", cursor)

        def __getattr__(self, name: str) -> Any:
            attribute = getattr(self._cursor, name)
            if name in ("insert", "update", "remove", "modify", "reserve"):
                forget()
            return attribute

        def __setitem__(self, key: Any, value: Any) -> None:
            forget()
            self._cursor[key] = value

        def __delitem__(self, key: Any) -> None:
            forget()
            del self._cursor[key]

        def __getitem__(self, key: Any) -> Any:
            return self._cursor[key]

        def __iter__(self) -> Any:
            return iter(self._cursor)

    def cursor(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        c = original_cursor(self, name, *args, **kwargs)
        return Writes(c) if name in tables else c

    def cursor_optional(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        c = original_optional(self, name, *args, **kwargs)
        return Writes(c) if c is not None and name in tables else c

    def kept(key: tuple[str, ...], read: Any) -> Any:
        memo = getattr(local, "memo", None)
        if memo is None:
            return read()
        if key not in memo:
            memo[key] = read()
        return memo[key]

    def index_rows(self: Any, db: str, coll: str) -> list[tuple[str, bytes]]:
        """The catalog rows of one collection, read as the stock `_iter_indexes` reads them."""
        c = original_cursor(self, idx_table)
        c.set_key(db, coll, "")
        rc = c.search_near()
        rows: list[tuple[str, bytes]] = []
        if rc == wt.WT_NOTFOUND or (rc < 0 and c.next() != 0):
            return rows
        while True:
            k = c.get_key()
            if k[0] != db or k[1] != coll:
                return rows
            rows.append((k[2], bytes(c.get_value())))
            if c.next() != 0:
                return rows

    def options_blob(self: Any, db: str, coll: str) -> bytes | None:
        """The collection's options row, read as the stock `_coll_options` reads it (None: no collection)."""
        c = original_cursor(self, coll_table)
        c.set_key(db, coll)
        return bytes(c.get_value()) if c.search() == 0 else None

    def iter_indexes(self: Any, db: str, coll: str) -> Any:
        for name, raw in kept(("indexes", db, coll), lambda: index_rows(self, db, coll)):
            payload = bson.decode(raw)
            yield name, payload.get("key", {}), payload.get("options", {})

    def coll_options(self: Any, db: str, coll: str) -> dict[str, Any] | None:
        blob = kept(("options", db, coll), lambda: options_blob(self, db, coll))
        if blob is None:
            return None
        return bson.decode(blob) if blob else {}

    def dispatch(*args: Any, **kwargs: Any) -> Any:
        outer = getattr(local, "memo", None)
        local.memo = {}
        try:
            return original_dispatch(*args, **kwargs)
        finally:
            local.memo = outer

    iter_indexes.__themenforum_patched__ = True  # type: ignore[attr-defined]
    storage_cls._iter_indexes = iter_indexes
    storage_cls._coll_options = coll_options
    storage_cls._cursor = cursor
    storage_cls._cursor_optional = cursor_optional
    server_module.dispatch = dispatch  # type: ignore[attr-defined]
    return True


_OUTSIDE = object()
_MISSING = object()


def _same_indexed_values(old: dict[str, Any], new: dict[str, Any], key_spec: dict[str, Any]) -> bool:
    """True when every top-level field an index reads is byte-for-byte the same in both documents.

    Compared as BSON, not with Python's `==`: 1 and True are equal in Python but not in an index. 1
    and 1.0 also count as different, although their index keys are equal; that only costs a rewrite.
    A special index (text, hashed, 2d, wildcard) is never judged the same: it is always rewritten.
    """
    for field, kind in key_spec.items():
        if isinstance(kind, str) or field.startswith("$") or "$**" in field:
            return False
        top = field.split(".", 1)[0]
        before, after = old.get(top, _MISSING), new.get(top, _MISSING)
        if before is after:
            continue
        if before is _MISSING or after is _MISSING or bson.encode({"v": before}) != bson.encode({"v": after}):
            return False
    return True


def main() -> int:
    if os.environ.get("SECANTUS_UNPATCHED") != "1":
        import secantus.server
        import secantus.storage

        applied = {"cursor reset": _reset_cursors_after_statements(secantus.storage),
                   "index diff on update": _index_only_what_changed(secantus.storage),
                   "catalogs per command": _read_catalogs_once_per_command(secantus.storage, secantus.server)}
        if missing := [name for name, ok in applied.items() if not ok]:
            print(f"secantusd_patched: not applied (this SecantusDB differs): {', '.join(missing)}", file=sys.stderr)
    from secantus.cli import main as secantus_main

    sys.argv[0] = "secantusd-py"
    return int(secantus_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
