"""Every route of every service answers each role as the access table says: 401/303, 403 or allowed.

Routes come from each service's OpenAPI document (GET /openapi.json) and, for the pages that the
document leaves out, from the apps' own route lists (built in a subprocess, never started). Each route
is called without credentials and with an API token of each role; a route missing from ACCESS fails
the test, so a new route cannot slip in without deciding who may use it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import pytest

SERVICES = ("registration", "agenda", "results", "notify")
# Who may call a route: "public"; "self" (a participant's token link; staff credentials do not matter);
# "self+selection" (the link, or staff with the selection role); "any" (every staff role, viewer and up);
# a role name; "moderator@workshop" (moderators of the route's workshop). Admin passes every staff check.
COMMON = {
    "GET /openapi.json": "public", "GET /docs": "public", "GET /docs/oauth2-redirect": "public", "GET /redoc": "public",
    "GET /healthz": "public", "GET /readyz": "public", "GET /metrics": "public", "GET /asyncapi": "public",
    "GET /staff/login": "public", "POST /staff/login": "public", "POST /staff/logout": "public",
    "GET /api/v1/staff/me": "any",
}
ACCESS: dict[str, dict[str, str]] = {
    "registration": {
        "GET /": "public", "POST /": "public", "POST /api/v1/registrations": "public", "GET /api/v1/workshops": "public",
        "GET /api/v1/fora/{forum_id}": "public",
        "GET /status/{registration_id}": "self", "POST /status/{registration_id}/cancel": "self",
        "GET /api/v1/registrations/{registration_id}": "self+selection",
        "POST /api/v1/registrations/{registration_id}/cancel": "self+selection",
        "POST /api/v1/registrations/{registration_id}/erasure": "self+selection",
        "GET /api/v1/registrations/{registration_id}/export": "self+selection",
        "GET /api/v1/fora/{forum_id}/privacy-notices": "any", "GET /api/v1/fora/{forum_id}/retention": "any",
        "POST /api/v1/catalogue": "admin",
        "POST /api/v1/registrations/{registration_id}/override": "selection",
        "GET /api/v1/fora/{forum_id}/selection": "selection", "GET /api/v1/fora/{forum_id}/registrations": "selection",
        "POST /api/v1/fora/{forum_id}/selection/dry-run": "selection", "POST /api/v1/selection/runs/{run_id}/publish": "selection",
        "GET /api/v1/fora/{forum_id}/participants.{fmt}": "selection", "GET /api/v1/fora/{forum_id}/console/stream": "selection",
        "GET /staff/fora/{forum_id}": "selection", "POST /staff/fora/{forum_id}/override": "selection",
        "POST /staff/fora/{forum_id}/dry-run": "selection", "POST /staff/fora/{forum_id}/publish": "selection",
        "GET /api/v1/staff/accounts": "admin", "POST /api/v1/staff/accounts": "admin",
        "PATCH /api/v1/staff/accounts/{username}": "admin", "GET /api/v1/staff/tokens": "admin",
        "POST /api/v1/staff/tokens": "admin", "DELETE /api/v1/staff/tokens/{token_id}": "admin",
        "GET /staff/accounts": "admin", "POST /staff/accounts": "admin", "POST /staff/accounts/{username}": "admin",
        "POST /staff/tokens": "admin", "POST /staff/tokens/{token_id}/revoke": "admin",
        # forum set-up: the catalogue is the admins'; invitations belong to selection
        "GET /api/v1/fora": "any", "POST /api/v1/fora": "admin", "PUT /api/v1/fora/{forum_id}": "admin",
        "POST /api/v1/fora/{forum_id}/open": "admin", "POST /api/v1/fora/{forum_id}/close": "admin",
        "POST /api/v1/fora/{forum_id}/archive": "admin", "POST /api/v1/fora/{forum_id}/clone": "admin",
        "POST /api/v1/fora/{forum_id}/workshops": "admin", "PUT /api/v1/fora/{forum_id}/workshops/{workshop_id}": "admin",
        "DELETE /api/v1/fora/{forum_id}/workshops/{workshop_id}": "admin",
        "POST /api/v1/fora/{forum_id}/invitations": "selection", "GET /api/v1/fora/{forum_id}/invitations": "selection",
        "POST /api/v1/fora/{forum_id}/invitations/remind": "selection",
        "GET /invitation/{token}/decline": "self", "POST /invitation/{token}/decline": "self",
        "GET /staff/fora": "any", "GET /staff/fora/neu": "admin", "POST /staff/fora/neu": "admin",
        "GET /staff/fora/{forum_id}/einrichten": "admin", "POST /staff/fora/{forum_id}/einrichten": "admin",
        "POST /staff/fora/{forum_id}/status": "admin", "POST /staff/fora/{forum_id}/klonen": "admin",
        "GET /staff/fora/{forum_id}/workshops/neu": "admin", "GET /staff/fora/{forum_id}/workshops/{workshop_id}": "admin",
        "POST /staff/fora/{forum_id}/workshops/{workshop_id}": "admin",
        "GET /staff/fora/{forum_id}/einladungen": "selection", "POST /staff/fora/{forum_id}/einladungen": "selection",
        "POST /staff/fora/{forum_id}/einladungen/erinnern": "selection",
    },
    "agenda": {
        "GET /": "public", "GET /workshops/{workshop_id}": "public", "GET /workshops/{workshop_id}/print": "public",
        "GET /workshops/{workshop_id}/agenda.pdf": "public", "GET /api/v1/workshops/{workshop_id}/agenda": "public",
        "GET /api/v1/workshops/{workshop_id}/agenda/versions": "public", "GET /api/v1/workshops/{workshop_id}/agenda.ics": "public",
        "GET /api/v1/fora/{forum_id}/agenda/draft": "any", "GET /api/v1/fora/{forum_id}/agenda/changes": "any",
        "GET /api/v1/workshops/{workshop_id}/participation": "any",
        "POST /api/v1/fora/{forum_id}/agenda/items": "agenda", "PUT /api/v1/fora/{forum_id}/agenda/items/{item_id}": "agenda",
        "POST /api/v1/fora/{forum_id}/agenda/items/{item_id}/move": "agenda",
        "DELETE /api/v1/fora/{forum_id}/agenda/items/{item_id}": "agenda", "PUT /api/v1/fora/{forum_id}/rooms/{room_id}": "agenda",
        "POST /api/v1/fora/{forum_id}/agenda/publish": "agenda", "POST /api/v1/workshops/{workshop_id}/breakout-groups": "agenda",
        "GET /api/v1/workshops/{workshop_id}/breakout-groups": "agenda",
        "GET /staff/agenda/{forum_id}": "agenda", "POST /staff/agenda/{forum_id}/items": "agenda",
        "POST /staff/agenda/{forum_id}/items/{item_id}/move": "agenda", "POST /staff/agenda/{forum_id}/items/{item_id}/delete": "agenda",
        "POST /staff/agenda/{forum_id}/rooms": "agenda", "POST /staff/agenda/workshops/{workshop_id}/groups": "agenda",
        "GET /staff/agenda/{forum_id}/publish": "agenda", "POST /staff/agenda/{forum_id}/publish": "agenda",
    },
    "results": {
        "GET /api/v1/reports/{forum_id}.csv": "public", "GET /api/v1/reports/{forum_id}.pdf": "public",
        "GET /api/v1/reports/{forum_id}": "public", "GET /berichte": "public", "GET /berichte/{forum_id}": "public",
        "POST /api/v1/votes": "self", "GET /api/v1/votes/{token}": "self", "GET /abstimmung/{token}": "self",
        "POST /abstimmung/{token}": "self",
        "GET /api/v1/dashboard/{forum_id}": "any", "GET /api/v1/stream": "any", "GET /dashboard": "any",
        "GET /api/v1/workshops/{workshop_id}/results": "any",
        "POST /api/v1/workshops/{workshop_id}/ideas": "moderator@workshop", "PATCH /api/v1/ideas/{idea_id}": "moderator",
        "POST /api/v1/workshops/{workshop_id}/sketches": "moderator@workshop",
        "POST /api/v1/workshops/{workshop_id}/finalize": "moderator@workshop",
        "PUT /api/v1/workshops/{workshop_id}/voting": "moderator@workshop",
        "POST /api/v1/workshops/{workshop_id}/voting/open": "moderator@workshop",
        "GET /api/v1/workshops/{workshop_id}/voting-links": "moderator@workshop",
        "GET /moderation": "moderator", "GET /moderation/{workshop_id}": "moderator@workshop",
        "POST /moderation/{workshop_id}": "moderator@workshop", "GET /moderation/{workshop_id}/stimmkarten": "moderator@workshop",
    },
    "notify": {
        "GET /api/v1/deliveries": "any", "GET /api/v1/reminders": "any", "GET /staff/deliveries": "any",
        "POST /api/v1/reminders/run": "admin", "POST /api/v1/webhooks": "admin", "GET /api/v1/webhooks": "admin",
        "DELETE /api/v1/webhooks/{hook_id}": "admin", "GET /api/v1/webhook-deliveries": "admin",
        "GET /staff/templates": "admin", "GET /staff/templates/{template}.{lang}.{fmt}": "admin", "GET /staff/webhooks": "admin",
        "POST /staff/webhooks": "admin", "POST /staff/webhooks/{hook_id}/delete": "admin",
    },
}
# The callers: a role and its workshops. Every path parameter is "x"; `moderator` moderates workshop "x".
IDENTITIES: dict[str, tuple[str, list[str]]] = {
    "admin": ("admin", []), "selection": ("selection", []), "agenda": ("agenda", []), "viewer": ("viewer", []),
    "moderator": ("moderator", ["x"]), "moderator-elsewhere": ("moderator", ["tf2-ws2"]),
}
LIST_ROUTES = """
import importlib, json
from fastapi.routing import iter_route_contexts
out = {}
for name in %r:
    app = importlib.import_module(f"services.{name}.app").create_app()
    out[name] = [[m, c.path_format, bool(getattr(c.route, "include_in_schema", False))]
                 for c in iter_route_contexts(app.router.routes) for m in sorted(c.methods or ()) if m != "HEAD"]
