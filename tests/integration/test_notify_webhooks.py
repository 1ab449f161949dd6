"""Signed webhooks against the real stack: a receiver in the test verifies every call and sees each event once."""

from __future__ import annotations

import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from services.notify.webhooks import SIGNATURE_HEADER, verify
from shared import embedded
from tests.integration.test_notify_mail import soon, Person, consumed, new_forum
from tests.kafka import produce


class Receiver:
    """An HTTP endpoint that refuses the first call for each event (503) and accepts the rest."""

    def __init__(self, secret: str) -> None:
        self.secret, self.calls, self.lock = secret, [], threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                event = json.loads(body)
                with receiver.lock:
                    first = not any(c["id"] == event["id"] for c in receiver.calls)
                    receiver.calls.append({"id": event["id"], "type": event["type"], "event": event,
                                           "valid": verify(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body),
                                           "content_type": self.headers["Content-Type"], "status": 503 if first else 200,
                                           "delivery": self.headers.get("Themenforum-Delivery")})
                self.send_response(503 if first else 200)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", embedded.free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, event_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.calls if c["id"] == event_id]


@pytest.fixture
def receiver():
    r = Receiver(secrets.token_urlsafe(24))
    yield r
    r.server.shutdown()


def test_each_event_reaches_the_webhook_once_signed_despite_a_forced_retry(stack, http, mongo, receiver):
    hooks = stack.url("notify", "/api/v1/webhooks")
    created = http.post(hooks, headers=stack.auth, json={"url": receiver.url, "event_types": ["selection.decided"],
                                                          "secret": receiver.secret, "description": "Test"})
    assert created.status_code == 201 and created.json()["secret"] == receiver.secret
    hook_id = created.json()["id"]
    assert all("secret" not in h for h in http.get(hooks, headers=stack.auth).json())
    try:
        forum = new_forum(stack, mongo)
        people = [Person(forum) for _ in range(3)]
        decisions = [p.decided("accepted") for p in people]
        produce(stack.bootstrap, "forum.selection", decisions + [decisions[0]])  # one redelivered
        ids = [json.loads(v)["id"] for _, v in decisions]
        for event_id in ids:
            soon(lambda event_id=event_id: [c["status"] for c in receiver.of(event_id)] == [503, 200], timeout=60)

        marker = people[0].decided("rejected", workshop=None)  # same key, after the redelivered copy
        produce(stack.bootstrap, "forum.selection", [marker])
        soon(lambda: [c["status"] for c in receiver.of(json.loads(marker[1])["id"])] == [503, 200], timeout=60)
        assert consumed(mongo, [v for _, v in decisions])
        for event_id in ids:
            calls = receiver.of(event_id)
            assert len(calls) == 2 and sum(c["status"] == 200 for c in calls) == 1
            assert all(c["valid"] for c in calls) and calls[0]["delivery"] == calls[1]["delivery"]
            assert calls[0]["content_type"].startswith("application/cloudevents+json")
            event = calls[1]["event"]
            assert event["specversion"] == "1.0" and event["type"] == "selection.decided" and event["data"]["forum_id"] == forum

        log = http.get(stack.url("notify", "/api/v1/webhook-deliveries"), headers=stack.auth, params={"limit": 1000}).json()
        mine = [d for d in log if d["event_id"] in ids]
        assert len(mine) == 3 and all(d["status"] == "delivered" and d["attempts"] == 2 for d in mine)
        assert all("body" not in d for d in mine)
    finally:
        assert http.delete(f"{hooks}/{hook_id}", headers=stack.auth).status_code == 204
    assert http.delete(f"{hooks}/{hook_id}", headers=stack.auth).status_code == 404


def test_a_webhook_needs_a_url_and_known_event_types(stack, http):
    hooks = stack.url("notify", "/api/v1/webhooks")
    assert http.post(hooks, json={"url": "http://x.example/h", "event_types": ["*"]}).status_code == 401
    answer = http.post(hooks, headers=stack.auth, json={"url": "not a url", "event_types": ["no.such_event"]})
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"url", "event_types"}


def test_staff_register_a_webhook_in_the_browser_with_a_csrf_token(stack):
    with httpx.Client(timeout=30) as browser:
        assert browser.get(stack.url("notify", "/staff/webhooks"), follow_redirects=False).status_code == 303
        stack.staff_session(browser)
        page = browser.get(stack.url("notify", "/staff/webhooks"))
        assert page.status_code == 200 and 'for="url"' in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        form = {"url": "http://127.0.0.1:9/hook", "event_types": ["agenda.updated"], "description": "Presse"}
        assert browser.post(stack.url("notify", "/staff/webhooks"), data=form).status_code == 403
        bad = browser.post(stack.url("notify", "/staff/webhooks"), data={**form, "url": "kein Link", "csrf": csrf})
        assert bad.status_code == 422 and "error-summary" in bad.text
        good = browser.post(stack.url("notify", "/staff/webhooks"), data={**form, "csrf": csrf})
        assert good.status_code == 201 and "Geheimnis" in good.text and "http://127.0.0.1:9/hook" in good.text
        hook_id = re.search(r'action="/staff/webhooks/([^/]+)/delete"', good.text).group(1)
        gone = browser.post(stack.url("notify", f"/staff/webhooks/{hook_id}/delete"), data={"csrf": csrf}, follow_redirects=False)
        assert gone.status_code == 303
