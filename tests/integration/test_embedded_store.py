"""The embedded store behaves like mongod where the services rely on it: a client killed inside a transaction
does not block the others' writes for longer than the transaction lifetime (60 s); an open transaction does not
throttle other writes to the documents it has read.

The second is a fix of SecantusDB that the embedded stack runs (deploy/embedded/secantusd_patched.py);
`SECANTUS_UNPATCHED=1 pytest tests/integration/test_embedded_store.py` shows its test failing on the stock server."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

from pymongo import MongoClient

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
        assert done.wait(100), "a transaction abandoned by a killed client blocked a plain write for more than 100 s"
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

