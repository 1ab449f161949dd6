"""Reminders fire once: with two notify instances racing for them, and across a restart."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import httpx

from shared import embedded
from shared.embedded import Child
from shared.launcher import wait_ready
from tests.integration.test_notify_mail import soon, Person, mails_of, new_forum, settled
from tests.kafka import produce

STARTS_ON = date(2027, 1, 20)  # reminders due 2027-01-13 and 2027-01-19, 09:00 Berlin (08:00 UTC)
WEEK_BEFORE = datetime(2027, 1, 13, 12, 0, tzinfo=UTC)
DAY_BEFORE = datetime(2027, 1, 19, 12, 0, tzinfo=UTC)


def second_instance(stack, clock: datetime, name: str, *, wait: bool = True) -> Child:
    """Another notify process on the same store, its clock set to `clock`.

    It runs in the `workers` role (scheduler and senders, no consumer groups): the reminder claim does not
    depend on the bus, and joining seven consumer groups would cost about a minute on the embedded broker.
    Start it from the main thread: the child gets SIGTERM when the thread that started it ends.
    """
    offset = (clock - datetime.now(UTC)).total_seconds()
    child = embedded.service("notify", embedded.free_port(), {
        **stack.env, "NOTIFY_CLOCK_OFFSET_S": str(offset), "REMINDER_POLL_INTERVAL_S": "0.2", "NOTIFY_ROLE": "workers"},
        stack.logs / f"{name}.log")
    child.start()
    if wait:
        wait_ready(child, timeout=90)
    return child


def reminders(stack, http, forum):
    return {r["days_before"]: r for r in http.get(stack.url("notify", "/api/v1/reminders"), headers=stack.auth,
                                                   params={"forum_id": forum}).json()}


def run_at(url: str, token_headers: dict[str, str], when: datetime) -> list[str]:
    answer = httpx.post(url, json={"now": when.isoformat()}, headers=token_headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["fired"]


def test_reminders_fire_once_with_two_instances_and_across_a_restart(stack, http, mongo):
    forum = new_forum(stack, mongo, starts_on=STARTS_ON)
    people = [Person(forum, lang) for lang in ("de", "en", "de")]
    waiting = Person(forum)
    produce(stack.bootstrap, "forum.registrations", [p.submitted() for p in (*people, waiting)])
    produce(stack.bootstrap, "forum.selection", [*(p.decided("accepted") for p in people), waiting.decided("waitlisted", position=1)])
    soon(lambda: all(mails_of(stack, p, "accepted") for p in people) and mails_of(stack, waiting, "waitlisted"))
    planned = soon(lambda: len(r := reminders(stack, http, forum)) == 2 and r)
    assert {r["status"] for r in planned.values()} == {"scheduled"}
    week_id = planned[7]["id"]

    # Instance B starts with its clock a week before the forum, while instance A is asked six times at once to fire.
    a_run = stack.url("notify", "/api/v1/reminders/run")
    child = second_instance(stack, WEEK_BEFORE, "notify-b", wait=False)
    try:
        with ThreadPoolExecutor(6) as pool:
            calls = [pool.submit(run_at, a_run, stack.auth, WEEK_BEFORE) for _ in range(6)]
            wait_ready(child, timeout=90)
            fired = [f for fut in calls for f in fut.result()]
        assert fired.count(planned[7]["id"]) <= 1  # B's own loop may have been first
        soon(lambda: reminders(stack, http, forum)[7]["status"] == "fired")
        assert reminders(stack, http, forum)[1]["status"] == "scheduled"

        # Both instances race for the day-before reminder: exactly one call wins it.
        b_run = f"http://127.0.0.1:{child.port}/api/v1/reminders/run"
        with ThreadPoolExecutor(8) as pool:
            calls = [pool.submit(run_at, url, stack.auth, DAY_BEFORE) for url in [a_run, b_run] * 4]
            fired = [f for fut in calls for f in fut.result()]
        assert fired.count(planned[1]["id"]) == 1
    finally:
        child.stop(grace=8)

    # B restarts with its clock the day before: both reminders are due, both fired already: nothing goes out again.
    child = second_instance(stack, DAY_BEFORE, "notify-b2")
    try:
        assert run_at(f"http://127.0.0.1:{child.port}/api/v1/reminders/run", stack.auth, DAY_BEFORE) == []
        soon(lambda: settled(mongo))
        for p in people:
            soon(lambda p=p: len(mails_of(stack, p, "reminder")) == 2)
        time.sleep(1)  # a few more ticks of B's scheduler loop
        assert all(r["status"] == "fired" for r in reminders(stack, http, forum).values())
    finally:
        child.stop(grace=8)

    for p in people:
        subjects = sorted(m["Subject"] for m in mails_of(stack, p, "reminder"))
        assert len(subjects) == 2, subjects
        if p.language == "de":
            assert any("in 7 Tagen" in s for s in subjects) and any("ist morgen" in s for s in subjects)
        else:
            assert any("in 7 days" in s for s in subjects) and any("is tomorrow" in s for s in subjects)
    assert not mails_of(stack, waiting, "reminder")
    assert mongo["themenforum_notify"].deliveries.count_documents(
        {"template": "reminder", "forum_id": forum}) == 2 * len(people)