print("ROUTES" + json.dumps(out))
"""


def expected(rule: str, identity: str | None) -> str:
    """'allowed', 'denied' (403) or 'anonymous' (401 / log-in redirect) for one caller."""
    if rule == "public" or rule == "self":
        return "allowed"
    if identity is None:
        return "allowed" if rule == "self+selection" else "anonymous"
    role, workshops = IDENTITIES[identity]
    need = rule.removeprefix("self+").split("@")[0]
    if role == "admin" or need == "any" or (need == role and (not rule.endswith("@workshop") or "x" in workshops)):
        return "allowed"
    return "denied"


@pytest.fixture(scope="module")
def routes() -> dict[str, list[tuple[str, str, bool]]]:
    """Every (method, path, in the OpenAPI document) of each app, from the apps' own route lists."""
    done = subprocess.run([sys.executable, "-c", LIST_ROUTES % (SERVICES,)], capture_output=True, text=True, timeout=120, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("ROUTES"))
    return {name: [tuple(r) for r in rows] for name, rows in json.loads(line.removeprefix("ROUTES")).items()}  # type: ignore[misc]


@pytest.fixture(scope="module")
def tokens(stack) -> dict[str, str]:
    """One API token per identity, accepted by every service."""
    made = {name: stack.role_token(role, workshops=workshops, wait=False) for name, (role, workshops) in IDENTITIES.items()}
    for token in made.values():  # they travel to the services together; waiting once per token is enough
        stack.wait_for_token(token)
    return made


