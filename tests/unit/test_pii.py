"""Sealing personal fields with a per-person key (shared/pii.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import pii


def test_a_sealed_value_opens_with_its_key_owner_and_field() -> None:
    key = pii.new_key()
    sealed = pii.seal(key, "p-1", "email", "ada@example.org")
    assert pii.is_sealed(sealed) and "ada" not in sealed and pii.owner_of(sealed) == "p-1"
    assert pii.open_value(key, "p-1", "email", sealed) == "ada@example.org"


@settings(max_examples=50)
@given(st.text(min_size=1, max_size=300))
def test_any_text_round_trips(text: str) -> None:
    key = pii.new_key()
    assert pii.open_value(key, "owner:with:colons", "last_name", pii.seal(key, "owner:with:colons", "last_name", text)) == text


def test_the_same_value_seals_differently_each_time() -> None:
    key = pii.new_key()
    assert pii.seal(key, "p", "email", "x@y.de") != pii.seal(key, "p", "email", "x@y.de")


def test_another_participant_id_does_not_open_it() -> None:
    key = pii.new_key()
    sealed = pii.seal(key, "p-1", "email", "ada@example.org")
    with pytest.raises(pii.SealError):
        pii.open_value(key, "p-2", "email", sealed)
    forged = sealed.replace("pii:v1:p-1:", "pii:v1:p-2:")  # the owner in the text is bound by the associated data
    with pytest.raises(pii.SealError):
        pii.open_value(key, "p-2", "email", forged)


def test_another_field_or_key_does_not_open_it() -> None:
    key = pii.new_key()
    sealed = pii.seal(key, "p-1", "first_name", "Ada")
    with pytest.raises(pii.SealError):
        pii.open_value(key, "p-1", "last_name", sealed)
    with pytest.raises(pii.SealError):
        pii.open_value(pii.new_key(), "p-1", "first_name", sealed)
    with pytest.raises(pii.SealError):
        pii.open_value(None, "p-1", "first_name", sealed)


@pytest.mark.parametrize("position", [-5, -20, len("pii:v1:p-1:") + 2])
def test_tampering_is_detected(position: int) -> None:
    key = pii.new_key()
    sealed = pii.seal(key, "p-1", "email", "ada@example.org")
    char = sealed[position]
    tampered = sealed[:position] + ("A" if char != "A" else "B") + sealed[position + 1:]  # a full 6 bits inside
    with pytest.raises(pii.SealError):
        pii.open_value(key, "p-1", "email", tampered)
    with pytest.raises(pii.SealError):
        pii.open_value(key, "p-1", "email", sealed[:-4])


def test_plain_text_passes_through_for_events_of_data_version_1() -> None:
    assert pii.open_value(None, "p-1", "email", "ada@example.org") == "ada@example.org"
    assert pii.seal(pii.new_key(), "p-1", "role", "") == ""


def test_open_or_gives_the_placeholder_when_the_key_is_gone() -> None:
    key = pii.new_key()
    fields = pii.seal_fields(key, "p-1", {"first_name": "Ada", "last_name": "Beispiel", "role": ""})
    assert {f: pii.open_or({"p-1": key}, "p-1", f, v) for f, v in fields.items()} == \
        {"first_name": "Ada", "last_name": "Beispiel", "role": ""}
    assert pii.open_or({}, "p-1", "first_name", fields["first_name"]) == pii.ERASED
    assert pii.open_or({"p-1": key}, None, "first_name", fields["first_name"]) == "Ada"  # owner named in the value


def test_the_dashboard_stream_never_shows_a_sealed_string_as_a_name() -> None:
    from services.results.stream import redact

    sealed = pii.seal(pii.new_key(), "p-1", "first_name", "Ada")
    item = {"id": "x", "type": "registration.submitted", "data": {"first_name": sealed, "actor_group": "company"}}
    assert redact(item, personal=True)["data"] == {"first_name": pii.ERASED, "actor_group": "company"}
