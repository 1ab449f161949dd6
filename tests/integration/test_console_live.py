"""The selection console's live stream against the real stack: ids and counts for one forum, reconnects, access."""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx

from tests.integration.selection_support import decided, make_forum, register

# Everything a console item may hold: ids, status codes and counts.
ALLOWED = {"id", "type", "forum_id", "registration_id", "workshop_id", "previous_workshop_id", "status", "previous_status",
           "waitlist_position", "decision_seq", "action", "preferences", "accepted"}


def stream_url(stack, forum_id):
    return stack.url("registration", f"/api/v1/fora/{forum_id}/console/stream")


class ConsoleListener:
    """Reads the console stream in a thread and hands over every item with its raw SSE lines."""

    def __init__(self, stack, forum_id, token, last_event_id=None):
        self.items: queue.Queue = queue.Queue()
        self.connected = threading.Event()
        self.stop = False
        headers = {"Authorization": f"Bearer {token}", **({"Last-Event-ID": last_event_id} if last_event_id else {})}
        threading.Thread(target=self._run, args=(stream_url(stack, forum_id), headers), daemon=True).start()
        assert self.connected.wait(10), "stream did not open"

    def _run(self, url, headers):
        try:
            self._read(url, headers)
        except httpx.HTTPError:
            if not self.stop:  # a stopped listener's connection may be cut when the stack stops
                raise

    def _read(self, url, headers):
        with httpx.Client(timeout=httpx.Timeout(30, read=None)) as client, client.stream("GET", url, headers=headers) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            current: dict = {}
            for line in r.iter_lines():
                self.connected.set()
                if self.stop:
                    return
                if line.startswith(("id: ", "event: ")):
                    key, _, value = line.partition(": ")
                    current[key] = value
                elif line.startswith("data: "):
                    self.items.put({"sse_id": current.get("id"), "event": current.get("event"), "raw": line,
                                    **json.loads(line[6:])})
                    current = {}

    def collect(self, until, timeout=15.0):
        """Every item until `until(items)` holds (fails after `timeout`)."""
        seen: list[dict] = []
        deadline = time.monotonic() + timeout
        while not until(seen):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"stream stopped short: {[(i['type'], i.get('registration_id')) for i in seen]}"
            try:
                seen.append(self.items.get(timeout=remaining))
            except queue.Empty:
                pass
        return seen


def of(items, registration_id, kind):
    return [i for i in items if i.get("registration_id") == registration_id and i["type"] == kind]


def test_the_console_stream_carries_one_forums_decisions_as_ids_and_counts_only(stack, http):
    token = stack.role_token("selection")
    forum, (ws,) = make_forum(stack, http, [{"seats": 1}])
    other, (other_ws,) = make_forum(stack, http, [{"seats": 1}])
    listener = ConsoleListener(stack, forum, token)
    elsewhere = register(stack, http, other, [other_ws], first_name="Otto", last_name="Anderswo")
    people = [register(stack, http, forum, [ws], first_name="Lina", last_name=f"Live-{n}") for n in range(2)]
    # Two topics, so no order between them is promised here (the hub's unit test covers the order in a fetch).
    items = listener.collect(lambda seen: all(of(seen, p["id"], kind) for p in people
                                              for kind in ("registration.submitted", "selection.decided")))
    statuses = {p["id"]: of(items, p["id"], "selection.decided")[0] for p in people}
    assert sorted(d["status"] for d in statuses.values()) == ["accepted", "waitlisted"]
    assert all(d["workshop_id"] == ws and d["forum_id"] == forum for d in statuses.values())

    # A cancellation frees the seat: the cancel and the move-up arrive as they happen.
    accepted = next(p for p in people if statuses[p["id"]]["status"] == "accepted")
    waiting = next(p for p in people if p is not accepted)
    assert http.post(accepted["status_url"].replace(f"/{accepted['id']}?", f"/{accepted['id']}/cancel?")).status_code == 200
    more = listener.collect(lambda seen: bool(of(seen, accepted["id"], "registration.cancelled"))
                            and any(d["status"] == "accepted" for d in of(seen, waiting["id"], "selection.decided")))
    moved = [d for d in of(more, waiting["id"], "selection.decided") if d["status"] == "accepted"][0]
    assert moved["previous_status"] == "waitlisted" and moved["workshop_id"] == ws
    items += more

    # The other forum's registration was decided meanwhile, yet never reached this forum's console.
    decided(http, elsewhere)
    time.sleep(0.5)
    while not listener.items.empty():
        items.append(listener.items.get())
    assert all(i["forum_id"] == forum for i in items) and not [i for i in items if i.get("registration_id") == elsewhere["id"]]
    for item in items:
        assert set(item) - {"sse_id", "event", "raw"} <= ALLOWED, item
        assert item["sse_id"] == item["id"] and item["event"] == item["type"]
        assert "Lina" not in item["raw"] and "Live-" not in item["raw"] and "@" not in item["raw"] and "Bochum" not in item["raw"]
    listener.stop = True