def _call(client: httpx.Client, method: str, url: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.send(client.build_request(method, url, headers=headers), stream=True)  # the SSE stream never ends
    response.close()
    return response


def _verdict(answer: httpx.Response, page: bool) -> str:
    location = answer.headers.get("location", "")
    if answer.status_code == 401 or (page and answer.status_code == 303 and "/staff/login" in location):
        return "anonymous"
    if answer.status_code == 403:
        return "denied"
    return "allowed" if answer.status_code < 500 else f"error {answer.status_code}"


def test_the_access_table_covers_every_route_and_only_existing_ones(stack, http, routes):
    for name in SERVICES:
        table = {**COMMON, **ACCESS[name]}
        listed = {f"{m} {p}" for m, p, _ in routes[name]}
        assert listed - set(table) == set(), f"{name}: routes without an access rule"
        assert set(table) - listed == set(), f"{name}: access rules for routes that do not exist"
        documented = {f"{m.upper()} {p}" for p, ops in http.get(stack.url(name, "/openapi.json")).json()["paths"].items() for m in ops}
        assert documented == {f"{m} {p}" for m, p, in_schema in routes[name] if in_schema}, f"{name}: OpenAPI and app differ"


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_answers_each_role_as_the_table_says(stack, routes, tokens, service):
    table = {**COMMON, **ACCESS[service]}
    wrong: list[str] = []
    checked = 0
    with httpx.Client(timeout=60, follow_redirects=False) as client:
        for method, path, in_schema in routes[service]:
            rule = table[f"{method} {path}"]
            url = stack.url(service, re.sub(r"\{[^}]+\}", "x", path))
            callers: list[str | None] = [None] if rule == "public" else [None, *IDENTITIES]
            for identity in callers:
                got = _verdict(_call(client, method, url, tokens[identity] if identity else None),
                               page=not in_schema and rule != "public")  # log-out sends everyone to the log-in page
                checked += 1
                if got != expected(rule, identity):
                    wrong.append(f"{method} {path} as {identity or 'anonymous'}: {got}, expected {expected(rule, identity)}")
    assert not wrong, "\n".join(wrong)
    assert checked > 20


def test_anonymous_api_callers_are_told_to_bring_a_bearer_token_and_bad_tokens_are_refused(stack, http):
    for name in SERVICES:
        anonymous = http.get(stack.url(name, "/api/v1/staff/me"))
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
        forged = http.get(stack.url(name, "/api/v1/staff/me"), headers={"Authorization": "Bearer tf_000000000000_forged"})
        assert forged.status_code == 401


def test_a_token_reports_its_roles_and_workshops_on_every_service(stack, http, tokens):
    for name in SERVICES:
        me = http.get(stack.url(name, "/api/v1/staff/me"), headers={"Authorization": f"Bearer {tokens['moderator']}"}).json()
        assert me["roles"] == ["moderator"] and me["workshops"] == ["x"] and me["via"] == "token"


def test_a_page_refused_for_the_role_says_so_in_german_and_english(stack, http, tokens):
    auth = {"Authorization": f"Bearer {tokens['viewer']}"}
    german = http.get(stack.url("registration", "/staff/accounts"), headers=auth)
    english = http.get(stack.url("registration", "/staff/accounts?lang=en"), headers=auth)
    assert german.status_code == 403 and "Keine Berechtigung" in german.text and 'lang="de"' in german.text
    assert english.status_code == 403 and "Not permitted" in english.text

