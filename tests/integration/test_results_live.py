"""Results against the real stack: the SSE stream, the rebuild from the topics, the HTML pages."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time

import httpx

from shared.testing import eventually
from tests.conftest import person
from tests.integration.test_results_capture import accepted_voters

FORUM = "themenforum-2"


class Listener:
    """Reads the SSE stream in a thread and hands over every event."""

    def __init__(self, stack, params, headers=None):
        self.items: queue.Queue = queue.Queue()
        self.connected = threading.Event()
        self.stop = False
        args = (stack.url("results", "/api/v1/stream"), params, {**stack.auth, **(headers or {})})
        threading.Thread(target=self._run, args=args, daemon=True).start()
        assert self.connected.wait(10), "stream did not open"

    def _run(self, url, params, headers):
        with httpx.Client(timeout=httpx.Timeout(30, read=None)) as client, client.stream("GET", url, params=params, headers=headers) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            current = {}
            for line in r.iter_lines():
                self.connected.set()
                if self.stop:
                    return
                if line.startswith("id: "):
                    current["id"] = line[4:]
                elif line.startswith("data: "):
                    self.items.put({**json.loads(line[6:]), "sse_id": current.get("id")})

    def wait_for(self, check, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if check(item):
                return item
        raise AssertionError("no matching event on the stream")


def test_a_registration_appears_on_the_stream_within_a_second_with_contact_data_stripped(stack, http):
    admin = Listener(stack, {"forum": FORUM, "type": "registration.*"})
    public = Listener(stack, {"forum": FORUM, "type": "registration.submitted", "personal": "false"})
    started = time.monotonic()
    reg = http.post(stack.url("registration", "/api/v1/registrations"), json=person()).json()
    item = admin.wait_for(lambda i: i["subject"] == reg["id"])
    assert time.monotonic() - started < 1.0
    assert item["type"] == "registration.submitted" and item["sse_id"].startswith("forum.registrations:")
    assert item["data"]["first_name"] == "Ada" and "email" not in item["data"]
    stripped = public.wait_for(lambda i: i["subject"] == reg["id"])
    assert "first_name" not in stripped["data"] and "email" not in stripped["data"] and stripped["data"]["actor_group"]
    admin.stop = public.stop = True


def test_a_reconnecting_dashboard_gets_what_it_missed_by_last_event_id(stack, http):
    listener = Listener(stack, {"type": "registration.submitted"})
    first = http.post(stack.url("registration", "/api/v1/registrations"), json=person()).json()
    seen = listener.wait_for(lambda i: i["subject"] == first["id"])
    listener.stop = True
    missed = http.post(stack.url("registration", "/api/v1/registrations"), json=person()).json()
    eventually(lambda: http.get(stack.url("registration", f"/api/v1/registrations/{missed['id']}"), headers=stack.auth).status_code == 200)
    time.sleep(0.5)
    again = Listener(stack, {"type": "registration.submitted"}, headers={"Last-Event-ID": seen["sse_id"]})
    assert again.wait_for(lambda i: i["subject"] == missed["id"], timeout=5)
    again.stop = True
    assert http.get(stack.url("results", "/api/v1/stream")).status_code == 401


def rebuild(stack, *args):
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap, "MONGODB_URL": stack.mongodb_url, "LOG_JSON": "true"}
    done = subprocess.run([sys.executable, "-m", "services.results.rebuild", *args], env=env, capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_read_models_rebuilt_from_the_topics_equal_the_live_ones(stack, http, mongo):
    from shared.events import encode, make_event
    from shared.events.results import IdeaCaptured
    from tests.kafka import produce

    reg = http.post(stack.url("registration", "/api/v1/registrations"), json=person(preferences=["tf2-ws1"])).json()
    # Many records in one produce batch: the embedded broker's end offsets count batches, the rebuild must not.
    ideas = [make_event("result.idea_captured", subject="rb-ws", source="test", data=IdeaCaptured(
        idea_id=f"rb-{i}", workshop_id="rb-ws", forum_id="rebuild-forum", title=f"Idee {i}")) for i in range(60)]
    produce(stack.bootstrap, "forum.results", [(b"rb-ws", encode(e)) for e in ideas])
    db = mongo["themenforum_results"]
    eventually(lambda: db.decisions.find_one({"_id": reg["id"]}))
    eventually(lambda: db.reporting_ideas.count_documents({"forum_id": "rebuild-forum"}) == 60, timeout=60)
    outcome = eventually(lambda: (o := rebuild(stack))["equal"] and o, timeout=60, interval=2)
    assert outcome["events"] > 60 and db.rebuild_decisions.count_documents({}) == db.decisions.count_documents({}) > 0
    assert db.rebuild_reporting_ideas.count_documents({"forum_id": "rebuild-forum"}) == 60
    # A damaged read model is found, and --swap repairs it from the topics.
    cell = db.reporting_participation.find_one({"accepted": {"$gte": 1}})
    db.reporting_participation.update_one({"_id": cell["_id"]}, {"$inc": {"accepted": 100}})
    broken = rebuild(stack)
    assert not broken["equal"] and broken["differences"]["reporting_participation"]["different"] >= 1
    assert rebuild(stack, "--swap")["swapped"] is True
    assert db.reporting_participation.find_one({"_id": cell["_id"]})["accepted"] == cell["accepted"]


def test_a_moderator_captures_an_idea_in_the_browser_form_with_csrf_and_german_errors(stack):
    with httpx.Client(timeout=30) as browser:
        page = stack.url("results", "/moderation/tf2-ws3")
        assert browser.get(page, follow_redirects=False).status_code == 303  # not logged in: to the log-in form
        stack.staff_session(browser)
        form = browser.get(page)
        assert form.status_code == 200 and 'lang="de"' in form.text and "Idee erfassen" in form.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        request_id = re.search(r'name="request_id" value="([^"]+)"', form.text).group(1)
        saved = browser.post(page, data={"csrf_token": token, "action": "idea", "title": "Datenraum Ruhr", "request_id": request_id,
                                         "actor_groups": ["municipality", "research"]}, follow_redirects=False)
        assert saved.status_code == 303
        assert "Datenraum Ruhr" in browser.get(stack.url("results", saved.headers["location"])).text
        empty = browser.post(page, data={"csrf_token": token, "action": "idea", "title": ""})
        assert empty.status_code == 422 and "error-summary" in empty.text
        assert browser.post(page, data={"csrf_token": "forged", "action": "idea", "title": "x"}).status_code == 403
        sketch = browser.post(stack.url("results", "/api/v1/workshops/tf2-ws3/sketches"), headers=stack.auth,
                              json={"title": "Datenraum", "partners": ["municipality"]}).json()
        edit = browser.get(page, params={"skizze": sketch["sketch_id"]})
        assert 'value="Datenraum"' in edit.text and "Projektskizze überarbeiten" in edit.text
        revised = browser.post(page, data={"csrf_token": token, "action": "sketch", "sketch_id": sketch["sketch_id"],
                                           "sketch_title": "Datenraum Ruhr 2.0", "partners": ["municipality", "research"],
                                           "request_id": "edit-1"}, follow_redirects=False)
        assert revised.status_code == 303
        results = browser.get(stack.url("results", "/api/v1/workshops/tf2-ws3/results"), headers=stack.auth).json()
        latest = next(s for s in results["sketches"] if s["sketch_id"] == sketch["sketch_id"])
        assert latest["revision"] == 2 and latest["title"] == "Datenraum Ruhr 2.0" and latest["partners"] == ["municipality", "research"]
        dashboard = browser.get(stack.url("results", "/dashboard"))
        assert dashboard.status_code == 200 and 'src="/results-static/dashboard.js"' in dashboard.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", dashboard.text)  # no inline scripts
        assert browser.get(stack.url("results", "/results-static/dashboard.js")).status_code == 200
        snapshot = eventually(lambda: (d := browser.get(stack.url("results", f"/api/v1/dashboard/{FORUM}")).json())["counters"]["sketches"] >= 1 and d)
        assert [w["id"] for w in snapshot["workshops"]][:3] == ["tf2-ws1", "tf2-ws2", "tf2-ws3"] and "quotas" in snapshot["workshops"][0]


def test_a_participant_votes_through_the_personal_link_page(stack, http):
    token = accepted_voters(stack, http, 1, workshop="tf2-ws3")[0]
    api = stack.url("results", "/api/v1")
    sketch = http.post(f"{api}/workshops/tf2-ws3/sketches", headers=stack.auth, json={"title": "Gemeinsame Vergabeplattform"}).json()
    page = http.get(stack.url("results", f"/abstimmung/{token}"))
    assert page.status_code == 200 and "Gemeinsame Vergabeplattform" in page.text and "Punkten" in page.text
    voted = http.post(stack.url("results", f"/abstimmung/{token}"), data={"target_id": sketch["sketch_id"], "request_id": "r1"},
                      follow_redirects=False)
    assert voted.status_code == 303
    assert http.get(f"{api}/votes/{token}").json()["used"] == 1
    english = http.get(stack.url("results", f"/abstimmung/{token}"), params={"lang": "en"})
    assert 'lang="en"' in english.text and "Place one dot" in english.text
    invalid = http.get(stack.url("results", "/abstimmung/nicht-gueltig-123456"))
    assert invalid.status_code == 404 and "Link ungültig" in invalid.text


def test_an_erasure_request_removes_the_persons_ballot_and_is_confirmed(stack, http, mongo):
    from shared.events import encode, make_event
    from shared.events.participants import ParticipantErasureRequested
    from tests.kafka import events, produce, read_topic

    token = accepted_voters(stack, http, 1, workshop="tf2-ws3")[0]
    links = http.get(stack.url("results", "/api/v1/workshops/tf2-ws3/voting-links"), headers=stack.auth).json()
    participant = next(link["participant_id"] for link in links if link["url"].endswith(token))
    request = make_event("participant.erasure_requested", subject=participant, source="test",
                         data=ParticipantErasureRequested(participant_id=participant))
    produce(stack.bootstrap, "forum.participants", [(participant.encode(), encode(request))])
    eventually(lambda: http.get(stack.url("results", f"/api/v1/votes/{token}")).status_code == 404)
    assert mongo["themenforum_results"].voters.count_documents({"participant_id": participant}) == 0
    confirmed = read_topic(stack.bootstrap, "forum.participants", until=lambda ms: any(
        e["type"] == "participant.erased" and e["data"] == {"participant_id": participant, "service": "results"} for e in events(ms)))
    assert any(e["type"] == "participant.erased" and e["data"]["service"] == "results" for e in events(confirmed))
