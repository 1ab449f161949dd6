"""Runs last: the logs of everything the suite did hold no personal data (ARCHITECTURE §4.5)."""

from __future__ import annotations

import re

from tests.conftest import ISSUED

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def test_no_service_log_contains_an_e_mail_address_or_a_name_the_tests_used(stack, http):
    # Make sure at least one person went through the whole platform in this session.
    from tests.conftest import person

    http.post(stack.url("registration", "/api/v1/registrations"), json=person())
    logs = {name: stack.service_log(name) for name in stack.services}
    assert all(logs.values()), "every service wrote a log"
    for name, text in logs.items():
        assert not EMAIL.search(text), f"{name} logged an e-mail address: {EMAIL.search(text).group(0)}"
        for body in ISSUED:
            for field in ("email", "last_name", "organisation"):
                value = str(body.get(field, ""))
                if len(value) > 8 and value.lower() not in ("stadt bochum",):
                    assert value not in text, f"{name} logged a {field}"
