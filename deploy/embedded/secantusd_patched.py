# SPDX-License-Identifier: GPL-2.0-only
#
# This file is a separate program under SecantusDB's licence (GPL-2.0-only), not part of
# Themenforum's Apache-2.0 code: it imports SecantusDB and replaces a few of its methods before
# starting the server. Themenforum's code never imports it; the embedded stack runs it as a
# program (shared/embedded.py), the same way it runs the stock `secantusd-py`.
"""SecantusDB's dev server with seven fixes, each a function below that says what it changes and why:

1. a transaction's cursors released between its statements (`_reset_cursors_after_statements`, below);
2. updates that rewrite only the indexes whose fields changed (`_index_only_what_changed`);
3. a collection's index definitions and options read once per command (`_read_catalogs_once_per_command`);
4. WiredTiger's Python key and value packing planned once per format (`_plan_packing_once_per_format`);
5. index keys of plain strings, integers and nulls encoded directly (`_encode_strings_and_integers_directly`);
6. an update's path check kept per shape of update, and documents copied without `deepcopy`
   (`_lighter_update_bookkeeping`);
7. `$in` over plain strings matched by a set (`_match_string_in_by_set`).

The first fixes stalls; the others cut the store's CPU per document (a probe of inserts and
decision-like updates on a registration-like collection: 0.357 -> 0.153 ms per insert and 0.750 ->
0.307 ms per update from fixes 3 to 6). `python secantusd_patched.py --check-packing` compares 4
and 5 with the stock functions on random values.

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

All belong upstream (4 to WiredTiger's Python API; the report is UPSTREAM.md beside this file); remove this
file once the pinned SecantusDB has them.
Set SECANTUS_UNPATCHED=1 to run the stock server for comparison. `--transaction-lifetime-s N` sets what
mongod calls `transactionLifetimeLimitSeconds` (a setting, not a fix: it applies unpatched too).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import sys
import threading
from collections.abc import Mapping
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
    is kept: the index rows decoded (each later read gets copies of their top-level dicts), the options
    as raw bytes (decoded again on each read). What is kept is dropped at the end of the command, and as soon as the command writes to
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

    def decoded_index_rows(self: Any, db: str, coll: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        rows = []
        for name, raw in index_rows(self, db, coll):
            payload = bson.decode(raw)
            rows.append((name, payload.get("key", {}), payload.get("options", {})))
        return rows

    def iter_indexes(self: Any, db: str, coll: str) -> Any:
        # Each caller gets its own top-level dicts (the stock method decodes afresh on every call).
        for name, key, options in kept(("indexes", db, coll), lambda: decoded_index_rows(self, db, coll)):
            yield name, dict(key), dict(options)

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


def _plan_packing_once_per_format(swig_module: object, intpacking: object) -> bool:
    """Pack and unpack WiredTiger keys and values from a plan made once per format string.

    Every cursor `set_key`, `set_value`, `get_key` and `get_value` of WiredTiger's Python API goes
    through `packing.pack`/`unpack`, which parse the format string character by character through two
    generators on every call. cProfile of the store on 3,000 inserts and 3,000 updates of
    registration-like documents: 18 % of its CPU in `pack` alone (138,000 calls). The formats the store
    uses are few (`SSSu`, `SSq`, `q`, `u`, ...). Here each format is read once into a plan; a call then
    runs only the per-value steps, with the same integer encoding (`intpacking.pack_int`). Formats and
    values outside the plain cases (sizes, padding, bytes, bit fields, a string with a NUL, a value of
    another type, a count that does not match) go to the original functions, which also raise their
    errors as before. `--check-packing` compares both on random values.
    """
    original_pack = getattr(swig_module, "pack", None)
    original_unpack = getattr(swig_module, "unpack", None)
    pack_int = getattr(intpacking, "pack_int", None)
    if original_pack is None or original_unpack is None or pack_int is None:
        return False
    if getattr(original_pack, "__themenforum_patched__", False):
        return False
    constants = [getattr(intpacking, n, None) for n in ("NEG_1BYTE_MIN", "NEG_2BYTE_MIN", "POS_1BYTE_MAX", "POS_2BYTE_MAX")]
    if None in constants:
        return False
    neg_1byte_min, neg_2byte_min, pos_1byte_max, pos_2byte_max = constants
    plans: dict[str, tuple[str, ...]] = {}

    def plan(fmt: str) -> tuple[str, ...]:
        steps = plans.get(fmt)
        if steps is None:
            body = fmt[1:] if isinstance(fmt, str) and fmt[:1] == "." else fmt
            if isinstance(body, str) and body and all(ch in "SuUqQiIlLrhH" for ch in body):
                # "u" last: the rest of the buffer; "u" elsewhere and "U": a length, then the bytes.
                steps = tuple("rest" if ch == "u" and i == len(body) - 1 else "sized" if ch in "uU" else
                              "str" if ch == "S" else "int" for i, ch in enumerate(body))
            else:
                steps = ()
            plans[fmt] = steps
        return steps

    def pack(fmt: str, *values: Any) -> Any:
        steps = plan(fmt)
        if not steps or len(values) != len(steps):
            return original_pack(fmt, *values)
        out: list[bytes] = []
        for step, value in zip(steps, values):
            kind = type(value)
            if step == "str":
                if kind is not str or "\0" in value:
                    return original_pack(fmt, *values)
                out.append(value.encode())
                out.append(b"\0")
            elif step == "int":
                if kind is not int:
                    return original_pack(fmt, *values)
                out.append(pack_int(value))
            elif kind is not bytes:
                return original_pack(fmt, *values)
            elif step == "rest":
                out.append(value)
            else:
                out.append(pack_int(len(value)))
                out.append(value)
        return b"".join(out)

    def int_at(b: bytes, i: int) -> tuple[int, int]:
        """`intpacking.unpack_int` at an offset: the value and the offset after it."""
        marker = b[i]
        if marker < 0x20:
            size = 8 - (marker & 0x0F)
            if i + 1 + size > len(b):
                raise IndexError("truncated integer")
            return (-1 << (size << 3)) | int.from_bytes(b[i + 1:i + 1 + size], "big"), i + 1 + size
        if marker < 0x40:
            return neg_2byte_min + (((marker & 0x1F) << 8) | b[i + 1]), i + 2
        if marker < 0x80:
            return neg_1byte_min + (marker & 0x3F), i + 1
        if marker < 0xC0:
            return marker & 0x3F, i + 1
        if marker < 0xE0:
            return pos_1byte_max + 1 + (((marker & 0x1F) << 8) | b[i + 1]), i + 2
        size = marker & 0x0F
        if i + 1 + size > len(b):
            raise IndexError("truncated integer")
        return pos_2byte_max + 1 + int.from_bytes(b[i + 1:i + 1 + size], "big"), i + 1 + size

    def unpack(fmt: str, s: Any) -> Any:
        steps = plan(fmt)
        if not steps or type(s) is not bytes:
            return original_unpack(fmt, s)
        result: list[Any] = []
        i = 0
        try:
            for step in steps:
                if step == "str":
                    j = s.find(b"\0", i)
                    if j < 0:
                        return original_unpack(fmt, s)
                    result.append(s[i:j].decode())
                    i = j + 1
                elif step == "int":
                    value, i = int_at(s, i)
                    result.append(value)
                elif step == "rest":
                    result.append(s[i:])
                    i = len(s)
                else:
                    size, i = int_at(s, i)
                    result.append(s[i:i + size])
                    i += size
        except (IndexError, UnicodeDecodeError):
            return original_unpack(fmt, s)  # raises (or answers) as before
        return result

    pack.__themenforum_patched__ = True  # type: ignore[attr-defined]
    swig_module.pack, swig_module.unpack = pack, unpack  # type: ignore[attr-defined]
    return True


def _encode_strings_and_integers_directly(sortkey: object, storage_module: object) -> bool:
    """Encode index keys of plain strings, small integers and nulls without the general dispatch.

    `sortkey.encode_value` ranks a value through a chain of isinstance checks and encodes a number
    through `Decimal`. It ran 297,000 times for 3,000 inserts and 3,000 updates of registration-like
    documents (17 % of the store's CPU under cProfile), almost all for strings (ids, status, e-mail).
    Here a `str` without a collation is encoded in one expression with the same bytes (rank, UTF-8,
    NUL escaped), `None` is its rank byte, and an `int` (not a bool) is looked up in a bounded table
    of earlier results. Everything else, and every value under a collation, goes to the original.
    `--check-packing` also compares these encodings with the original's.
    """
    original = getattr(sortkey, "encode_value", None)
    rank_string, rank_null = getattr(sortkey, "RANK_STRING", None), getattr(sortkey, "RANK_NULL", None)
    if original is None or rank_string is None or rank_null is None or getattr(storage_module, "encode_value", None) is not original:
        return False
    if getattr(original, "__themenforum_patched__", False):
        return False
    string_head, null_key = bytes([rank_string]), bytes([rank_null])

    @functools.lru_cache(maxsize=8192)
    def integer(value: int) -> bytes:
        return original(value)

    def encode_value(value: Any, *, collation: Any = None) -> bytes:
        kind = type(value)
        if kind is str:
            if collation is None:
                return string_head + value.encode("utf-8").replace(b"\x00", b"\x00\xff")
        elif value is None:
            return null_key
        elif kind is int and -(2**63) <= value < 2**63:
            return integer(value)
        return original(value, collation=collation)

    encode_value.__themenforum_patched__ = True  # type: ignore[attr-defined]
    sortkey.encode_value = encode_value  # type: ignore[attr-defined]
    storage_module.encode_value = encode_value  # type: ignore[attr-defined]
    return True


def _lighter_update_bookkeeping(update_module: object) -> bool:
    """Check an update's paths once per shape of update, and copy the document to update without `deepcopy`.

    Two costs of every operator update that do not depend on the document (cProfile of 3,000
    decision-like updates): the conflict check of the update's paths (`_validate_update_paths`), which
    compares every path with every other, 40 us per update; and `copy.deepcopy` of the stored document
    before the operators apply, 70 us per update. The check's answer depends only on the operators,
    their field names and `$rename` targets, so answers are kept by that shape (a bounded table; an
    update the check refuses raises every time, as before). The copy is made by a walk that copies
    dicts and lists and keeps immutable scalars (what `deepcopy` does with them); any other value is
    handed to `deepcopy`.
    """
    original_validate = getattr(update_module, "_validate_update_paths", None)
    copy_module = getattr(update_module, "copy", None)
    if original_validate is None or copy_module is None or not hasattr(copy_module, "deepcopy"):
        return False
    if getattr(original_validate, "__themenforum_patched__", False):
        return False
    import copy as stdlib_copy
    import datetime
    import decimal
    import uuid

    from bson import Decimal128, Int64, MaxKey, MinKey, ObjectId, Timestamp

    answers: dict[tuple[Any, ...], Any] = {}

    def validate_update_paths(update: Any) -> Any:
        shape: list[tuple[Any, ...]] = []
        for op, payload in update.items():
            if type(payload) is dict:
                targets = tuple(t if isinstance(t, str) else None for t in payload.values()) if op == "$rename" else ()
                shape.append((op, tuple(payload), targets))
            elif isinstance(payload, Mapping):
                return original_validate(update)  # another kind of mapping: not kept
            else:
                shape.append((op, None, ()))  # not walked by the check
        try:
            known = answers.get(tuple(shape), _MISSING)
        except TypeError:  # something unhashable: no shape
            return original_validate(update)
        if known is _MISSING:
            known = original_validate(update)  # raises for a refused update, which is not kept
            if len(answers) < 4096:
                answers[tuple(shape)] = known
        return known

    immutable = frozenset({str, int, float, bool, type(None), bytes, Int64, ObjectId, Decimal128, Timestamp,
                           MinKey, MaxKey, datetime.datetime, datetime.date, decimal.Decimal, uuid.UUID})

    def copied(value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            return {k: v if type(v) in immutable else copied(v) for k, v in value.items()}
        if kind is list:
            return [v if type(v) in immutable else copied(v) for v in value]
        if kind in immutable:
            return value
        return stdlib_copy.deepcopy(value)

    class CopyModule:
        """`copy` as the update module sees it: `deepcopy` without the memo walk, the rest unchanged."""

        def __getattr__(self, name: str) -> Any:
            return getattr(stdlib_copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return copied(value) if memo is None else stdlib_copy.deepcopy(value, memo)

    validate_update_paths.__themenforum_patched__ = True  # type: ignore[attr-defined]
    update_module._validate_update_paths = validate_update_paths  # type: ignore[attr-defined]
    update_module.copy = CopyModule()  # type: ignore[attr-defined]
    return True


def _match_string_in_by_set(query_module: object) -> bool:
    """Match `{field: {$in: [strings]}}` against a string field by a set lookup.

    The stock matcher compares a document's value with each candidate in turn through the general
    equality (numbers, arrays, collations, dates, NaN), so a query `_id: {$in: [100 ids]}` does 100
    Python comparisons per document it reads: about 4 % of the store's CPU in the flow benchmark
    (py-spy). When every candidate and every value of the field is a plain `str` and no collation is
    in effect, that equality is Python's string equality, so a set of the candidates (made once per
    query: the same list object is matched against every document) answers the same. Anything else
    goes to the stock matcher.
    """
    original = getattr(query_module, "_op_matches", None)
    if original is None or getattr(original, "__themenforum_patched__", False):
        return False
    local = threading.local()

    def candidates(arg: list[Any]) -> frozenset[str] | None:
        last = getattr(local, "last", None)
        if last is not None and last[0] is arg:
            return last[1]
        strings = frozenset(arg) if all(type(a) is str for a in arg) else None
        local.last = (arg, strings)  # holds the list, so its identity cannot be reused meanwhile
        return strings

    def op_matches(values: list[Any], op: str, arg: Any, collation: Any = None, **kwargs: Any) -> bool:
        if op == "$in" and collation is None and type(arg) is list and values \
                and all(type(v) is str for v in values):
            strings = candidates(arg)
            if strings is not None:
                return not strings.isdisjoint(values)
        return original(values, op, arg, collation, **kwargs)

    op_matches.__themenforum_patched__ = True  # type: ignore[attr-defined]
    query_module._op_matches = op_matches  # type: ignore[attr-defined]
    return True


def _check_packing(rounds: int = 20000) -> int:
    """Compare the planned packing with WiredTiger's own on random keys of every format the store uses."""
    import random

    import importlib

    importlib.import_module("wiredtiger")  # puts swig_wiredtiger and packing on the path
    import packing  # type: ignore[import-not-found]
    import swig_wiredtiger  # type: ignore[import-not-found]
    from wiredtiger import intpacking

    if not _plan_packing_once_per_format(swig_wiredtiger, intpacking):
        print("check-packing: the planned packing could not be applied", file=sys.stderr)
        return 1
    fast_pack, fast_unpack = swig_wiredtiger.pack, swig_wiredtiger.unpack
    rng = random.Random(7)
    limits = (0, 63, 64, 8255, 8256, 8257, 2**32, 2**63 - 1)

    def value(ch: str) -> Any:
        if ch == "S":
            return rng.choice(["", "db", "registrations", "ä€😀", "a\0b", "x" * rng.randrange(300)])
        if ch in "uU":
            return rng.choice([b"", b"\0", bytes(rng.randrange(256) for _ in range(rng.randrange(300)))])
        if rng.random() < 0.3:
            return rng.choice(limits) * rng.choice((1, -1))
        return rng.randrange(-(2**63), 2**63)

    compared = 0
    for _ in range(rounds):
        fmt = rng.choice(["SSSu", "SSq", "SSS", "SSu", "SS", "S", "q", "u", "SuS", "QU", ".SSq", "qq", "iS"])
        values = [value(ch) for ch in fmt.lstrip(".")]
        expected = packing.pack(fmt, *values)
        got = fast_pack(fmt, *values)
        if got != expected or fast_unpack(fmt, expected) != packing.unpack(fmt, expected):
            print(f"check-packing: differs for {fmt!r} {values!r}", file=sys.stderr)
            return 1
        compared += 1
    import secantus.sortkey as sortkey
    import secantus.storage as storage

    original_encode = sortkey.encode_value
    if not _encode_strings_and_integers_directly(sortkey, storage):
        print("check-packing: the direct key encoding could not be applied", file=sys.stderr)
        return 1
    samples: list[Any] = ["", "a", "a\0b", "ä€😀", "\0", None, 0, 1, -1, 2**63 - 1, -(2**63), 2**63, 7.5, True, False,
                          [1, "a"], {"a": 1}, b"x"]
    samples += [rng.randrange(-(2**64), 2**64) for _ in range(2000)] + [value("S") for _ in range(2000)]
    for sample in samples * 2:  # twice: the second round reads the integers' table
        if sortkey.encode_value(sample) != original_encode(sample):
            print(f"check-packing: the key of {sample!r} differs", file=sys.stderr)
            return 1
        compared += 1
    print(f"check-packing: {compared} keys packed and unpacked, or encoded, alike")
    return 0


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


