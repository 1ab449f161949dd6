"""The embedded store behaves like mongod where the services rely on it: a client killed inside a transaction
does not block the others' writes for longer than the transaction lifetime (60 s)."""

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


def test_a_transaction_abandoned_by_a_killed_client_stops_blocking_plain_writes():
    base = Path(tempfile.mkdtemp(prefix="themenforum-store-"))
    store = embedded.secantus(embedded.free_port(), base / "mongodb", base / "mongodb.log")
    store.start()
    embedded.wait_for_port(store.port, timeout=60, proc=store.proc)
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
