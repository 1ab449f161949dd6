"""Bad HTTP input gets a clear 422 or 413 naming the field and the reason; never a 500."""

from __future__ import annotations

import pytest

from tests.conftest import person

CASES = [
    ("missing e-mail", {k: v for k, v in person().items() if k != "email"}, 422, "email"),
    ("missing consent", {k: v for k, v in person().items() if k != "consent"}, 422, "consent"),
    ("consent refused", person(consent=False), 422, "consent"),
    ("invalid e-mail", person(email="not-an-address"), 422, "email"),
    ("unknown actor group", person(actor_group="pirates"), 422, "actor_group"),
    ("municipality outside the list", person(municipality="Berlin"), 422, "municipality"),
    ("preferences not a list", person(preferences="tf2-ws1"), 422, "preferences"),
    ("no preferences", person(preferences=[]), 422, "preferences"),
    ("unknown workshop", person(preferences=["tf9-ws9"]), 422, "preferences"),
    ("same workshop twice", person(preferences=["tf2-ws1", "tf2-ws1"]), 422, "preferences"),
    ("first name a number", person(first_name=42), 422, "first_name"),
    ("empty last name", person(last_name="   "), 422, "last_name"),
    ("name too long", person(last_name="x" * 101), 422, "last_name"),
    ("line break in a name", person(first_name="Ada\r\nBcc: x@example.org"), 422, "first_name"),
    ("control character in the organisation", person(organisation="Stadt\x00Bochum"), 422, "organisation"),
    ("unknown language", person(language="fr"), 422, "language"),
    ("unknown field", person(shoe_size=44), 422, "shoe_size"),
    ("unknown forum", person(forum_id="themenforum-99"), 422, "forum_id"),
    ("body is a list", [person()], 422, "body"),
]


@pytest.mark.parametrize("name,body,status,field", CASES, ids=[c[0] for c in CASES])
def test_an_invalid_body_is_refused_with_the_field_and_reason(stack, http, name, body, status, field):
    answer = http.post(stack.url("registration", "/api/v1/registrations"), json=body)
    assert answer.status_code == status, answer.text
    errors = answer.json()["errors"]
    assert field in {e["field"] for e in errors}, errors
    assert all(e["reason"] and e["message"] for e in errors)


def test_a_body_that_is_not_json_is_refused(stack, http):
    answer = http.post(stack.url("registration", "/api/v1/registrations"), content=b"{not json",
                       headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["type"] == "json_invalid"


def test_an_oversized_body_is_refused_before_parsing(stack, http):
    answer = http.post(stack.url("registration", "/api/v1/registrations"), json=person(motivation="x" * 200_000))
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["field"] == "body"


def test_an_oversized_chunked_body_is_refused_too(stack, http):
    def chunks():
        yield b'{"motivation": "'
        for _ in range(100):
            yield b"x" * 4096
        yield b'"}'

    answer = http.post(stack.url("registration", "/api/v1/registrations"), content=chunks(),
                       headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_bad_input_loses_nothing_valid(stack, http):
    http.post(stack.url("registration", "/api/v1/registrations"), json=person(email="broken"))
    good = http.post(stack.url("registration", "/api/v1/registrations"), json=person())
    assert good.status_code == 202


def test_the_form_answers_in_german_next_to_the_field(stack, http):
    page = http.get(stack.url("registration", "/"))
    assert page.status_code == 200 and 'lang="de"' in page.text
    csrf = page.cookies.get("tf_csrf")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    answer = http.post(stack.url("registration", "/"), data={"csrf_token": token, "first_name": "Ada", "email": "kaputt"},
                       cookies={"tf_csrf": csrf})
    assert answer.status_code == 422
    assert 'id="email-error"' in answer.text and "Bitte prüfen Sie Ihre Angaben" in answer.text
    assert "Ohne Einwilligung" in answer.text


def test_the_form_refuses_a_post_without_its_csrf_token(stack, http):
    answer = http.post(stack.url("registration", "/"), data={"first_name": "Ada"})
    assert answer.status_code == 400
