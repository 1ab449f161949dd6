"""Consumer-group scale-out: two notify instances share the partitions and still send each mail once, one killed mid-stream."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx

from shared.launcher import wait_ready
from tests.integration.test_notify_mail import Person, new_forum, settled, soon
from tests.integration.test_notify_reminders import DAY_BEFORE, WEEK_BEFORE, reminders, run_at
from tests.kafka import produce

STARTS_ON = date(2027, 1, 20)  # the reminder test's dates: due 2027-01-13 and 2027-01-19


def handled(url: str, type_: str = "selection.decided") -> float:
    """Events of a type this instance handled, from its /metrics."""
    total = 0.0
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("themenforum_events_consumed_total{") and f'type="{type_}"' in line and 'outcome="handled"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_two_instances_share_the_partitions_and_send_each_mail_once_when_one_is_killed(stack, http, mongo):
    forum = new_forum(stack, mongo, starts_on=STARTS_ON)
    people = [Person(forum, "en" if n % 3 == 0 else "de") for n in range(48)]
    produce(stack.bootstrap, "forum.registrations", [p.submitted() for p in people])
    a_url = stack.url("notify")
    b = stack.extra_instance("notify", "notify-scale-b")
    b.start()
    try:
        wait_ready(b, timeout=120)
        b_url = f"http://127.0.0.1:{b.port}"
        # Decisions in small rounds until the groups have rebalanced (B joins after it is ready) and B handles its share.
        sent, deadline = 0, time.monotonic() + 180
        while handled(b_url) == 0 or sent < 8:
            assert time.monotonic() < deadline and sent < 36, f"B never got a partition ({sent} decisions sent)"
            batch = people[sent:sent + 2]
            produce(stack.bootstrap, "forum.selection", [p.decided("accepted") for p in batch])
            sent += len(batch)
            soon(lambda batch=batch: all(by_person(stack, batch, "accepted").values()), timeout=120)
            time.sleep(4)
        a_before, b_before = handled(a_url), handled(b_url)
        assert a_before > 0 and b_before > 0  # both instances consume forum.selection: the partitions are shared
        first = people[:sent]

        # Both instances race for the week-before reminder: one call wins it.
        planned = soon(lambda: len(r := reminders(stack, http, forum)) == 2 and r)
        with ThreadPoolExecutor(8) as pool:
            calls = [pool.submit(run_at, f"{url}/api/v1/reminders/run", stack.auth, WEEK_BEFORE) for url in [a_url, b_url] * 4]
            fired = [f for call in calls for f in call.result()]
        assert fired.count(planned[7]["id"]) == 1

        # The rest of the decisions arrive while B is killed: A takes over B's partitions after the rebalance.
        rest = people[sent:]
        produce(stack.bootstrap, "forum.selection", [p.decided("accepted") for p in rest[: len(rest) // 2]])
        time.sleep(0.3)
        b.kill()
        produce(stack.bootstrap, "forum.selection", [p.decided("accepted") for p in rest[len(rest) // 2:]])
    finally:
        b.stop(grace=3)
    soon(lambda: all(by_person(stack, people, "accepted").values()), timeout=180)
    assert run_at(f"{a_url}/api/v1/reminders/run", stack.auth, DAY_BEFORE) == [planned[1]["id"]]
    soon(lambda: settled(mongo), timeout=150)
    expected = {p.email: 2 if p in first else 1 for p in people}
    soon(lambda: distinct(by_person(stack, people, "reminder")) == expected, timeout=60)
    time.sleep(2)  # room for a wrong second mail
    accepted, reminded = by_person(stack, people, "accepted"), by_person(stack, people, "reminder")
    # Exactly once per Message-ID. A killed instance may have had a mail accepted by the SMTP server and not yet
    # recorded as sent: that mail goes out again with the same Message-ID (the window services/notify/README.md
    # describes), so raw copies are counted and shown, not failed.
    assert distinct(accepted) == {p.email: 1 for p in people}
    assert distinct(reminded) == expected
    copies = sum(len(m) for m in accepted.values()) + sum(len(m) for m in reminded.values()) - len(people) - sum(expected.values())
    print(f"scale-out: {len(people)} acceptances, {sum(expected.values())} reminders, {copies} resent copies (same Message-ID)")
    assert copies <= 4  # at most what B's four SMTP workers can have had in flight when it was killed
    english = [m for p in people if p.language == "en" for m in accepted[p.email]]
    assert english and all(str(m["Subject"]).startswith("Confirmed") for m in english)
    assert handled(a_url) > a_before  # A handled what B left behind


def distinct(mails: dict[str, list]) -> dict[str, int]:
    """Different messages per person (a resend after a crash carries the same Message-ID)."""
    return {email: len({str(m["Message-ID"]) for m in ms}) for email, ms in mails.items()}


def by_person(stack, people: list[Person], template: str) -> dict[str, list]:
    """Each person's mails of a template, from one pass over the sink (parsing it per person is slow)."""
    out: dict[str, list] = {p.email: [] for p in people}
    for message in stack.mails():
        to = str(message["To"]).lower()
        if message["X-Themenforum-Template"] == template and to in out:
            out[to].append(message)
    return out
