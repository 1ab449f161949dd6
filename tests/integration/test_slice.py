"""The thin slice end to end: HTTP → Kafka → every service's store → one e-mail."""

from __future__ import annotations

from shared.testing import eventually
from tests.conftest import acknowledgements, person
from tests.kafka import events, read_topic


def test_a_registration_flows_through_all_four_services(stack, http, mongo):
    body = person(language="en")
    answer = http.post(stack.url("registration", "/api/v1/registrations"), json=body)
    assert answer.status_code == 202, answer.text
    reg = answer.json()
    assert reg["status"] == "received" and "token=" in reg["status_url"]

    submitted = read_topic(stack.bootstrap, "forum.registrations",
                           until=lambda ms: any(e.get("subject") == reg["id"] for e in events(ms)))
    event = next(e for e in events(submitted) if e.get("subject") == reg["id"])
    assert event["type"] == "registration.submitted" and event["specversion"] == "1.0"
    assert event["data"]["preferences"] == ["tf2-ws3", "tf2-ws1"]

    status = eventually(lambda: (s := http.get(reg["status_url"]).json())["status"] != "received" and s)
    # Earlier tests may have filled the group's seats: a place in a wished workshop or its waiting list.
    assert status["status"] in ("accepted", "waitlisted") and status["workshop_id"] in ("tf2-ws3", "tf2-ws1")
    assert "Workshop" in status["explanation"]

    agenda = mongo["themenforum_agenda"]
    eventually(lambda: agenda.decisions.find_one({"_id": reg["id"], "status": status["status"]}))
    results = mongo["themenforum_results"]
    eventually(lambda: results.reporting_participation.find_one(
        {"forum_id": "themenforum-2", "workshop_id": "tf2-ws3", "municipality": "Bochum", "registered": {"$gte": 1}}))

    mails = eventually(lambda: acknowledgements(stack, body["email"]))
    deliveries = mongo["themenforum_notify"].deliveries
    eventually(lambda: deliveries.find_one({"cause_event_id": event["id"], "status": "sent"}))
    assert len(mails) == 1
    assert "Registration received" in mails[0]["Subject"]
    assert "Themenforum 2" in mails[0].get_body(("plain",)).get_content()


def test_the_public_workshop_list_shows_seats_quotas_and_fill(stack, http):
    workshops = http.get(stack.url("registration", "/api/v1/workshops")).json()
    assert [w["id"] for w in workshops] == ["tf2-ws1", "tf2-ws2", "tf2-ws3"]
    for w in workshops:
        assert w["forum_id"] == "themenforum-2" and w["seats"] == 30
        assert set(w["quotas"]) == {"company", "research", "municipality", "chamber", "finance", "civil_society"}
        assert all(q["min"] <= q["max"] for q in w["quotas"].values())
        assert isinstance(w["waitlisted"], int) and isinstance(w["accepted"], dict)
        assert "email" not in str(w)


def test_a_second_submission_with_the_same_email_answers_with_the_existing_registration(stack, http):
    body = person()
    first = http.post(stack.url("registration", "/api/v1/registrations"), json=body)
    again = http.post(stack.url("registration", "/api/v1/registrations"), json={**body, "first_name": "Adah"})
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status_url"] is None  # the link is never handed out for a known address


def test_the_status_needs_the_token_or_staff_auth(stack, http):
    reg = http.post(stack.url("registration", "/api/v1/registrations"), json=person()).json()
    url = stack.url("registration", f"/api/v1/registrations/{reg['id']}")
    assert http.get(url).status_code == 404
    assert http.get(url, params={"token": "wrong"}).status_code == 404
    assert http.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.get(url, headers=stack.auth).status_code == 200


def test_every_service_answers_probes_metrics_and_asyncapi(stack, http):
    for name in stack.services:
        assert http.get(stack.url(name, "/healthz")).json() == {"status": "ok"}
        ready = http.get(stack.url(name, "/readyz")).json()
        assert ready == {"status": "ok", "checks": {"bus": True, "store": True}}
        http.get(stack.url(name, "/metrics"))  # timed at its first byte, so the next read shows it
        exposed = http.get(stack.url(name, "/metrics")).text.splitlines()
        # Counted by route template and status, for this service (the readiness probe above answered 200).
        assert _labelled(exposed, "themenforum_http_requests_total",
                         {"service": name, "method": "GET", "route": "/readyz", "status": "200"})
        assert _labelled(exposed, "themenforum_http_request_seconds_count", {"service": name, "route": "/metrics"})
        doc = http.get(stack.url(name, "/asyncapi")).json()
        assert doc["asyncapi"].startswith("3.") and doc["channels"]
        assert http.get(stack.url(name, "/openapi.json")).status_code == 200


def test_staff_apis_require_a_token(stack, http):
    assert http.get(stack.url("notify", "/api/v1/deliveries")).status_code == 401
    assert http.get(stack.url("notify", "/api/v1/deliveries"), headers=stack.auth).status_code == 200
    assert http.get(stack.url("agenda", "/api/v1/workshops/tf2-ws1/participation")).status_code == 401


def test_staff_log_in_once_in_the_browser_serves_every_service(stack):
    import httpx

    with httpx.Client(timeout=30) as browser:
        assert browser.get(stack.url("notify", "/api/v1/deliveries")).status_code == 401
        wrong = browser.post(stack.url("registration", "/staff/login"), data={"username": "admin", "password": "nope"})
        assert wrong.status_code == 401 and "falsch" in wrong.text
        stack.staff_session(browser)
        assert browser.get(stack.url("notify", "/api/v1/deliveries")).status_code == 200
        assert browser.get(stack.url("agenda", "/api/v1/workshops/tf2-ws1/participation")).status_code == 200


def test_every_page_carries_security_headers(stack, http):
    for name in stack.services:
        headers = http.get(stack.url(name, "/staff/login")).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"


def test_repeated_failed_log_ins_are_slowed_down(stack):
    import httpx

    with httpx.Client(timeout=30) as browser:
        codes = [browser.post(stack.url("results", "/staff/login"), data={"username": "admin", "password": f"guess{i}"}).status_code
                 for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]


def _labelled(lines: list[str], metric: str, labels: dict[str, str]) -> bool:
    """Whether a Prometheus text exposition has a sample of `metric` with these labels (in any order)."""
    return any(line.startswith(metric + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()) for line in lines)
