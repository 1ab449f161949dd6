"""Pure forum set-up rules: staff input, reductions and who they displace, clones, registration windows, invitation CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.registration.domain import window_reason, window_text
from services.registration.invitation_rules import parse_invitees
from services.registration.selection import WorkshopFill
from services.registration.setup_domain import (
    ForumWrite, Seated, WorkshopWrite, clone_of, displaced, due_transition, reduction_conflicts, slug, window_cause,
)
from shared.events.catalogue import ForumConfigured, ForumStatus, WorkshopConfigured

T0 = datetime(2029, 1, 10, 9, 0, tzinfo=UTC)


def fields(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.value.errors()}


def test_forum_input_errors_name_their_field_in_german():
    with pytest.raises(ValidationError) as exc:
        ForumWrite(title="Forum", starts_on=date(2029, 3, 2), ends_on=date(2029, 3, 1), contact_email="kein",
                   registration_opens_at=T0, registration_closes_at=T0 - timedelta(hours=1))
    assert fields(exc) == {"ends_on", "contact_email", "registration_closes_at"}
    assert "nach ihrer Öffnung" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        ForumWrite(title="Forum", registration_opens_at=datetime(2029, 1, 1, 9, 0))
    assert fields(exc) == {"registration_opens_at"} and "Zeitzone" in str(exc.value)


def test_workshop_input_refuses_more_reserved_than_seats_and_a_minimum_above_the_maximum():
    with pytest.raises(ValidationError) as exc:
        WorkshopWrite(title="Workshop", seats=3, reserved_seats=4, quotas={"company": {"min": 3, "max": 2}})
    assert fields(exc) == {"reserved_seats", "quotas"}


def make_fill(accepted: dict[str, int], orgs: dict[str, int] | None = None) -> WorkshopFill:
    return WorkshopFill("w1", 1, "Workshop", seats=10, reserved_seats=0, quotas={}, accepted=sum(accepted.values()),
                        by_group=dict(accepted), by_org=orgs or {"org": sum(accepted.values())})


def config(seats: int, reserved: int = 0, quotas: dict | None = None, cap: int | None = None) -> WorkshopConfigured:
    return WorkshopConfigured(workshop_id="w1", forum_id="f", number=1, title="Workshop", seats=seats, reserved_seats=reserved,
                              quotas=quotas or {}, organisation_cap=cap)


def test_reductions_below_current_decisions_are_named_per_field():
    fill = make_fill({"company": 3, "municipality": 2})
    assert reduction_conflicts(fill, config(10), 0) == []
    assert [c.field for c in reduction_conflicts(fill, config(4), 0)] == ["seats"]
    assert [c.field for c in reduction_conflicts(fill, config(10, reserved=6), 0)] == ["seats"]
    lowered = reduction_conflicts(fill, config(10, quotas={"company": {"min": 0, "max": 2}}), 0)
    assert [(c.field, c.code) for c in lowered] == [("quotas.company.max", "quota_below_accepted")]
    assert [c.code for c in reduction_conflicts(fill, config(10, reserved=1), 2)] == ["reserved_below_invited"]


def test_the_latest_accepted_leave_first_and_only_as_many_as_needed():
    fill = make_fill({"company": 3, "municipality": 2}, {"a": 2, "b": 3})
    latest_first = [Seated("r5", "company", "b"), Seated("r4", "municipality", "b"), Seated("r3", "company", "a"),
                    Seated("r2", "municipality", "a"), Seated("r1", "company", "b")]
    out = displaced(latest_first, fill, config(10, quotas={"company": {"min": 0, "max": 1}}))
    assert [(p.registration_id, r) for p, r in out] == [("r5", "group_full"), ("r3", "group_full")]
    assert [p.registration_id for p, _ in displaced(latest_first, fill, config(4))] == ["r5"]
    assert [(p.registration_id, r) for p, r in displaced(latest_first, fill, config(10, cap=2))] == [("r5", "organisation_cap")]


@given(st.lists(st.sampled_from(["company", "research", "municipality"]), min_size=0, max_size=30),
       st.integers(0, 30), st.integers(0, 10))
def test_after_displacement_the_rest_fits_the_new_configuration(groups, seats, company_max):
    people = [Seated(f"r{i}", g, f"o{i % 3}") for i, g in enumerate(groups)]
    counts: dict[str, int] = {}
    for p in people:
        counts[p.group] = counts.get(p.group, 0) + 1
    orgs: dict[str, int] = {}
    for p in people:
        orgs[p.org] = orgs.get(p.org, 0) + 1
    fill = make_fill(counts, orgs)
    new = config(seats, quotas={"company": {"min": 0, "max": company_max}}, cap=4)
    gone = {p.registration_id for p, _ in displaced(list(reversed(people)), fill, new)}
    rest = [p for p in people if p.registration_id not in gone]
    assert len(rest) <= seats
    assert sum(p.group == "company" for p in rest) <= company_max
    assert all(sum(p.org == o for p in rest) <= 4 for o in orgs)
    if not reduction_conflicts(fill, new, 0):
        assert not gone


def forum(**update) -> ForumConfigured:
    return ForumConfigured(forum_id="f", title="Forum", **update)


def test_windows_switch_once_at_the_configured_times():
    window = {"registration_opens_at": T0, "registration_closes_at": T0 + timedelta(days=7)}
    assert due_transition(forum(**window), T0 - timedelta(seconds=1)) is None
    assert due_transition(forum(**window), T0) == "open"
    assert due_transition(forum(**window, status=ForumStatus.open), T0 + timedelta(days=1)) is None
    assert due_transition(forum(**window, status=ForumStatus.open), T0 + timedelta(days=7)) == "close"
    assert due_transition(forum(**window, status=ForumStatus.archived), T0) is None
    assert due_transition(forum(**window), T0 + timedelta(days=8)) is None  # never opened: nothing to close
    assert window_cause(forum(**window), "open") != window_cause(forum(**{**window, "registration_opens_at": T0 + timedelta(hours=1)}), "open")


def test_the_form_says_when_registration_opens_or_that_it_closed():
    draft = forum(registration_opens_at=T0, registration_closes_at=T0 + timedelta(days=1))
    assert window_reason(draft, T0 - timedelta(days=1)) == "registration_not_open"
    assert window_text(draft, T0 - timedelta(days=1)) == "Die Anmeldung öffnet am 10.01.2029 um 10:00 Uhr."
    assert window_reason(draft, T0 + timedelta(days=2)) == "registration_closed"
    assert "geschlossen" in window_text(draft, T0 + timedelta(days=2))


def test_a_clone_is_a_draft_with_new_ids_and_no_dates():
    original = forum(status=ForumStatus.open, starts_on=date(2029, 3, 1), privacy_notice_text="Text", revision=7)
    workshops = [config(10, quotas={"company": {"min": 1, "max": 3}}), config(5).model_copy(update={"workshop_id": "w2", "number": 2, "removed": True})]
    copy, copies = clone_of(original, workshops, "neu", None)
    assert (copy.forum_id, copy.status, copy.starts_on, copy.revision, copy.privacy_notice_text) == ("neu", "draft", None, 1, "Text")
    assert copy.title == "Kopie von Forum"
    assert [(w.workshop_id, w.forum_id, w.quotas) for w in copies] == [("neu-ws1", "neu", workshops[0].quotas)]
    assert slug("Themenforum 3: Übergänge & Straßen") == "themenforum-3-ubergange-strassen"


def test_the_invitation_csv_reads_german_or_english_headers_and_reports_every_bad_line():
    workshops = {1: "f-ws1", 2: "f-ws2"}
    good, errors = parse_invitees("Name;E-Mail;Organisation;Akteursgruppe;Workshop\nErika Muster;e@x.org;Stadt;Kommunen und Verwaltung;2\n",
                                  workshops)
    assert errors == [] and (good[0].first_name, good[0].last_name, good[0].actor_group, good[0].workshop_id) == (
        "Erika", "Muster", "municipality", "f-ws2")
    _, errors = parse_invitees("first_name,last_name,email,organisation,actor_group,workshop\n,X,bad,,alien,f-ws9\n", workshops)
    assert {(e.line, e.field) for e in errors} == {(2, "email"), (2, "organisation"), (2, "actor_group"), (2, "workshop")}
    _, errors = parse_invitees("Name;E-Mail\nA;b@c.de\n", workshops)
    assert errors[0].field == "csv" and "organisation" in errors[0].message
