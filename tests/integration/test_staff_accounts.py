"""Staff accounts through the admin API, the admin pages, the CLI and the bus, as staff and operators use them."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys

import httpx

from shared import topics
from shared.testing import eventually
from tests.kafka import read_topic

SERVICES = ("registration", "agenda", "results", "notify")


def _login(stack, client: httpx.Client, username: str, password: str, service: str = "registration") -> httpx.Response:
    return client.post(stack.url(service, "/staff/login"), data={"username": username, "password": password, "next": "/"})


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def test_a_new_account_logs_in_on_any_service_with_a_secure_cookie_and_sees_only_its_role(stack):
    name, password = _name("sel"), secrets.token_urlsafe(16)
    stack.create_account(name, ["selection"], password=password)
    with httpx.Client(timeout=30) as browser:
        answer = eventually(lambda: (r := _login(stack, browser, name, password, "agenda")).status_code == 303 and r, timeout=90)
        raw = answer.headers["set-cookie"].lower()
        assert raw.startswith("tf_staff=") and "httponly" in raw and "samesite=lax" in raw and "secure" not in raw  # plain http here
        assert browser.get(stack.url("registration", "/staff/fora/themenforum-2")).status_code == 200
        refused = browser.get(stack.url("agenda", "/staff/agenda/themenforum-2"))
        assert refused.status_code == 403 and "Keine Berechtigung" in refused.text


def test_a_role_change_and_a_disabled_account_take_effect_on_running_sessions_everywhere(stack, http):
    name, password = _name("agd"), secrets.token_urlsafe(16)
    stack.create_account(name, ["agenda"], password=password)
    with httpx.Client(timeout=30) as browser:
        eventually(lambda: _login(stack, browser, name, password, "agenda").status_code == 303, timeout=90)
        assert browser.get(stack.url("agenda", "/staff/agenda/themenforum-2")).status_code == 200
        changed = http.patch(stack.url("registration", f"/api/v1/staff/accounts/{name}"), json={"roles": ["viewer"]}, headers=stack.auth)
        assert changed.status_code == 200 and changed.json()["roles"] == ["viewer"] and "password_hash" not in changed.json()
        eventually(lambda: browser.get(stack.url("agenda", "/staff/agenda/themenforum-2")).status_code == 403)
        assert browser.get(stack.url("notify", "/staff/deliveries")).status_code == 200
        http.patch(stack.url("registration", f"/api/v1/staff/accounts/{name}"), json={"disabled": True}, headers=stack.auth)
        for service in SERVICES:
            eventually(lambda: browser.get(stack.url(service, "/api/v1/staff/me")).status_code == 401)
        assert _login(stack, browser, name, password, "notify").status_code == 401


def test_a_revoked_token_is_refused_by_every_service(stack, http):
    name = _name("view")
    stack.create_account(name, ["viewer"])
    token = stack.issue_token(name)
    listed = http.get(stack.url("registration", "/api/v1/staff/tokens"), headers=stack.auth).json()
    mine = next(t for t in listed if t["username"] == name)
    assert token not in json.dumps(listed) and "hash" not in mine
    assert http.delete(stack.url("registration", f"/api/v1/staff/tokens/{mine['token_id']}"), headers=stack.auth).status_code == 204
    stack.wait_for_token(token, accepted=False)
    assert http.delete(stack.url("registration", f"/api/v1/staff/tokens/{mine['token_id']}"), headers=stack.auth).status_code == 404


def test_a_token_cannot_carry_a_role_its_account_lacks_and_bad_input_names_the_field(stack, http):
    name = _name("mod")
    stack.create_account(name, ["moderator"], workshops=["tf2-ws1"])
    wider = http.post(stack.url("registration", "/api/v1/staff/tokens"), json={"username": name, "roles": ["admin"]}, headers=stack.auth)
    assert wider.status_code == 422 and wider.json()["errors"][0]["field"] == "roles"
    twice = http.post(stack.url("registration", "/api/v1/staff/accounts"), json={"username": name, "roles": ["viewer"]}, headers=stack.auth)
    assert twice.status_code == 409 and twice.json()["errors"][0]["field"] == "username"
    short = http.post(stack.url("registration", "/api/v1/staff/accounts"),
                      json={"username": _name("pw"), "roles": ["viewer"], "password": "kurz"}, headers=stack.auth)
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "password"
    reserved = http.post(stack.url("registration", "/api/v1/staff/accounts"), json={"username": "admin", "roles": ["viewer"]}, headers=stack.auth)
    assert reserved.status_code == 422


def test_a_moderator_captures_only_in_their_own_workshop(stack, http):
    token = stack.role_token("moderator", workshops=["tf2-ws1"])
    auth = {"Authorization": f"Bearer {token}"}
    idea = {"title": "Förderlotsen für Kommunen", "text": "Eine Anlaufstelle je Kreis."}
    own = http.post(stack.url("results", "/api/v1/workshops/tf2-ws1/ideas"), json=idea, headers=auth)
    other = http.post(stack.url("results", "/api/v1/workshops/tf2-ws2/ideas"), json=idea, headers=auth)
    assert own.status_code == 201 and other.status_code == 403
    assert http.get(stack.url("results", "/api/v1/workshops/tf2-ws2/voting-links"), headers=auth).status_code == 403


def test_the_admin_page_creates_accounts_and_issues_a_token_shown_once_with_csrf_protection(stack, staff):
    page = staff.get(stack.url("registration", "/staff/accounts"))
    assert page.status_code == 200 and "Konten und Zugänge" in page.text
    assert "Accounts and access" in staff.get(stack.url("registration", "/staff/accounts?lang=en")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    name = _name("page")
    forged = staff.post(stack.url("registration", "/staff/accounts"), data={"username": name, "roles": "viewer"})
    assert forged.status_code == 403
    created = staff.post(stack.url("registration", "/staff/accounts"), data={"csrf": csrf, "username": name, "roles": ["viewer", "agenda"],
                                                                              "password": secrets.token_urlsafe(16)})
    assert created.status_code == 303
    issued = staff.post(stack.url("registration", "/staff/tokens"), data={"csrf": csrf, "username": name, "roles": "viewer", "label": "Skript"})
    token = re.search(r"<code>(tf_[^<]+)</code>", issued.text).group(1)
    assert issued.status_code == 201 and token not in staff.get(stack.url("registration", "/staff/accounts")).text
    stack.wait_for_token(token)
    bad = staff.post(stack.url("registration", "/staff/accounts"), data={"csrf": csrf, "username": "X y", "roles": "viewer"})
    assert bad.status_code == 422 and 'class="error-summary"' in bad.text and 'href="#username"' in bad.text


def test_the_cli_creates_a_user_and_a_token_that_every_service_accepts(stack):
    env = {**os.environ, "MONGODB_URL": stack.mongodb_url}
    name, password = _name("cli"), secrets.token_urlsafe(16)
    made = subprocess.run([sys.executable, "-m", "shared.accounts", "create-user", "--user", name, "--role", "moderator",
                           "--workshop", "tf2-ws3", "--password-stdin"], input=password + "\n", env=env, capture_output=True, text=True,
                          timeout=60)
    assert made.returncode == 0, made.stderr
    issued = subprocess.run([sys.executable, "-m", "shared.accounts", "create-token", "--user", name], env=env, capture_output=True,
                            text=True, timeout=60)
    assert issued.returncode == 0, issued.stderr
    token = json.loads(issued.stdout)["token"]
    stack.wait_for_token(token)  # the registration service's outbox relay published what the CLI wrote
    me = httpx.get(stack.url("results", "/api/v1/staff/me"), headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"id": name, "roles": ["moderator"], "workshops": ["tf2-ws3"], "via": "token"}
    refused = subprocess.run([sys.executable, "-m", "shared.accounts", "create-token", "--user", "nobody-here"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "username" in refused.stderr


def test_the_staff_topic_carries_hashes_but_never_a_password_or_a_token(stack, http):
    name, password = _name("bus"), secrets.token_urlsafe(16)
    stack.create_account(name, ["viewer"], password=password)
    token = stack.issue_token(name)
    messages = read_topic(stack.bootstrap, topics.STAFF, until=lambda ms: sum(name.encode() in m.value() for m in ms) >= 2)
    raw = b"".join(m.value() for m in messages)
    assert name.encode() in raw and b"$argon2id$" in raw
    assert password.encode() not in raw and token.encode() not in raw


def test_the_dashboard_stream_shows_names_to_admins_only(stack, http):
    from tests.conftest import person
    from tests.integration.test_results_live import Listener

    viewer_token = stack.role_token("viewer")
    viewer = Listener(stack, {"type": "registration.submitted"}, headers={"Authorization": f"Bearer {viewer_token}"})
    admin = Listener(stack, {"type": "registration.submitted"})
    reg = http.post(stack.url("registration", "/api/v1/registrations"), json=person()).json()
    seen = viewer.wait_for(lambda i: i["subject"] == reg["id"])
    assert not {"first_name", "last_name", "email", "organisation"} & set(seen["data"]) and seen["data"]["actor_group"]
    assert admin.wait_for(lambda i: i["subject"] == reg["id"])["data"]["first_name"] == "Ada"
    viewer.stop = admin.stop = True
