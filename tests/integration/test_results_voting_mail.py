"""Voting links by mail against the real stack: opening the voting mails each accepted person their link, once."""

from __future__ import annotations

import re
import time
import uuid

from shared.testing import eventually
from tests.integration.selection_support import decided, make_forum, register

LINK = re.compile(r"(http://\S+/abstimmung/[A-Za-z0-9_=-]+)(\?lang=en)?")


def voting_mails(stack, email: str) -> list:
    return [m for m in stack.mails(to=email) if m["X-Themenforum-Template"] == "voting_link"]


def link_in(message) -> str:
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    found = LINK.search(text)
    assert found and found.group(1) in html, text
    return found.group(0)


def test_opening_the_voting_mails_each_accepted_person_one_working_link_and_no_one_else(stack, http):
    forum, (ws,) = make_forum(stack, http, [{"seats": 3}])
    address = [f"vote.{uuid.uuid4().hex[:10]}@example.org" for _ in range(5)]
    people, statuses = [], []
    for n in range(5):  # one after the other: submissions land on different partitions, so wait for each decision
        people.append(register(stack, http, forum, [ws], email=address[n], language="en" if n == 1 else "de"))
        statuses.append(decided(http, people[-1])["status"])
    assert statuses == ["accepted"] * 3 + ["waitlisted"] * 2
    links_url = stack.url("results", f"/api/v1/workshops/{ws}/voting-links")
    eventually(lambda: len(http.get(links_url, headers=stack.auth).json()) == 3, timeout=40)
    sketch = http.post(stack.url("results", f"/api/v1/workshops/{ws}/sketches"), headers=stack.auth,
                       json={"title": "Gemeinsamer Förderlotse"}).json()

    open_url = stack.url("results", f"/api/v1/workshops/{ws}/voting/open")
    assert http.post(open_url).status_code == 401
    opened = http.post(open_url, headers=stack.auth)
    assert opened.status_code == 200 and opened.json() == {"workshop_id": ws, "opened": True, "links_requested": 3}
    assert http.post(open_url, headers=stack.auth).json() == {"workshop_id": ws, "opened": False, "links_requested": 0}

    tokens = []
    for n in range(3):
        (mail,) = eventually(lambda n=n: voting_mails(stack, address[n]), timeout=60)
        url, english = link_in(mail), n == 1
        assert ("Your personal voting link" if english else "Ihr persönlicher Abstimmungslink") in mail["Subject"]
        assert "Workshop 1" in mail["Subject"] and url.endswith("?lang=en") == english
        page = http.get(url)
        assert page.status_code == 200 and "Gemeinsamer Förderlotse" in page.text
        assert ("Place one dot" if english else "Einen Punkt vergeben") in page.text
        tokens.append(url.split("/abstimmung/", 1)[1].split("?")[0])
        voted = http.post(url.split("?")[0], data={"target_id": sketch["sketch_id"], "request_id": f"mail-{n}"},
                          follow_redirects=False)
        assert voted.status_code == 303
        assert http.get(stack.url("results", f"/api/v1/votes/{tokens[-1]}")).json()["used"] == 1
    assert len(set(tokens)) == 3
    tally = http.get(stack.url("results", f"/api/v1/workshops/{ws}/results"), headers=stack.auth).json()["tally"]
    assert tally[sketch["sketch_id"]] == 3

    # A cancellation moves the first waiting person up: the voting is open, so their link follows by mail.
    cancel = http.post(people[0]["status_url"].replace(f"/{people[0]['id']}?", f"/{people[0]['id']}/cancel?"))
    assert cancel.status_code == 200
    (moved,) = eventually(lambda: voting_mails(stack, address[3]), timeout=60)
    assert http.get(link_in(moved)).status_code == 200
    eventually(lambda: http.get(stack.url("results", f"/api/v1/votes/{tokens[0]}")).status_code == 404)
    time.sleep(2)  # room for a wrong second mail to arrive
    assert [len(voting_mails(stack, a)) for a in address] == [1, 1, 1, 1, 0]
    for name in ("results", "notify", "registration"):
        log = stack.service_log(name)
        assert not any(token in log for token in tokens), f"a voting token in the {name} log"
