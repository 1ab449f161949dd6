"""Results against the real stack: capture, dot voting under concurrency and replay, finalising, the report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid

from pymongo import MongoClient
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from shared.testing import eventually
from tests.conftest import person
from tests.kafka import events, read_topic

FORUM = "themenforum-2"
WS = "tf2-ws2"


def accepted_voters(stack, http, n: int, workshop: str = WS) -> list[str]:
    """Register n people for a workshop, wait until they are accepted and their ballots exist; their voting tokens."""
    ids = []
    for i in range(n):
        body = person(preferences=[workshop], actor_group="research" if i % 2 else "company", organisation=f"Org {uuid.uuid4().hex[:8]}")
        answer = http.post(stack.url("registration", "/api/v1/registrations"), json=body)
        assert answer.status_code == 202, answer.text
        ids.append(answer.json())
    # Only these people's links: other tests of the session have accepted participants in the workshop too.
    with MongoClient(stack.mongodb_url) as client:
        people = {d["participant_id"] for d in client["themenforum_registration"].registrations.find(
            {"_id": {"$in": [a["id"] for a in ids]}}, {"participant_id": 1})}
    url = stack.url("results", f"/api/v1/workshops/{workshop}/voting-links")
    mine = lambda: [l for l in http.get(url, headers=stack.auth).json() if l["participant_id"] in people]  # noqa: E731
    links = eventually(lambda: (ls := mine()) and len(ls) >= n and ls, timeout=40)
    return [link["url"].rsplit("/", 1)[1] for link in links]


@pytest.fixture(scope="module")
def captured(stack, http):
    """Ideas (one clustered), and one sketch per workshop that grew from them."""
    out = {"sketches": {}}
    api = stack.url("results", "/api/v1")
    for ws in ("tf2-ws1", "tf2-ws2", "tf2-ws3"):
        a = http.post(f"{api}/workshops/{ws}/ideas", headers=stack.auth, json={
            "title": f"Förderlotsen {ws}", "text": "Eine Anlaufstelle", "tags": ["Beratung"], "actor_groups": ["company", "finance"],
            "breakout_group": "AG 1", "request_id": f"idea-a-{ws}"})
        assert a.status_code == 201, a.text
        b = http.post(f"{api}/workshops/{ws}/ideas", headers=stack.auth, json={"title": f"Gemeinsames Portal {ws}"})
        clustered = http.patch(f"{api}/ideas/{a.json()['idea_id']}", headers=stack.auth, json={"cluster": "Beratung und Zugang"})
        assert clustered.status_code == 200 and clustered.json()["revision"] == 2
        sketch = http.post(f"{api}/workshops/{ws}/sketches", headers=stack.auth, json={
            "title": f"Regionales Förderlotsennetz {ws[-1]}", "problem": "Förderung ist schwer zu finden", "goal": "Ein Netz von Lotsen",
            "partners": ["finance", "chamber"], "timeline": "2027–2028", "funding_need_eur": 250000,
            "funding_instruments": ["NRW.BANK.Innovation"], "next_steps": "Partner gewinnen", "contact": "Erika Muster, erika@example.org",
            "idea_ids": [a.json()["idea_id"], b.json()["idea_id"]]})
        assert sketch.status_code == 201, sketch.text
        out["sketches"][ws] = sketch.json()["sketch_id"]
        out.setdefault("ideas", []).append(a.json()["idea_id"])
    return out


def test_a_repeated_capture_creates_no_second_idea_and_bad_input_names_the_field(stack, http, captured):
    api = stack.url("results", "/api/v1")
    again = http.post(f"{api}/workshops/tf2-ws1/ideas", headers=stack.auth, json={"title": "Förderlotsen tf2-ws1", "request_id": "idea-a-tf2-ws1"})
    assert again.status_code == 200 and again.json()["idea_id"] == captured["ideas"][0]
    bad = http.post(f"{api}/workshops/tf2-ws1/ideas", headers=stack.auth, json={"title": ""})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "title"
    unknown = http.post(f"{api}/workshops/tf2-ws1/sketches", headers=stack.auth, json={"title": "X", "idea_ids": ["nope"]})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "idea_ids"
    assert http.post(f"{api}/workshops/tf2-ws1/ideas", json={"title": "x"}).status_code == 401
    assert http.post(f"{api}/workshops/nope/ideas", headers=stack.auth, json={"title": "x"}).status_code == 404


def test_concurrent_votes_and_replays_never_exceed_a_budget_and_the_tally_equals_the_events(stack, http, captured):
    api = stack.url("results", "/api/v1")
    assert http.put(f"{api}/workshops/{WS}/voting", headers=stack.auth, json={"dots": 3}).json() == {"dots": 3}
    tokens = accepted_voters(stack, http, 4)
    target = captured["sketches"][WS]
    # Every token clicks 6 times at once with distinct request ids, and replays each request twice.
    requests = [{"token": t, "target_id": target, "request_id": f"{t[:6]}-{i}"} for t in tokens for i in range(6)]
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda body: client.post(f"{api}/votes", json=body), requests * 3))
    assert {a.status_code for a in answers} <= {200, 409}, {a.text for a in answers if a.status_code not in (200, 409)}
    for token in tokens:
        ballot = http.get(f"{api}/votes/{token}").json()
        assert ballot["used"] == 3 and ballot["remaining"] == 0
    assert http.post(f"{api}/votes", json={"token": "x" * 20, "target_id": target}).status_code == 404
    results = http.get(f"{api}/workshops/{WS}/results", headers=stack.auth).json()
    assert results["tally"] == {target: 12}

    found: dict[str, dict] = {}  # distinct events: the outbox relay may publish one twice, consumers dedupe by id

    def enough(messages):
        for e in events(messages[enough.seen:]):
            if e["type"] == "result.vote_cast" and e["data"]["workshop_id"] == WS:
                found[e["id"]] = e
        enough.seen = len(messages)
        return sum(e["data"]["dots"] for e in found.values()) >= 12

    enough.seen = 0
    # Read the whole topic until the dots add up (a busy topic takes more than a few seconds to read).
    read_topic(stack.bootstrap, "forum.results", timeout=60, until=enough)
    assert sum(e["data"]["dots"] for e in found.values()) == 12 and len(found) == 12
    votes = stack.url("results", f"/api/v1/reports/{FORUM}")
    eventually(lambda: next(w for w in http.get(votes).json()["workshops"] if w["id"] == WS)["sketches"][0]["trail"]["dots"] == 12)


def test_finalising_freezes_a_version_closes_voting_and_later_edits_belong_to_the_next(stack, http, captured):
    api = stack.url("results", "/api/v1")
    done = http.post(f"{api}/workshops/tf2-ws1/finalize", headers=stack.auth)
    assert done.status_code == 200 and done.json()["version"] == 1 and done.json()["sketches"] == 1
    later = http.post(f"{api}/workshops/tf2-ws1/ideas", headers=stack.auth, json={"title": "Nachtrag"})
    assert later.json()["result_version"] == 2
    state = http.get(f"{api}/workshops/tf2-ws1/results", headers=stack.auth).json()["state"]
    assert state["finalized_version"] == 1 and state["voting_closed"] is True
    report = stack.url("results", f"/api/v1/reports/{FORUM}")
    ws1 = eventually(lambda: (w := http.get(report).json()["workshops"][0])["results_version"] and w)
    assert ws1["results_version"]["version"] == 1


def test_the_report_traces_sketches_to_ideas_and_votes_without_personal_data(stack, http, captured):
    url = stack.url("results", f"/api/v1/reports/{FORUM}")
    report = eventually(lambda: (r := http.get(url).json())["summary"]["sketches"] >= 3 and r)
    assert report["forum"]["title"].startswith("Themenforum 2") and [w["id"] for w in report["workshops"]][:3] == ["tf2-ws1", "tf2-ws2", "tf2-ws3"]
    assert {"forum", "workshops", "participation", "deliveries"} <= set(report)
    ws3 = next(w for w in report["workshops"] if w["id"] == "tf2-ws3")
    sketch = next(s for s in ws3["sketches"] if s["id"] == captured["sketches"]["tf2-ws3"])
    assert [i["title"] for i in sketch["trail"]["ideas"]] == ["Förderlotsen tf2-ws3", "Gemeinsames Portal tf2-ws3"]
    assert any(c["name"] == "Beratung und Zugang" for c in ws3["clusters"])
    text = json.dumps(report)
    assert "erika" not in text.lower() and "@" not in text
    csv = http.get(url + ".csv")
    assert csv.status_code == 200 and "Regionales Förderlotsennetz 3" in csv.text and "@" not in csv.text
    page = http.get(stack.url("results", f"/berichte/{FORUM}"))
    assert page.status_code == 200 and "Ergebnisbericht" in page.text and "<svg" in page.text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (Debian poppler-utils) is not installed")
def test_the_pdf_names_the_forum_every_workshop_and_every_sketch(stack, http, captured, tmp_path):
    url = stack.url("results", f"/api/v1/reports/{FORUM}")
    report = eventually(lambda: (r := http.get(url).json())["summary"]["sketches"] >= 3 and r)
    pdf = http.get(url + ".pdf", timeout=60)
    if pdf.status_code == 503:
        pytest.skip("WeasyPrint cannot render here (Pango missing)")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    (tmp_path / "r.pdf").write_bytes(pdf.content)
    raw = subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    text = re.sub(r"\s+", " ", raw)
    assert report["forum"]["title"] in text
    for ws in report["workshops"]:
        assert ws["title"] in text
        for s in ws["sketches"]:
            assert s["title"] in text


def test_the_report_shows_each_workshops_agenda_as_published(stack, http):
    answer = http.post(stack.url("agenda", f"/api/v1/fora/{FORUM}/agenda/publish"), headers=stack.auth)
    assert answer.status_code in (200, 201), answer.text
    published = eventually(lambda: (a := http.get(stack.url("agenda", "/api/v1/workshops/tf2-ws1/agenda"))).status_code == 200 and a.json())
    report = stack.url("results", f"/api/v1/reports/{FORUM}")
    ws1 = eventually(lambda: (w := http.get(report).json()["workshops"][0])["agenda"] and
                     w["agenda"]["version"] == published["version"] and w)
    titles = [i["title"] for i in ws1["agenda"]["items"]]
    assert titles and set(titles) == {i["title"] for i in published["items"]}
    page = http.get(stack.url("results", f"/berichte/{FORUM}")).text
    assert titles[0] in page and "Ablauf wie durchgeführt" in page