def test_overrides_and_a_batch_publish_reach_the_console_with_counts(stack, http):
    token = stack.role_token("selection")
    auth = {"Authorization": f"Bearer {token}"}
    forum, (w1, w2) = make_forum(stack, http, [{"seats": 1}, {"seats": 2}], mode="batch")
    listener = ConsoleListener(stack, forum, token)
    people = [register(stack, http, forum, [w1, w2], organisation=f"Amt {n}") for n in range(3)]
    moved = http.post(stack.url("registration", f"/api/v1/registrations/{people[0]['id']}/override"),
                      json={"action": "move", "workshop_id": w2, "note": "Wunsch von Frau Beispiel"}, headers=auth)
    assert moved.status_code == 200
    run = http.post(stack.url("registration", f"/api/v1/fora/{forum}/selection/dry-run"), json={"seed": 3}, headers=auth).json()
    assert http.post(stack.url("registration", f"/api/v1/selection/runs/{run['run_id']}/publish"), headers=auth).status_code == 200

    items = listener.collect(lambda seen: any(i["type"] == "selection.finalized" for i in seen)
                             and all(of(seen, p["id"], "selection.decided") for p in people[1:]))
    override = of(items, people[0]["id"], "selection.overridden")  # the run keeps it, so no new decision for that person
    assert override and override[0]["action"] == "move" and override[0]["workshop_id"] == w2
    final = next(i for i in items if i["type"] == "selection.finalized")
    assert final["accepted"] == {w1: 1, w2: 2} and final["forum_id"] == forum
    for item in items:
        assert set(item) - {"sse_id", "event", "raw"} <= ALLOWED, item
        assert "Beispiel" not in item["raw"] and "Amt " not in item["raw"] and "staff_member" not in item
    listener.stop = True


def test_a_reconnect_with_last_event_id_receives_what_it_missed(stack, http):
    token = stack.role_token("selection")
    forum, (ws,) = make_forum(stack, http, [{"seats": 5}])
    listener = ConsoleListener(stack, forum, token)
    first = register(stack, http, forum, [ws])
    seen = listener.collect(lambda items: bool(of(items, first["id"], "selection.decided")))
    last_id = of(seen, first["id"], "selection.decided")[0]["id"]
    listener.stop = True

    missed = [register(stack, http, forum, [ws]) for _ in range(2)]
    for reg in missed:
        decided(http, reg)
    time.sleep(0.5)  # the decisions are stored; give the process's follower a moment to see their events
    again = ConsoleListener(stack, forum, token, last_event_id=last_id)
    caught_up = again.collect(lambda items: all(of(items, r["id"], "selection.decided") for r in missed), timeout=5)
    assert not of(caught_up, first["id"], "selection.decided"), "items up to Last-Event-ID are not sent again"
    again.stop = True

    # An id the process no longer holds: the console is told to reload its figures.
    with httpx.Client(timeout=10) as client, client.stream(
            "GET", stream_url(stack, forum), headers={"Authorization": f"Bearer {token}", "Last-Event-ID": "forum.selection:99:0"}) as r:
        lines = []
        for line in r.iter_lines():
            lines.append(line)
            if line.startswith("data: "):
                break
    assert "event: stream.reset" in lines


def test_the_console_stream_needs_the_selection_role(stack, http):
    url = stream_url(stack, "themenforum-2")
    assert http.get(url).status_code == 401
    viewer = http.get(url, headers={"Authorization": f"Bearer {stack.role_token('viewer')}"})
    assert viewer.status_code == 403
    unknown = http.get(stream_url(stack, "kein-forum"), headers=stack.auth)
    assert unknown.status_code == 404