def _transaction_lifetime(server_module: Any, seconds: float) -> None:
    """mongod's `transactionLifetimeLimitSeconds`, which the dev server takes only as a constructor argument.

    A transaction idle for longer is aborted (`TransactionReaper` in shared/embedded.py makes sure it is
    checked every second). Only a client killed inside a transaction leaves one idle that long, and
    until it is aborted, plain writes to the documents it wrote wait for it.
    """
    init = server_module.SecantusDBServer.__init__

    @functools.wraps(init)
    def with_lifetime(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("transaction_lifetime_seconds", seconds)
        init(self, *args, **kwargs)

    server_module.SecantusDBServer.__init__ = with_lifetime


def _tune_gc() -> None:
    """What the services do (`tune_gc` in shared/runtime.py): imported modules out of the full scans, fewer young scans.

    The server keeps its documents in WiredTiger, not in Python objects; what the collector walks is the
    server's own code and each command's short-lived objects.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])


def _take_option(name: str) -> str | None:
    """Remove `name VALUE` from the command line (an option of this launcher, not of SecantusDB's CLI)."""
    if name not in sys.argv:
        return None
    at = sys.argv.index(name)
    value = sys.argv[at + 1]
    del sys.argv[at:at + 2]
    return value


def main() -> int:
    if sys.argv[1:] == ["--check-packing"]:
        return _check_packing()
    import secantus.server

    if (lifetime := _take_option("--transaction-lifetime-s")) is not None:
        _transaction_lifetime(secantus.server, float(lifetime))
    if os.environ.get("SECANTUS_UNPATCHED") != "1":
        import secantus.query
        import secantus.sortkey
        import secantus.storage
        import secantus.update
        import swig_wiredtiger  # type: ignore[import-not-found]  (on the path once secantus imported wiredtiger)
        from wiredtiger import intpacking

        applied = {"cursor reset": _reset_cursors_after_statements(secantus.storage),
                   "index diff on update": _index_only_what_changed(secantus.storage),
                   "catalogs per command": _read_catalogs_once_per_command(secantus.storage, secantus.server),
                   "packing plans": _plan_packing_once_per_format(swig_wiredtiger, intpacking),
                   "direct key encoding": _encode_strings_and_integers_directly(secantus.sortkey, secantus.storage),
                   "update bookkeeping": _lighter_update_bookkeeping(secantus.update),
                   "string $in by set": _match_string_in_by_set(secantus.query)}
        if missing := [name for name, ok in applied.items() if not ok]:
            print(f"secantusd_patched: not applied (this SecantusDB differs): {', '.join(missing)}", file=sys.stderr)
    from secantus.cli import main as secantus_main

    _tune_gc()
    sys.argv[0] = "secantusd-py"
    return int(secantus_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
