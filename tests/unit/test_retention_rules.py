"""Retention dates, states and the export's shape (pure rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.events.catalogue import ForumConfigured
from services.registration.retention_rules import (
    erase_everywhere, notice_id, registration_export, retention_due_at, retention_state,
)


def forum(**fields) -> ForumConfigured:
    return ForumConfigured(forum_id="f-1", title="Forum", **fields)


def test_retention_counts_whole_days_after_the_last_day_in_the_forum_s_time_zone():
    due = retention_due_at(forum(starts_on=date(2027, 3, 24), ends_on=date(2027, 3, 25)), 180)
    assert due == datetime(2027, 9, 22, 0, 0, tzinfo=due.tzinfo) and due.utcoffset().total_seconds() == 7200
    assert retention_due_at(forum(starts_on=date(2027, 3, 25)), 0).date() == date(2027, 3, 26)


def test_a_forum_s_own_period_overrides_the_default_even_when_it_is_zero():
    assert retention_due_at(forum(starts_on=date(2027, 1, 10), retention_days=0), 180).date() == date(2027, 1, 11)
    assert retention_due_at(forum(starts_on=date(2027, 1, 10), retention_days=30), 180).date() == date(2027, 2, 10)


def test_without_a_date_nothing_is_due_and_the_state_says_so():
    assert retention_due_at(forum(), 180) is None
    now = datetime(2027, 1, 1, tzinfo=UTC)
    assert retention_state(None, None, now) == "no_date"
    assert retention_state(datetime(2027, 1, 2, tzinfo=UTC), None, now) == "pending"
    assert retention_state(datetime(2026, 12, 31, tzinfo=UTC), None, now) == "due"
    assert retention_state(datetime(2026, 12, 31, tzinfo=UTC), now, now) == "anonymised"


def test_a_person_is_erased_everywhere_only_when_all_their_other_fora_have_expired():
    assert erase_everywhere(set(), {"a"})
    assert erase_everywhere({"b"}, {"a", "b"})
    assert not erase_everywhere({"b", "c"}, {"a", "b"})


def test_each_wording_of_a_notice_version_has_its_own_id():
    assert notice_id("f", "1", "Text") == notice_id("f", "1", "Text")
    assert notice_id("f", "1", "Text") != notice_id("f", "1", "Text, neu gefasst")
    assert notice_id("f", "1", "Text") != notice_id("f", "2", "Text")


def test_the_export_never_carries_the_token_hash_or_other_people_s_ids():
    doc = {"_id": "r1", "forum_id": "f", "first_name": "Ada", "email": "ada@example.org", "token_hash": "secret",
           "email_lower": "ada@example.org", "near_duplicate_of": ["r9"], "consent_version": "2",
           "decision_history": [{"status": "accepted"}]}
    out = registration_export(doc, {"text": "Hinweis", "recorded_at": None}, None, "Forum")
    assert "secret" not in str(out) and "r9" not in str(out)
    assert out["flagged_as_possible_duplicate"] is True and out["consent"]["text"] == "Hinweis"
    assert out["decision_history"] == [{"status": "accepted"}] and "invitation" not in out
