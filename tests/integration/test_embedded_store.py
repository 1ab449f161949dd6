"""The embedded store behaves like mongod where the services rely on it: a client killed inside a transaction
does not block the others' writes for much longer than the transaction lifetime (15 s here, mongod's default
is 60 s); an open transaction does not throttle other writes to the documents it has read; updates keep every
index right; index changes take effect at once.

The last three rest on fixes of SecantusDB that the embedded stack runs (deploy/embedded/secantusd_patched.py);
`SECANTUS_UNPATCHED=1 pytest tests/integration/test_embedded_store.py` shows the throttle test failing on the
stock server (the index tests pass on both: they guard the fixes' correctness, not their speed)."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest
from pymongo import IndexModel, MongoClient, UpdateMany, UpdateOne
from pymongo.errors import DuplicateKeyError, OperationFailure

from shared import embedded

ABANDON = textwrap.dedent("""
    import sys, time
    from pymongo import MongoClient
    client = MongoClient(sys.argv[1])
    deliveries = client["reaper_check"]["deliveries"]
    session = client.start_session()
    session.start_transaction()
    deliveries.update_one({"_id": "d1"}, {"$set": {"status": "sent"}}, session=session)
    print("in transaction", flush=True)
    time.sleep(600)
""")


def started_store() -> embedded.Child:
    base = Path(tempfile.mkdtemp(prefix="themenforum-store-"))
    store = embedded.secantus(embedded.free_port(), base / "mongodb", base / "mongodb.log")
    store.start()
    embedded.wait_for_port(store.port, timeout=60, proc=store.proc)
    return store


def test_a_transaction_abandoned_by_a_killed_client_stops_blocking_plain_writes():
    store = started_store()
    url = embedded.mongodb_url(store.port)
    reaper = embedded.TransactionReaper(url).start()
    client: MongoClient = MongoClient(url)
    try:
        deliveries = client["reaper_check"]["deliveries"]
        deliveries.insert_one({"_id": "d1", "status": "sending"})
        holder = subprocess.Popen([sys.executable, "-c", ABANDON, url], stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "in transaction"
        holder.kill()  # SIGKILL inside the transaction: no commit, no abort, no end of session
        holder.wait()

        # What notify's release of stale claims does: a plain write on the document the dead transaction wrote.
        done = threading.Event()
        started = time.monotonic()
        threading.Thread(target=lambda: (deliveries.update_one({"_id": "d1"}, {"$set": {"status": "pending"}}), done.set()),
                         daemon=True).start()
        assert not done.wait(5), "the write did not conflict: the test no longer reproduces the abandoned transaction"
        limit = embedded.TRANSACTION_LIFETIME_S + 30
        assert done.wait(limit), f"a transaction abandoned by a killed client blocked a plain write for more than {limit} s"
        waited = time.monotonic() - started
        assert deliveries.find_one({"_id": "d1"})["status"] == "pending"  # the dead transaction's write is gone
        print(f"plain write waited {waited:.0f} s for the abandoned transaction to be aborted")
    finally:
        client.close()
        reaper.stop()
        store.stop()


def test_an_open_transaction_that_read_a_document_does_not_throttle_writes_to_it():
    """The stock server kept the transaction's cursor on the page between statements. Once the page's versions
    outgrew its memory limit (about 2,000 updates of 2 KB here), every further write waited for a forced
    eviction that the cursor blocked: 13 ms each, 40 times slower, until the transaction ended. This was the
    5-20 s stall of every process in the flow benchmark."""
    store = started_store()
    url = embedded.mongodb_url(store.port)
    reader, writer = MongoClient(url), MongoClient(url)
    try:
        counters = writer["hazard_check"]["counters"]
        counters.insert_many([{"_id": f"c{i}", "n": 0} for i in range(50)])
        session = reader.start_session()
        session.start_transaction()
        assert reader["hazard_check"]["counters"].find_one({"_id": "c10"}, session=session)["n"] == 0

        per_500: list[float] = []
        for i in range(3000):
            if i % 500 == 0:
                started = time.perf_counter()
            counters.update_one({"_id": "c10"}, {"$inc": {"n": 1}, "$set": {"pad": chr(65 + i % 26) * 2000}})
            if i % 500 == 499:
                per_500.append(time.perf_counter() - started)
        # The transaction still sees its snapshot, and commits.
        assert reader["hazard_check"]["counters"].find_one({"_id": "c10"}, session=session)["n"] == 0
        session.commit_transaction()
        assert counters.find_one({"_id": "c10"})["n"] == 3000
        print("seconds per 500 updates:", [round(t, 2) for t in per_500])
        assert per_500[-1] < 5 * per_500[0], f"writes slowed down while a transaction was open: {per_500}"
    finally:
        reader.close()
        writer.close()
        store.stop()


def test_updates_keep_every_index_in_step_with_the_documents():
    """The embedded store rewrites on update only the indexes whose fields changed (the same fix file).
    After random updates of indexed and unindexed fields, queries the store plans through these indexes, and a
    sort on one, answer like a collection scan."""
    store = started_store()
    client: MongoClient = MongoClient(embedded.mongodb_url(store.port))
    try:
        people = client["index_check"]["people"]
        people.create_index([("forum", 1), ("email", 1)], unique=True, name="unique_email")
        people.create_index([("status", 1), ("tags", 1), ("seq", 1)], name="multikey")
        people.create_index([("seq", 1)], name="seq")
        people.create_index([("address.city", 1)], name="dotted")
        people.create_index([("score", 1)], name="partial", partialFilterExpression={"status": "accepted"})
        people.create_index([("nick", 1)], name="sparse", sparse=True)
        rng = random.Random(7)
        statuses, tags, cities = ["received", "accepted", "waitlisted"], ["a", "b", "c", "d"], ["Essen", "Bochum", "Dortmund"]
        people.insert_many([{"_id": i, "forum": f"f{i % 3}", "email": f"p{i}@x.org", "status": "received", "tags": ["a"],
                             "seq": i, "address": {"city": "Essen", "street": "Hauptstraße"}, "score": 0, "note": ""}
                            for i in range(120)])
        for step in range(600):
            i = rng.randrange(120)
            change = rng.choice([
                {"$set": {"note": f"n{step}"}},                                  # no indexed field
                {"$set": {"status": rng.choice(statuses), "seq": rng.choice([step, 1, 1.0, True])}},
                {"$set": {"tags": rng.sample(tags, rng.randrange(4))}},          # multikey, sometimes empty
                {"$set": {"address.city": rng.choice(cities)}},                  # dotted path
                {"$set": {"address.street": f"Weg {step}"}},                     # same top-level field, unindexed leaf
                {"$inc": {"score": 1}},                                          # partial index, in or out by status
                {"$set": {"nick": f"k{step % 5}"}} if step % 2 else {"$unset": {"nick": ""}},  # sparse
            ])
            with client.start_session() as session, session.start_transaction():
                people.update_one({"_id": i}, change, session=session)
        people.update_many({"status": "waitlisted"}, {"$set": {"note": "bulk"}})
        people.update_many({"forum": "f1"}, {"$set": {"tags": ["d"]}})

        people.update_one({"_id": 5}, {"$set": {"status": "accepted", "seq": 1}})
        people.update_one({"_id": 5}, {"$set": {"seq": True}})  # equal to 1 in Python, not in an index

        # The unique index still holds and still lets a freed address be taken.
        with pytest.raises(DuplicateKeyError):
            people.update_one({"_id": 3}, {"$set": {"email": "p0@x.org", "forum": "f0"}})
        people.update_one({"_id": 0}, {"$set": {"email": "moved@x.org"}})
        people.update_one({"_id": 3}, {"$set": {"email": "p0@x.org", "forum": "f0"}})

        probes = [("unique_email", {"forum": "f0", "email": "p0@x.org"}), ("unique_email", {"forum": "f0", "email": "p3@x.org"}),
                  *[("multikey", {"status": s}) for s in statuses], *[("multikey", {"status": s, "tags": t})
                                                                      for s in statuses for t in tags],
                  ("multikey", {"status": "accepted", "seq": 1}), ("multikey", {"status": "accepted", "seq": True}),
                  ("seq", {"seq": 1}), ("seq", {"seq": True}), ("seq", {"seq": {"$gte": 100}}),
                  *[("dotted", {"address.city": c}) for c in cities],
                  *[("partial", {"status": "accepted", "score": {"$gte": n}}) for n in range(4)],
                  *[("sparse", {"nick": f"k{n}"}) for n in range(5)]]
        # Without a hint the store plans through the index (a hint makes it scan): compare with a scan.
        for index, query in probes:
            by_index = sorted(d["_id"] for d in people.find(query, {"_id": 1}))
            by_scan = sorted(d["_id"] for d in people.find(query, {"_id": 1}).hint([("$natural", 1)]))
            assert by_index == by_scan, (index, query)
        assert [d["_id"] for d in people.find({}, {"_id": 1}).sort([("seq", -1), ("_id", 1)]).limit(5)] == \
            [d["_id"] for d in sorted(people.find().hint([("$natural", 1)]), key=lambda d: (_bson_order(d["seq"]), -d["_id"]),
                                      reverse=True)[:5]]
        assert sum(len(list(people.find({"status": s}, {"_id": 1}))) for s in statuses) == 120
    finally:
        client.close()
        store.stop()


def _bson_order(value: object) -> tuple[int, float]:
    """Numbers sort before booleans in an index (BSON type order), then by value."""
    return (1, float(value)) if isinstance(value, bool) else (0, float(value))  # type: ignore[arg-type]


def test_catalog_changes_take_effect_at_once_although_the_catalogs_are_read_once_per_command():
    """The embedded store keeps a collection's index definitions for the length of one command (the same fix
    file), and its options. Creating, dropping and changing indexes, dropping and creating a collection, and
    an index turning multikey in the middle of a bulk write must still take effect for the very next write
    or query. The createIndexes
    command with two indexes fails when the fix keeps the definitions without dropping them on a change; no
    case was found where a multikey flag set within one command changes an answer (the fix drops them then
    too)."""
    store = started_store()
    client: MongoClient = MongoClient(embedded.mongodb_url(store.port))
    try:
        people = client["catalog_check"]["people"]
        people.insert_many([{"_id": i, "email": f"p{i}@x.org", "tag": "a", "n": i} for i in range(5)])
        people.insert_one({"_id": 5, "email": "p0@x.org", "tag": "a", "n": 5})  # no unique index yet
        people.delete_one({"_id": 5})
        people.create_index([("email", 1)], unique=True, name="email")
        with pytest.raises(DuplicateKeyError):
            people.insert_one({"_id": 6, "email": "p1@x.org"})
        with pytest.raises(DuplicateKeyError):  # the same inside a transaction, on an update
            with client.start_session() as session, session.start_transaction():
                people.update_one({"_id": 2}, {"$set": {"email": "p3@x.org"}}, session=session)
        people.drop_index("email")
        # One command creates the first index, then refuses the second: the same keys under another name.
        with pytest.raises(OperationFailure, match="already exists with a different name"):
            people.create_indexes([IndexModel([("n", 1)], name="by_n"), IndexModel([("n", 1)], name="by_n_again")])
        assert sorted(i["name"] for i in people.list_indexes()) == ["_id_", "by_n"]
        people.drop_index("by_n")
        people.insert_one({"_id": 7, "email": "p1@x.org", "tag": "a", "n": 7})
        assert people.count_documents({"email": "p1@x.org"}) == 2

        # One bulk write, one command: the first update makes the `tag` index multikey, the second finds the
        # document by an element of its new array, and the third updates through the same index.
        # A whole-array match cannot go through an index that is not multikey (it holds the elements).
        people.create_index([("tag", 1), ("n", 1)], name="tag")
        people.bulk_write([UpdateOne({"_id": 0}, {"$set": {"tag": ["b", "c"]}}),
                           UpdateMany({"tag": "c"}, {"$set": {"hit": True}}),
                           UpdateMany({"tag": ["b", "c"]}, {"$set": {"whole": True}}),
                           UpdateMany({"tag": "b", "n": {"$gte": 0}}, {"$inc": {"n": 10}})], ordered=True)
        assert people.find_one({"_id": 0}) == {"_id": 0, "email": "p0@x.org", "tag": ["b", "c"], "n": 10, "hit": True,
                                               "whole": True}
        for query in ({"tag": "a"}, {"tag": "b"}, {"tag": "c", "n": 10}, {"n": {"$gte": 3}}):
            by_index = sorted(d["_id"] for d in people.find(query, {"_id": 1}))
            by_scan = sorted(d["_id"] for d in people.find(query, {"_id": 1}).hint([("$natural", 1)]))
            assert by_index == by_scan, query

        # A partial index added later applies to the next write; dropped with its collection, it is gone.
        people.create_index([("n", 1)], unique=True, name="partial_n", partialFilterExpression={"tag": "a"})
        with pytest.raises(DuplicateKeyError):
            people.insert_one({"_id": 8, "tag": "a", "n": 3})
        people.insert_one({"_id": 9, "tag": "z", "n": 3})  # outside the filter
        people.drop()
        people.insert_many([{"_id": 1, "tag": "a", "n": 1}, {"_id": 2, "tag": "a", "n": 1}])
        assert sorted(i["name"] for i in people.list_indexes()) == ["_id_"]

        # Collection options are kept per command too: a capped collection stays capped, and the same name
        # created again without a cap keeps everything.
        people.drop()
        client["catalog_check"].create_collection("people", capped=True, size=4096, max=3)
        for i in range(5):
            people.insert_one({"_id": i})
        assert [d["_id"] for d in people.find()] == [2, 3, 4]
        people.drop()
        for i in range(5):
            people.insert_one({"_id": i})
        assert people.count_documents({}) == 5 and not people.options().get("capped")
    finally:
        client.close()
        store.stop()


def test_keys_packed_and_encoded_the_faster_way_are_the_stock_bytes():
    """The embedded store packs WiredTiger keys from a plan per format and encodes plain strings, integers
    and nulls of index keys directly (the same fix file). Its check compares both with the stock functions
    on random values (a difference makes it exit 1). Then a store holding documents with keys of every kind
    (strings with NUL and non-ASCII characters, integers at the encoding's limits, floats, booleans,
    nulls, arrays) finds each one through its index as a collection scan does, and sorts them alike."""
    check = subprocess.run([sys.executable, str(embedded.PATCHED_SECANTUS), "--check-packing"],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    assert "alike" in check.stdout

    store = started_store()
    client: MongoClient = MongoClient(embedded.mongodb_url(store.port))
    try:
        values: list[object] = ["", "a", "a\0b", "a\0", "Düsseldorf", "😀", "z" * 300, None, 0, 1, -1, 63, 64, 8255,
                                8256, 8257, -64, -65, -8256, -8257, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 1.5, -0.5,
                                True, False, ["a", 1], [], {"k": "v"}]
        docs = client["key_check"]["docs"]
        docs.create_index([("v", 1), ("w", -1)], name="compound")
        docs.create_index([("v", 1)], name="single")
        docs.insert_many([{"_id": i, "v": v, "w": i % 3} for i, v in enumerate(values)])
        docs.update_many({}, {"$inc": {"w": 1}})  # rewrites no indexed key of v, every key of w
        for v in values:
            by_index = sorted(d["_id"] for d in docs.find({"v": v}, {"_id": 1}))
            by_scan = sorted(d["_id"] for d in docs.find({"v": v}, {"_id": 1}).hint([("$natural", 1)]))
            assert by_index == by_scan and by_index, v
        in_range = [i for i, v in enumerate(values) if type(v) in (int, float) and 64 <= v < 8257]  # type: ignore[operator]
        assert sorted(d["_id"] for d in docs.find({"v": {"$gte": 64, "$lt": 8257}}, {"_id": 1})) == in_range
        scalars = [(i, v) for i, v in enumerate(values) if type(v) in (str, int, float)]
        in_index_order = [d["_id"] for d in docs.find({"_id": {"$in": [i for i, _ in scalars]}}).sort([("v", 1), ("_id", 1)])]
        numbers = sorted((float(v), i) for i, v in scalars if not isinstance(v, str))
        strings = sorted((str(v).encode(), i) for i, v in scalars if isinstance(v, str))
        assert in_index_order == [i for _, i in numbers] + [i for _, i in strings]
    finally:
        client.close()
        store.stop()


def test_updates_with_clashing_paths_are_refused_every_time_and_nested_values_are_copied():
    """The embedded store keeps the answer of an update's path check per shape of update, and copies the
    document to update by its own walk (the same fix file). A refused shape is refused again, the same
    field names with other `$rename` targets are judged afresh, and an update of a nested value leaves
    what other documents and the index hold as it was."""
    store = started_store()
    client: MongoClient = MongoClient(embedded.mongodb_url(store.port))
    try:
        docs = client["update_check"]["docs"]
        docs.create_index([("a.b", 1)], name="nested")
        docs.insert_many([{"_id": i, "a": {"b": i, "c": [1, {"d": i}]}, "x": 0, "y": 0} for i in range(3)])
        for _ in range(2):
            with pytest.raises(OperationFailure) as refused:
                docs.update_one({"_id": 0}, {"$set": {"a": 1}, "$inc": {"a.b": 1}})
            assert refused.value.code == 40
        docs.update_one({"_id": 0}, {"$set": {"a.c.1.d": 9}, "$inc": {"a.b": 10}})
        docs.update_one({"_id": 1}, {"$rename": {"x": "z", "y": "w"}})
        with pytest.raises(OperationFailure) as refused:  # the same names, a target that clashes with a source
            docs.update_one({"_id": 2}, {"$rename": {"x": "y", "y": "w"}})
        assert refused.value.code == 40
        assert docs.find_one({"_id": 0}) == {"_id": 0, "a": {"b": 10, "c": [1, {"d": 9}]}, "x": 0, "y": 0}
        assert docs.find_one({"_id": 1}) == {"_id": 1, "a": {"b": 1, "c": [1, {"d": 1}]}, "z": 0, "w": 0}
        assert docs.find_one({"_id": 2}) == {"_id": 2, "a": {"b": 2, "c": [1, {"d": 2}]}, "x": 0, "y": 0}
        assert [d["_id"] for d in docs.find({"a.b": {"$gte": 0}}).sort("a.b", 1)] == [1, 2, 0]
        assert docs.count_documents({"a.b": 0}) == 0
    finally:
        client.close()
        store.stop()


def test_in_over_strings_matches_as_mongod_does():
    """The embedded store matches `$in` over plain strings by a set (the same fix file). Mixed candidates,
    arrays, nulls, missing fields, regular expressions and collations still match as before."""
    store = started_store()
    client: MongoClient = MongoClient(embedded.mongodb_url(store.port))
    try:
        docs = client["in_check"]["docs"]
        docs.insert_many([{"_id": "s-a", "v": "a"}, {"_id": "s-b", "v": "b"}, {"_id": "s-A", "v": "A"},
                          {"_id": "arr", "v": ["a", "cc"]}, {"_id": "one", "v": 1}, {"_id": "null", "v": None},
                          {"_id": "none"}, {"_id": "nested", "v": {"w": "a"}}])

        def ids(query: dict[str, object], **options: object) -> list[str]:
            return sorted(d["_id"] for d in docs.find(query, {"_id": 1}, **options))

        for _ in range(2):  # the second round reuses nothing of the first query's candidates
            assert ids({"v": {"$in": ["a", "x"]}}) == ["arr", "s-a"]
            assert ids({"v": {"$in": ["b"]}}) == ["s-b"]
            assert ids({"v": {"$in": ["a", 1]}}) == ["arr", "one", "s-a"]
            assert ids({"v": {"$in": ["a", None]}}) == ["arr", "none", "null", "s-a"]
            assert ids({"v": {"$in": [re.compile("^c")]}}) == ["arr"]
            assert ids({"v": {"$in": ["A"]}}, collation={"locale": "en", "strength": 2}) == ["arr", "s-A", "s-a"]
            assert ids({"v": {"$in": [["a", "cc"]]}}) == ["arr"]
            assert ids({"v.w": {"$in": ["a"]}}) == ["nested"]
            assert ids({"_id": {"$in": ["s-a", "one", "missing"]}}) == ["one", "s-a"]
            assert ids({"v": {"$nin": ["a", "b"]}}) == ["nested", "none", "null", "one", "s-A"]
    finally:
        client.close()
        store.stop()
