"""Pure rules of the notify service: which mail a decision causes, agenda diffs, reminders, ICS, signatures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from services.notify.compose import build_message, sample
from services.notify.domain import TEMPLATES, decision_template, describe_changes, reminder_due_times, render
from services.notify.invitation import workshop_invitation
from services.notify.scheduler import plan_reminders
from services.notify.webhooks import is_retryable, sign, verify
from shared.events.catalogue import ForumConfigured

STATUSES = ["accepted", "waitlisted", "rejected", "cancelled"]


@pytest.mark.parametrize(("before", "after", "expected"), [
    (None, ("accepted", "w1"), "accepted"),
    (None, ("waitlisted", "w1"), "waitlisted"),
    (None, ("rejected", None), "rejected"),
    (("waitlisted", "w1"), ("accepted", "w1"), "moved_up"),
    (("accepted", "w1"), ("accepted", "w2"), "accepted"),
    (("accepted", "w1"), ("accepted", "w1"), None),
    (("waitlisted", "w1"), ("waitlisted", "w1"), None),
    (("accepted", "w1"), ("cancelled", None), "cancelled"),
    (("cancelled", None), ("cancelled", None), None),
])
def test_a_decision_change_causes_exactly_the_right_mail(before, after, expected):
    previous = {"status": before[0], "workshop_id": before[1]} if before else None
    assert decision_template(previous, after[0], after[1]) == expected


@given(st.sampled_from(STATUSES), st.sampled_from(["w1", "w2", None]), st.sampled_from(STATUSES), st.sampled_from(["w1", "w2", None]))
def test_repeating_the_current_decision_never_sends_a_mail(status, ws, _other, _ws2):
    assert decision_template({"status": status, "workshop_id": ws}, status, ws) is None


@given(st.sampled_from(STATUSES), st.sampled_from(STATUSES))
def test_every_change_of_status_sends_a_known_template(before, after):
    template = decision_template({"status": before, "workshop_id": "w1"}, after, "w1")
    assert (template is None) == (before == after)
    assert template is None or template in TEMPLATES


def test_agenda_changes_read_as_lines_in_local_time():
    items = [{"item_id": "a", "title": "Arbeitsphase", "starts_at": "2027-03-25T09:30:00+00:00",
              "ends_at": "2027-03-25T11:00:00+00:00", "room": "R2"}]
    diff = {"added": [{"item_id": "b", "title": "Pause", "starts_at": "2027-03-25T11:00:00Z", "ends_at": "2027-03-25T11:15:00Z"}],
            "removed": [],
            "changed": [{"item_id": "a", "before": {"starts_at": "2027-03-25T09:00:00+00:00", "room": "R1"},
                         "after": {"starts_at": "2027-03-25T09:30:00+00:00", "room": "R2"}}]}
    de = describe_changes(diff, items, "de", "Europe/Berlin")
    assert de == ["Neu: 12:00–12:15 Pause", "Geändert: Arbeitsphase: Raum R1 → R2; Beginn 10:00 → 10:30"]
    assert describe_changes(diff, items, "en", "Europe/Berlin")[1].startswith("Changed: Arbeitsphase: Room R1 → R2")
    assert describe_changes(None, items, "de", "Europe/Berlin") == []


def test_reminders_are_due_at_nine_local_time_and_only_when_still_ahead():
    due = reminder_due_times(date(2027, 3, 25), "Europe/Berlin", [7, 1])
    assert due[7].astimezone(UTC) == datetime(2027, 3, 18, 8, 0, tzinfo=UTC)
    assert due[1].astimezone(UTC) == datetime(2027, 3, 24, 8, 0, tzinfo=UTC)
    forum = ForumConfigured(forum_id="f", title="F", starts_on=date(2027, 3, 25))
    assert len(plan_reminders(forum, [7, 1], datetime(2027, 1, 1, tzinfo=UTC))) == 2
    late = plan_reminders(forum, [7, 1], datetime(2027, 3, 20, tzinfo=UTC))
    assert [r["days_before"] for r in late] == [1]
    again = plan_reminders(forum, [7, 1], datetime(2027, 1, 2, tzinfo=UTC))
    assert {r["_id"] for r in again} == {r["_id"] for r in plan_reminders(forum, [7, 1], datetime(2027, 1, 1, tzinfo=UTC))}
    moved = plan_reminders(forum.model_copy(update={"starts_on": date(2027, 4, 1)}), [7], datetime(2027, 1, 1, tzinfo=UTC))
    assert moved[0]["_id"] not in {r["_id"] for r in again}
    assert plan_reminders(forum.model_copy(update={"starts_on": None}), [7], datetime(2027, 1, 1, tzinfo=UTC)) == []


def test_the_invitation_keeps_its_uid_and_raises_its_sequence_with_the_agenda_version():
    items = [{"item_id": "a", "starts_at": "2027-03-25T08:00:00+00:00", "ends_at": "2027-03-25T15:00:00+00:00", "title": "WS"}]
    args = dict(workshop_id="ws1", workshop_title="W", forum_title="F", venue="Essen", day=date(2027, 3, 25),
                tz="Europe/Berlin", organiser="tf@example.org", attendee="a@example.org", stamp=datetime.now(UTC))
    first = Calendar.from_ical(workshop_invitation(items=[], version=0, **args)).walk("VEVENT")[0]
    later = Calendar.from_ical(workshop_invitation(items=items, version=3, **args)).walk("VEVENT")[0]
    assert str(first["UID"]) == str(later["UID"]) == "workshop-ws1@themenforum"
    assert int(first["SEQUENCE"]) == 0 and int(later["SEQUENCE"]) == 3
    assert first.decoded("dtstart").hour == 9 and later.decoded("dtstart").hour == 9  # local time either way
    assert later.decoded("dtend") - later.decoded("dtstart") == timedelta(hours=7)


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_template_renders_in_both_languages_with_sample_data(template, lang):
    delivery, context = sample(template, lang)
    if template == "acknowledgement":
        context = {**context, "first_name": "Ada", "last_name": "Beispiel"}
    mail = render(template, lang, context)
    assert mail.subject and "Ada" in mail.text and "Ada" in mail.html
    assert f'lang="{lang}"' in mail.html
    message = build_message(delivery, context, mail_from="Themenforum <tf@example.org>")
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    calendars = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(calendars) == (1 if template in ("accepted", "moved_up", "agenda_changed", "reminder") else 0)
    for part in calendars:
        assert Calendar.from_ical(part.get_content()).walk("VEVENT")


def test_a_receiver_verifies_the_signature_and_refuses_tampering_and_replays():
    body = b'{"id":"1"}'
    header = sign("s3cret-s3cret-s3cret", 1_800_000_000, body)
    assert header.startswith("t=1800000000,v1=")
    assert verify("s3cret-s3cret-s3cret", header, body, now=1_800_000_010)
    assert not verify("s3cret-s3cret-s3cret", header, body + b" ", now=1_800_000_010)
    assert not verify("other-secret-value", header, body, now=1_800_000_010)
    assert not verify("s3cret-s3cret-s3cret", header, body, now=1_800_001_000)
    assert not verify("s3cret-s3cret-s3cret", "garbage", body)


def test_only_transient_http_answers_are_retried():
    assert is_retryable(None) and is_retryable(500) and is_retryable(503) and is_retryable(429)
    assert not is_retryable(400) and not is_retryable(404) and not is_retryable(410)
