"""Every route that is not explicitly public refuses callers without credentials.

Enumerates each service's OpenAPI document and calls every operation without credentials;
anything outside the public list must answer 401/403 (or redirect HTML pages to the log-in).
"""

from __future__ import annotations

import re

import pytest

# (service, method, path pattern) of routes that are public by design.
PUBLIC = [
    ("*", "GET", r"/healthz|/readyz|/metrics|/asyncapi|/openapi\.json|/docs.*|/redoc"),
    ("*", "GET", r"/static/.*"),
    ("*", "GET|POST", r"/staff/login"),
    ("*", "POST", r"/staff/logout"),
    ("registration", "GET|POST", r"/"),
    ("registration", "POST", r"/api/v1/registrations"),
    ("registration", "GET", r"/api/v1/workshops"),
    ("registration", "GET", r"/api/v1/fora/[^/]+"),
    ("agenda", "GET", r"/api/v1/workshops/\{workshop_id\}/agenda(\.ics|/versions.*)?"),  # published agendas
    ("results", "GET", r"/api/v1/reports/\{forum_id\}(\.csv|\.pdf)?"),  # aggregates only
]
# Participant self-service routes carry a personal token; without it they answer 404 (no such link).
SELF_SERVICE = re.compile(r"token|/status/|/vote|/ballot|/invitation|^/api/v1/registrations/\{registration_id\}")


def _public(service: str, method: str, path: str) -> bool:
    return any((s in ("*", service)) and re.fullmatch(m, method) and re.fullmatch(p, path) for s, m, p in PUBLIC)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


@pytest.mark.parametrize("service", ["registration", "agenda", "results", "notify"])
def test_staff_routes_refuse_anonymous_callers(stack, http, service):
    spec = http.get(stack.url(service, "/openapi.json")).json()
    checked, open_routes = 0, []
    for path, operations in spec["paths"].items():
        for method in operations:
            method = method.upper()
            if method not in ("GET", "POST", "PUT", "PATCH", "DELETE") or _public(service, method, path):
                continue
            answer = http.request(method, stack.url(service, _concrete(path)), follow_redirects=False)
            checked += 1
            if answer.status_code not in (401, 403, 404, 422, 303, 307) or (
                answer.status_code in (303, 307) and "/staff/login" not in answer.headers.get("location", "")
            ):
                open_routes.append(f"{method} {path} -> {answer.status_code}")
            elif answer.status_code in (404, 422) and not SELF_SERVICE.search(path):
                open_routes.append(f"{method} {path} -> {answer.status_code}: no auth check before the lookup")
    assert not open_routes, open_routes
    assert checked > 0

