"""Staff accounts: password hashing, token hashing and the role rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.accounts import (ROLES, allowed, effective_roles, hash_password, new_token, password_fingerprint, token_hash,
                             valid_username, verify_password)


def test_a_password_verifies_against_its_argon2id_hash_and_nothing_else():
    hashed = hash_password("richtig-langes-Passwort")
    assert hashed.startswith("$argon2id$") and "richtig" not in hashed
    assert verify_password(hashed, "richtig-langes-Passwort")
    assert not verify_password(hashed, "richtig-langes-passwort")
    assert not verify_password(None, "richtig-langes-Passwort")
    assert not verify_password("not-a-hash", "x")


def test_two_hashes_of_one_password_differ_by_their_salt():
    assert hash_password("dasselbe-Passwort") != hash_password("dasselbe-Passwort")


def test_the_fingerprint_changes_with_the_password_hash():
    assert password_fingerprint(hash_password("eins-eins-eins")) != password_fingerprint(hash_password("eins-eins-eins"))
    assert password_fingerprint(None) == password_fingerprint("")


def test_a_token_carries_its_id_and_is_stored_only_as_a_hash():
    token_id, token = new_token()
    assert token.startswith(f"tf_{token_id}_") and len(token) > 40
    digest = token_hash(token)
    assert len(digest) == 64 and token not in digest and digest == token_hash(token)
    assert new_token()[1] != token


@pytest.mark.parametrize("name,ok", [("m.muster", True), ("ab", True), ("a", False), ("Admin", False), ("x y", False),
                                     ("-lead", False), ("a" * 64, False)])
def test_usernames_are_lower_case_slugs(name, ok):
    assert valid_username(name) is ok


def test_admin_passes_every_check():
    assert allowed(["admin"], [], ["selection"]) and allowed(["admin"], [], ["moderator"], "tf2-ws9")


def test_viewer_requirement_means_any_staff_member():
    for role in ROLES:
        assert allowed([role], [], ["viewer"])
    assert not allowed([], [], ["viewer"])


def test_a_role_does_not_grant_another():
    assert not allowed(["viewer"], [], ["selection"])
    assert not allowed(["agenda"], [], ["selection"])
    assert not allowed(["selection"], ["tf2-ws1"], ["moderator"], "tf2-ws1")


def test_a_moderator_is_scoped_to_their_workshops():
    assert allowed(["moderator"], ["tf2-ws1"], ["moderator"], "tf2-ws1")
    assert not allowed(["moderator"], ["tf2-ws1"], ["moderator"], "tf2-ws2")
    assert allowed(["moderator"], [], ["moderator"])  # a route without a workshop


def test_a_token_keeps_only_the_roles_its_account_still_holds():
    assert effective_roles(["selection", "viewer"], ["viewer"]) == ("viewer",)
    assert effective_roles(["selection"], ["admin"]) == ("selection",)
    assert effective_roles(["selection"], []) == ()


@settings(max_examples=200)
@given(held=st.lists(st.sampled_from(ROLES), max_size=5), needed=st.lists(st.sampled_from(ROLES), min_size=1, max_size=3),
       mine=st.lists(st.sampled_from(["w1", "w2", "w3"]), max_size=3), workshop=st.sampled_from([None, "w1", "w2", "w3"]))
def test_role_checks_follow_the_rules(held, needed, mine, workshop):
    expected = ("admin" in held or ("viewer" in needed and bool(held))
                or any(n in held and n not in ("moderator",) for n in needed)
                or ("moderator" in needed and "moderator" in held and (workshop is None or workshop in mine)))
    assert allowed(held, mine, needed, workshop) is expected


def test_every_service_projects_the_staff_topic_and_notify_never_forwards_it_to_webhooks():
    import importlib

    from shared.accounts import projection

    for name in ("registration", "agenda", "results", "notify"):
        app = importlib.import_module(f"services.{name}.app").create_app()
        handlers = app.state.runtime.consumer.handlers
        assert handlers["staff.account_changed"] is projection.on_account_changed
        assert handlers["staff.token_issued"] is projection.on_token_issued
        assert handlers["staff.token_revoked"] is projection.on_token_revoked
