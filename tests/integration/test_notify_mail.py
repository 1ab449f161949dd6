"""Decision and agenda mails against the real stack: exactly once, right person, right language, parsable ICS."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from icalendar import Calendar

from shared.events import encode, make_event, utcnow
from shared.events.agenda import AgendaDiff, AgendaItemData, AgendaPublished, AgendaUpdated
from shared.events.catalogue import ForumConfigured, WorkshopConfigured
from shared.events.registrations import RegistrationSubmitted
from shared.events.selection import SelectionDecided
from shared.testing import eventually
from tests.conftest import person
from tests.kafka import events, produce, read_topic


# Helpers (the other notify test modules import them) ------------------------------------------

def soon(check: Any, timeout: float = 60.0) -> Any:
    """`eventually` with room for a busy 2-core machine shared by several test sessions."""
    return eventually(check, timeout=timeout)


_WARM: set[str] = set()


def warm_up(stack: Any, mongo: Any) -> None:
    """Wait once per session until notify consumes every topic these tests use (group joins are slow at start)."""
    if stack.bootstrap in _WARM:
        return
    forum_id = f"warm-{uuid.uuid4().hex[:6]}"
    who = Person(forum_id)
    agenda = make_event("agenda.published", subject=f"{forum_id}-ws1", source="test", data=AgendaPublished(
        workshop_id=f"{forum_id}-ws1", forum_id=forum_id, version=1, items=[]))
    catalogue = make_event("forum.configured", subject=forum_id, source="test", data=ForumConfigured(forum_id=forum_id, title="Warm"))
    values = [who.submitted()[1], who.decided("rejected", workshop=None)[1], encode(agenda), encode(catalogue)]
    for topic, value in zip(("forum.registrations", "forum.selection", "forum.agenda", "forum.catalogue"), values):
        produce(stack.bootstrap, topic, [(forum_id.encode(), value)])
    soon(lambda: consumed(mongo, values), timeout=120)
    _WARM.add(stack.bootstrap)


def new_forum(stack: Any, mongo: Any, starts_on: date = date(2027, 6, 10), workshops: int = 2) -> str:
    """A forum of its own for one test, so counts are not disturbed by other tests."""
    warm_up(stack, mongo)
    forum_id = f"nt-{uuid.uuid4().hex[:8]}"
    items = [(forum_id.encode(), encode(make_event("forum.configured", subject=forum_id, source="test", data=ForumConfigured(
        forum_id=forum_id, title=f"Testforum {forum_id}", venue="Essen", starts_on=starts_on, ends_on=starts_on,
        contact_email="tf@example.org"))))]
    for n in range(1, workshops + 1):
        items.append((forum_id.encode(), encode(make_event("workshop.configured", subject=f"{forum_id}-ws{n}", source="test",
                      data=WorkshopConfigured(workshop_id=f"{forum_id}-ws{n}", forum_id=forum_id, number=n,
                                              title=f"Werkstatt {n}", seats=30)))))
    produce(stack.bootstrap, "forum.catalogue", items)
    soon(lambda: mongo["themenforum_notify"].catalogue_workshops.count_documents({"forum_id": forum_id}) == workshops)
    return forum_id


class Person:
    """A made-up participant whose events the test produces itself."""

    def __init__(self, forum_id: str, language: str = "de") -> None:
        self.forum_id, self.language = forum_id, language
        self.registration_id, self.participant_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.email = person()["email"]
        self.seq = 0

    def submitted(self) -> tuple[bytes, bytes]:
        event = make_event("registration.submitted", subject=self.registration_id, source="test", data=RegistrationSubmitted(
            registration_id=self.registration_id, forum_id=self.forum_id, participant_id=self.participant_id,
            first_name="Ada", last_name=f"Test-{self.language}", email=self.email, organisation="Test GmbH",
            actor_group="company", municipality="Essen", preferences=[f"{self.forum_id}-ws1"],
            language=self.language, consent_version="1", submitted_at=utcnow()))
        return self.registration_id.encode(), encode(event)

    def decided(self, status: str, workshop: int | None = 1, position: int | None = None, seq: int | None = None) -> tuple[bytes, bytes]:
        if seq is None:
            self.seq += 1
        event = make_event("selection.decided", subject=self.registration_id, source="test", data=SelectionDecided(
            registration_id=self.registration_id, forum_id=self.forum_id, participant_id=self.participant_id,
            status=status, workshop_id=f"{self.forum_id}-ws{workshop}" if workshop else None, waitlist_position=position,
            actor_group="company", language=self.language, explanation="Testbegründung.", decision_seq=seq or self.seq))
        return self.registration_id.encode(), encode(event)


def mails_of(stack: Any, who: Person, template: str | None = None) -> list[Any]:
    return [m for m in stack.mails(to=who.email)
            if template is None or m["X-Themenforum-Template"] == template]


def decision_mails(stack: Any, who: Person) -> list[Any]:
    return [m for m in stack.mails(to=who.email) if m["X-Themenforum-Template"] != "acknowledgement"]


def invitation(message: Any) -> Any:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in message.walk()]
    return Calendar.from_ical(parts[0].get_content()).walk("VEVENT")[0]


def consumed(mongo: Any, event_values: list[bytes]) -> bool:
    """Has notify handled (or skipped as duplicate) these events? Their outbox records say so."""
    ids = [json.loads(v)["id"] for v in event_values]
    return mongo["themenforum_notify"].outbox.count_documents({"_id": {"$in": [f"event:{i}" for i in ids]}}) == len(ids)


def settled(mongo: Any) -> bool:
    """No mail is waiting to be sent right now."""
    return mongo["themenforum_notify"].deliveries.count_documents({"status": {"$in": ["pending", "sending"]}}) == 0


# Tests ----------------------------------------------------------------------------------------

def test_each_decision_sends_exactly_one_right_mail_and_a_replay_sends_nothing(stack, mongo):
    forum = new_forum(stack, mongo)
    de_acc, en_acc, waiting, rejected, late, mover = (Person(forum, lang) for lang in ("de", "en", "de", "en", "en", "de"))
    produce(stack.bootstrap, "forum.registrations", [p.submitted() for p in (de_acc, en_acc, waiting, rejected, mover)])
    first = [de_acc.decided("accepted"), en_acc.decided("accepted", workshop=2), waiting.decided("waitlisted", position=2),
             rejected.decided("rejected", workshop=None), mover.decided("waitlisted", position=1),
             late.decided("accepted")]  # `late`: the decision comes before the registration that carries the address
    produce(stack.bootstrap, "forum.selection", first)
    soon(lambda: len(decision_mails(stack, mover)) == 1, timeout=60)
    produce(stack.bootstrap, "forum.registrations", [late.submitted()])
    second = [mover.decided("accepted"), de_acc.decided("cancelled", workshop=None)]
    produce(stack.bootstrap, "forum.selection", second)

    expected = {de_acc: ["accepted", "cancelled"], en_acc: ["accepted"], waiting: ["waitlisted"], rejected: ["rejected"],
                late: ["accepted"], mover: ["waitlisted", "moved_up"]}
    for who, templates in expected.items():
        soon(lambda who=who, templates=templates: sorted(m["X-Themenforum-Template"] for m in decision_mails(stack, who))
                   == sorted(templates), timeout=60)

    accepted_de = mails_of(stack, de_acc, "accepted")[0]
    assert accepted_de["Subject"].startswith("Zusage: Werkstatt 1") and "Guten Tag Ada" in accepted_de.get_body(("plain",)).get_content()
    event = invitation(accepted_de)
    assert str(event["UID"]) == f"workshop-{forum}-ws1@themenforum" and int(event["SEQUENCE"]) == 0
    assert de_acc.email in str(event["ATTENDEE"]) and event.decoded("dtstart").date() == date(2027, 6, 10)
    accepted_en = mails_of(stack, en_acc, "accepted")[0]
    assert accepted_en["Subject"].startswith("Confirmed: Werkstatt 2") and "Dear Ada" in accepted_en.get_body(("plain",)).get_content()
    assert str(invitation(accepted_en)["UID"]) == f"workshop-{forum}-ws2@themenforum"
    assert "Platz 2" in mails_of(stack, waiting, "waitlisted")[0]["Subject"]
    assert mails_of(stack, rejected, "rejected")[0]["Subject"].startswith("Your registration")
    assert mails_of(stack, late, "accepted")[0]["Subject"].startswith("Confirmed")
    invitation(mails_of(stack, mover, "moved_up")[0])
    assert mails_of(stack, de_acc, "cancelled")[0]["Subject"].startswith("Abmeldung")
    for who in expected:
        assert len(mails_of(stack, who, "acknowledgement")) == 1

    # Replay: every message of these registrations again (same ids), and an old decision under a new id.
    mine = {p.registration_id for p in expected}
    messages = read_topic(stack.bootstrap, "forum.selection", timeout=15,
                          until=lambda ms: sum(e.get("subject") in mine for e in events(ms)) >= len(first) + len(second))
    again = [(m.key(), m.value()) for m in messages if json.loads(m.value()).get("subject") in mine]
    assert len(again) == len(first) + len(second)
    stale = [p.decided("accepted", seq=1) for p in expected]  # after the replays on each key: proves they were consumed
    produce(stack.bootstrap, "forum.selection", again + stale)
    produce(stack.bootstrap, "forum.registrations", [p.submitted() for p in expected])  # new ids, same people
    soon(lambda: consumed(mongo, [v for _, v in stale]), timeout=60)
    soon(lambda: settled(mongo))
    for who, templates in expected.items():
        assert sorted(m["X-Themenforum-Template"] for m in decision_mails(stack, who)) == sorted(templates)


def _item(forum: str, n: int, hour: int, title: str, room: str, workshop: int | None = 1) -> AgendaItemData:
    return AgendaItemData(item_id=f"i{n}", workshop_id=f"{forum}-ws{workshop}" if workshop else None, title=title,
                          starts_at=datetime(2027, 6, 10, hour, 0, tzinfo=UTC), ends_at=datetime(2027, 6, 10, hour + 1, 0, tzinfo=UTC),
                          kind="working_phase", room=room)


def test_an_agenda_change_reaches_only_the_accepted_participants_of_that_workshop(stack, mongo):
    forum = new_forum(stack, mongo)
    ws1 = [Person(forum, lang) for lang in ("de", "en", "de")]
    other, waiting, gone = Person(forum), Person(forum), Person(forum)
    everyone = [*ws1, other, waiting, gone]
    produce(stack.bootstrap, "forum.registrations", [p.submitted() for p in everyone])
    produce(stack.bootstrap, "forum.selection", [*(p.decided("accepted") for p in ws1), other.decided("accepted", workshop=2),
                                                 waiting.decided("waitlisted", position=1), gone.decided("accepted")])
    produce(stack.bootstrap, "forum.selection", [gone.decided("cancelled", workshop=None)])
    soon(lambda: all(decision_mails(stack, p) for p in everyone) and len(decision_mails(stack, gone)) == 2, timeout=60)
    soon(lambda: settled(mongo))

    ws_id = f"{forum}-ws1"
    v1 = [_item(forum, 1, 8, "Begrüßung", "Saal", workshop=None), _item(forum, 2, 9, "Arbeitsphase", "Raum 1")]
    published = make_event("agenda.published", subject=ws_id, source="test",
                           data=AgendaPublished(workshop_id=ws_id, forum_id=forum, version=1, items=v1))
    moved = _item(forum, 2, 10, "Arbeitsphase", "Raum 2")
    updated = make_event("agenda.updated", subject=ws_id, source="test", data=AgendaUpdated(
        workshop_id=ws_id, forum_id=forum, version=2, items=[v1[0], moved],
        diff=AgendaDiff(changed=[{"item_id": "i2", "before": {"starts_at": v1[1].starts_at.isoformat(), "room": "Raum 1"},
                                  "after": {"starts_at": moved.starts_at.isoformat(), "room": "Raum 2"}}])))
    produce(stack.bootstrap, "forum.agenda", [(ws_id.encode(), encode(published)), (ws_id.encode(), encode(updated))])
    for p in ws1:
        soon(lambda p=p: len(mails_of(stack, p, "agenda_changed")) == 2, timeout=60)

    de_update = next(m for m in mails_of(stack, ws1[0], "agenda_changed") if "Raum 1 → Raum 2" in m.get_body(("plain",)).get_content())
    text = de_update.get_body(("plain",)).get_content()
    assert de_update["Subject"] == "Programm geändert: Werkstatt 1"
    assert "Geändert: Arbeitsphase: Raum Raum 1 → Raum 2; Beginn 11:00 → 12:00" in text  # local time, CEST
    sequences = sorted(int(invitation(m)["SEQUENCE"]) for m in mails_of(stack, ws1[0], "agenda_changed"))
    accepted_seq = int(invitation(mails_of(stack, ws1[0], "accepted")[0])["SEQUENCE"])
    assert accepted_seq < sequences[0] and sequences == [1, 2]
    uids = {str(invitation(m)["UID"]) for p in ws1 for m in mails_of(stack, p, "agenda_changed") + mails_of(stack, p, "accepted")}
    assert uids == {f"workshop-{ws_id}@themenforum"}
    assert mails_of(stack, ws1[1], "agenda_changed")[0]["Subject"].startswith("Agenda changed")

    # An older version again (new id) changes nothing; the others never hear of workshop 1's agenda.
    old = make_event("agenda.updated", subject=ws_id, source="test",
                     data=AgendaUpdated(workshop_id=ws_id, forum_id=forum, version=1, items=v1, diff=AgendaDiff()))
    produce(stack.bootstrap, "forum.agenda", [(ws_id.encode(), encode(old))])
    soon(lambda: consumed(mongo, [encode(old)]))
    soon(lambda: settled(mongo))
    assert all(len(mails_of(stack, p, "agenda_changed")) == 2 for p in ws1)
    assert not any(mails_of(stack, p, "agenda_changed") for p in (other, waiting, gone))


def test_a_person_registered_through_the_form_gets_the_decision_mail_in_english(stack, http):
    body = person(language="en", preferences=["tf2-ws2"], actor_group="research", municipality="Bochum")
    reg = http.post(stack.url("registration", "/api/v1/registrations"), json=body).json()
    status = soon(lambda: (s := http.get(reg["status_url"]).json())["status"] != "received" and s)
    expected = {"accepted": "accepted", "waitlisted": "waitlisted", "rejected": "rejected"}[status["status"]]
    mails = soon(lambda: [m for m in stack.mails(to=body["email"]) if m["X-Themenforum-Template"] == expected])
    assert len(mails) == 1
    assert mails[0].get_body(("plain",)).get_content().startswith("Dear Ada Beispiel")
    if expected == "accepted":
        event = invitation(mails[0])
        assert str(event["UID"]) == "workshop-tf2-ws2@themenforum" and event.decoded("dtstart").date() == date(2027, 3, 25)


def test_staff_see_the_delivery_log_and_preview_every_template(stack, http):
    import httpx

    rows = http.get(stack.url("notify", "/api/v1/deliveries"), headers=stack.auth, params={"status": "sent"}).json()
    assert rows and all(r["status"] == "sent" and "to" not in r and r["attempts"] >= 1 for r in rows)
    assert http.get(stack.url("notify", "/api/v1/deliveries"), headers=stack.auth, params={"status": "bogus"}).status_code == 422
    with httpx.Client(timeout=60) as browser:
        assert browser.get(stack.url("notify", "/staff/templates"), follow_redirects=False).status_code == 303
        stack.staff_session(browser)
        index = browser.get(stack.url("notify", "/staff/templates"))
        assert index.status_code == 200 and "Programmänderung" in index.text
        for kind in ("acknowledgement", "accepted", "waitlisted", "moved_up", "rejected", "cancelled", "agenda_changed",
                     "reminder", "report_available"):
            for lang in ("de", "en"):
                html = browser.get(stack.url("notify", f"/staff/templates/{kind}.{lang}.html"))
                assert html.status_code == 200 and f'lang="{lang}"' in html.text
        eml = browser.get(stack.url("notify", "/staff/templates/accepted.de.eml"))
        assert b"text/calendar" in eml.content
        page = browser.get(stack.url("notify", "/staff/deliveries"))
        assert page.status_code == 200 and "Versandprotokoll" in page.text and "@" not in page.text.split("<main", 1)[1]


def test_finalised_results_and_an_erasure_request_reach_the_right_people(stack, mongo):
    from shared.events.participants import ParticipantErasureRequested
    from shared.events.results import ResultFinalized

    forum = new_forum(stack, mongo)
    present, absent = Person(forum, "en"), Person(forum)
    produce(stack.bootstrap, "forum.registrations", [present.submitted(), absent.submitted()])
    produce(stack.bootstrap, "forum.selection", [present.decided("accepted"), absent.decided("rejected", workshop=None)])
    soon(lambda: decision_mails(stack, present) and decision_mails(stack, absent))
    ws_id = f"{forum}-ws1"
    finalized = make_event("result.finalized", subject=ws_id, source="test",
                           data=ResultFinalized(workshop_id=ws_id, forum_id=forum, version=1, ideas=4))
    produce(stack.bootstrap, "forum.results", [(ws_id.encode(), encode(finalized))])
    report = soon(lambda: mails_of(stack, present, "report_available"))[0]
    assert report["Subject"].startswith("The results are out") and f"/api/v1/reports/{forum}" in report.get_body(("plain",)).get_content()
    assert not mails_of(stack, absent, "report_available")

    erase = make_event("participant.erasure_requested", subject=absent.participant_id, source="test",
                       data=ParticipantErasureRequested(participant_id=absent.participant_id))
    produce(stack.bootstrap, "forum.participants", [(absent.participant_id.encode(), encode(erase))])
    wanted = {"participant_id": absent.participant_id, "service": "notify"}
    messages = read_topic(stack.bootstrap, "forum.participants", timeout=60, until=lambda ms: any(
        e["type"] == "participant.erased" and e["data"] == wanted for e in events(ms)))
    assert [e["data"] for e in events(messages) if e["type"] == "participant.erased"].count(wanted) == 1
    db = mongo["themenforum_notify"]
    assert db.recipients.find_one({"_id": absent.participant_id}) is None
    assert all(d["to"] is None and d["context"] == {} for d in db.deliveries.find({"recipient_id": absent.participant_id}))
