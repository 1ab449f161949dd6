"""One valid example of every event type's data (the catalogue's living examples)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

T0 = datetime(2027, 3, 25, 9, 30, tzinfo=UTC)
ITEM = {"item_id": "i1", "workshop_id": "tf2-ws1", "starts_at": T0, "ends_at": T0.replace(hour=10), "title": "Begrüßung",
        "kind": "welcome", "room": "Saal A", "moderators": ["m1"]}
DECISION = {"registration_id": "r1", "forum_id": "themenforum-2", "participant_id": "p1", "status": "waitlisted",
            "workshop_id": "tf2-ws2", "waitlist_position": 3, "actor_group": "municipality", "municipality": "Bochum",
            "reasons": ["group_full"], "explanation": "Workshop 2 ist für die Gruppe Kommunen ausgebucht.", "decision_seq": 1}

SAMPLES: dict[str, dict[str, Any]] = {
    "forum.configured": {"forum_id": "themenforum-2", "title": "Themenforum 2", "starts_on": date(2027, 3, 25),
                         "status": "open", "registration_closes_at": T0},
    "workshop.configured": {"workshop_id": "tf2-ws1", "forum_id": "themenforum-2", "number": 1, "title": "Fördermittel",
                            "seats": 30, "quotas": {"company": {"min": 5, "max": 12}}, "organisation_cap": 2},
    "forum.registration_opened": {"forum_id": "themenforum-2", "opened_at": T0},
    "forum.registration_closed": {"forum_id": "themenforum-2", "closed_at": T0},
    "registration.submitted": {"registration_id": "r1", "forum_id": "themenforum-2", "participant_id": "p1",
                               "first_name": "Ada", "last_name": "Beispiel", "email": "ada@example.org",
                               "organisation": "Stadt Bochum", "actor_group": "municipality", "municipality": "Bochum",
                               "preferences": ["tf2-ws3"], "consent_version": "2027-01", "submitted_at": T0},
    "registration.updated": {"registration_id": "r1", "forum_id": "themenforum-2", "participant_id": "p1",
                             "changes": {"role": "Leitung"}},
    "registration.cancelled": {"registration_id": "r1", "forum_id": "themenforum-2", "participant_id": "p1",
                               "cancelled_at": T0},
    "invitation.sent": {"invitation_id": "i1", "forum_id": "themenforum-2", "workshop_id": "tf2-ws1", "first_name": "Ada",
                        "last_name": "Beispiel", "email": "ada@example.org", "invitation_url": "http://x/?invitation=t",
                        "decline_url": "http://x/invitation/t/decline", "sent_at": T0},
    "selection.decided": DECISION,
    "selection.overridden": {**DECISION, "status": "accepted", "staff_member": "admin", "action": "accept"},
    "selection.finalized": {"forum_id": "themenforum-2", "accepted": {"tf2-ws1": 30}, "lottery_seed": 7},
    "agenda.published": {"workshop_id": "tf2-ws1", "forum_id": "themenforum-2", "version": 1, "items": [ITEM]},
    "agenda.updated": {"workshop_id": "tf2-ws1", "forum_id": "themenforum-2", "version": 2, "items": [ITEM],
                       "diff": {"changed": [{"item_id": "i1", "before": {"room": "Saal B"}, "after": {"room": "Saal A"}}]}},
    "agenda.conflict_detected": {"workshop_id": "tf2-ws1", "forum_id": "themenforum-2",
                                 "conflicts": [{"kind": "room_too_small", "message": "Saal A fasst 20.", "item_ids": ["i1"]}]},
    "agenda.groups_formed": {"workshop_id": "tf2-ws1", "forum_id": "themenforum-2", "trigger": "staff",
                             "groups": [{"number": 1, "registration_ids": ["r1", "r2"], "by_actor_group": {"company": 2}}]},
    "result.idea_captured": {"idea_id": "d1", "workshop_id": "tf2-ws1", "forum_id": "themenforum-2", "title": "Förderlotse"},
    "result.sketch_submitted": {"sketch_id": "s1", "workshop_id": "tf2-ws1", "forum_id": "themenforum-2",
                                "title": "Digitaler Förderlotse", "idea_ids": ["d1"], "funding_need_eur": 250000},
    "result.vote_cast": {"vote_id": "v1", "workshop_id": "tf2-ws1", "forum_id": "themenforum-2", "voter_id": "x",
                         "target_id": "s1", "dots": 2},
    "result.finalized": {"workshop_id": "tf2-ws1", "forum_id": "themenforum-2", "version": 1, "ideas": 4},
    "notification.requested": {"notification_id": "n1", "recipient_id": "p1", "template": "reminder"},
    "notification.sent": {"notification_id": "n1", "recipient_id": "p1", "template": "accepted",
                          "cause_event_id": "e1", "sent_at": T0},
    "notification.failed": {"notification_id": "n1", "recipient_id": "p1", "template": "accepted",
                            "cause_event_id": "e1", "attempts": 5, "error": "550 no such user", "permanent": True},
    "participant.erasure_requested": {"participant_id": "p1"},
    "participant.erased": {"participant_id": "p1", "service": "notify"},
    "participant.key_issued": {"participant_id": "p1", "key": "q1ZJm3k2c0n2Vv8Yk1b5u3b8e9XyQ0Jf2gW7rT4sD6A"},
    "staff.account_changed": {"username": "m.muster", "roles": ["moderator"], "workshops": ["tf2-ws1"],
                              "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "version": 2},
    "staff.token_issued": {"token_id": "t1", "token_hash": "0" * 64, "username": "m.muster", "roles": ["viewer"],
                           "issued_at": T0},
    "staff.token_revoked": {"token_id": "t1", "revoked_at": T0},
}
