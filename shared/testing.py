"""Test support: the whole platform on real embedded servers, on free ports.

`Stack` starts Tansu, SecantusDB, the SMTP sink and the four services as child processes
(exactly as `make up` does), and offers what tests need: URLs, the staff token, the mails
that arrived, and stopping, killing and restarting one service.
"""

from __future__ import annotations

import email
import email.policy
import secrets
import tempfile
import time
from collections.abc import Iterable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from shared import embedded
from shared.embedded import Child

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "deploy" / "seed" / "themenforum-2.json"
AGENDA_SEED = ROOT / "deploy" / "seed" / "themenforum-2-agenda.json"


class Stack:
    """The embedded platform for one test session."""

    def __init__(self, base: Path | None = None, *, services: tuple[str, ...] = tuple(embedded.SERVICES)) -> None:
        self.base = base or Path(tempfile.mkdtemp(prefix="themenforum-test-"))
        self.logs = self.base / "log"
        self.maildir = self.base / "mail"
        self.token = secrets.token_urlsafe(24)
        self.admin_password = secrets.token_urlsafe(12)
        self.kafka = embedded.tansu(embedded.free_port(), self.logs / "kafka.log")
        self.mongodb = embedded.secantus(embedded.free_port(), self.base / "mongodb", self.logs / "mongodb.log")
        self.smtp = embedded.smtp_sink(embedded.free_port(), self.maildir, self.logs / "smtp.log")
        self.bootstrap = f"127.0.0.1:{self.kafka.port}"
        self.mongodb_url = embedded.mongodb_url(self.mongodb.port)
        self.reaper = embedded.TransactionReaper(self.mongodb_url)
        ports = {name: embedded.free_port() for name in services}
        self.env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "MONGODB_URL": self.mongodb_url,
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.smtp.port), "FORUM_BOOTSTRAP_TOKEN": self.token,
            "FORUM_ADMIN_PASSWORD": self.admin_password, "FORUM_SESSION_SECRET": secrets.token_urlsafe(24),
            "FORUM_SEED_FILE": str(SEED), "AGENDA_SEED_FILE": str(AGENDA_SEED), "LOG_JSON": "true", "MAIL_POLL_INTERVAL_S": "0.2",
            # A killed instance's mails in flight go out again after this (60 s by default); the sink answers in ms.
            "MAIL_STALE_AFTER_S": "20",
            **{f"{n.upper()}_PUBLIC_URL": f"http://127.0.0.1:{p}" for n, p in ports.items()},
        }
        self.services: dict[str, Child] = {
            name: embedded.service(name, port, self.env, self.logs / f"{name}.log") for name, port in ports.items()
        }

    # life cycle ---------------------------------------------------------------
    def start(self) -> Stack:
        for infra in (self.kafka, self.mongodb, self.smtp):
            infra.start()
            embedded.wait_for_port(infra.port, timeout=60, proc=infra.proc)
        self.reaper.start()
        for child in self.services.values():
            child.start()
        for name in self.services:
            self.wait_ready(name)
        return self

    def stop(self) -> None:
        for child in self.services.values():
            child.stop(grace=8)
        self.reaper.stop()
        for infra in (self.smtp, self.mongodb, self.kafka):
            infra.stop()

    def wait_ready(self, name: str, timeout: float = 120) -> None:
        from shared.launcher import wait_ready

        wait_ready(self.services[name], timeout=timeout)

    def stop_service(self, name: str) -> None:
        self.services[name].stop(grace=8)

    def kill_service(self, name: str) -> None:
        self.services[name].kill()

    def start_service(self, name: str) -> None:
        """Start one service again; call from the main thread (see shared.embedded._die_with_parent)."""
        self.services[name].start()
        self.wait_ready(name)

    def extra_instance(self, name: str, label: str, **env: str) -> Child:
        """Another process of a service on the same servers (e.g. a second notify in the same consumer groups).

        Not started: call `.start()` from the main thread, `wait_ready` it, and stop or kill it yourself.
        """
        return embedded.service(name, embedded.free_port(), {**self.env, **env}, self.logs / f"{label}.log")

    # access ---------------------------------------------------------------------
    def url(self, name: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.services[name].port}{path}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def staff_session(self, client: Any) -> None:
        """Log a browser-like httpx client in as the admin (the cookie serves every service)."""
        answer = client.post(self.url("registration", "/staff/login"),
                             data={"username": "admin", "password": self.admin_password, "next": "/"}, follow_redirects=False)
        assert answer.status_code == 303, answer.text

    def create_account(self, username: str, roles: list[str], *, workshops: tuple[str, ...] | list[str] = (), password: str | None = None) -> None:
        """Create a staff account through the admin API (registration owns accounts)."""
        import httpx

        body = {"username": username, "roles": roles, "workshops": list(workshops), "password": password}
        answer = httpx.post(self.url("registration", "/api/v1/staff/accounts"), json=body, headers=self.auth, timeout=30)
        assert answer.status_code == 201, answer.text

    def issue_token(self, username: str, *, roles: list[str] | None = None, workshops: list[str] | None = None,
                    wait: bool = True) -> str:
        """An API token for an account, once every service accepts it (the projection travels by Kafka)."""
        import httpx

        body = {"username": username, "roles": roles, "workshops": workshops, "label": "test"}
        answer = httpx.post(self.url("registration", "/api/v1/staff/tokens"), json=body, headers=self.auth, timeout=30)
        assert answer.status_code == 201, answer.text
        token = answer.json()["token"]
        if wait:
            self.wait_for_token(token)
        return str(token)

    def wait_for_token(self, token: str, *, accepted: bool = True, timeout: float = 60) -> None:
        """Wait until every service accepts (or refuses) the token."""
        import httpx

        def check() -> bool:
            codes = [httpx.get(self.url(name, "/api/v1/staff/me"), headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code
                     for name in self.services]
            return all((code == 200) == accepted for code in codes)

        eventually(check, timeout=timeout)

    def role_token(self, role: str, *, workshops: tuple[str, ...] | list[str] = (), wait: bool = True) -> str:
        """A fresh account holding one role (moderators: of `workshops`) and a token for it."""
        username = f"{role}-{secrets.token_hex(4)}"
        self.create_account(username, [role], workshops=list(workshops))
        return self.issue_token(username, wait=wait)

    def mails(self, to: str | None = None) -> list[EmailMessage]:
        """Messages at the SMTP sink, oldest first (optionally only those to one address)."""
        messages = []
        for path in sorted(p for p in self.maildir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if to is None or to.lower() in str(message["To"]).lower():
                messages.append(message)  # type: ignore[arg-type]
        return messages

    def service_log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


def eventually(check: Any, *, timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Call `check` until it returns a truthy value or raises no AssertionError; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met after {timeout}s (last value {value!r})")
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(interval)


def metric_sums(metrics_text: str, names: Iterable[str], **labels: str) -> dict[str, float]:
    """From a service's `/metrics`: each named sample summed over its label sets (those with `labels`, when given)."""
    from prometheus_client.parser import text_string_to_metric_families

    found = dict.fromkeys(names, 0.0)
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name in found and all(sample.labels.get(k) == v for k, v in labels.items()):
                found[sample.name] += sample.value
    return found


def consumer_batch_totals(metrics_text: str) -> tuple[float, float]:
    """From a service's `/metrics`: new events its consumer took and the polls that brought any, so far."""
    found = metric_sums(metrics_text, ("themenforum_consumer_batch_events_sum", "themenforum_consumer_batch_events_count"))
    return found["themenforum_consumer_batch_events_sum"], found["themenforum_consumer_batch_events_count"]


def gc_totals(metrics_text: str) -> tuple[float, float, float]:
    """From a service's `/metrics`: seconds in all garbage collections, and the full ones' seconds and count, so far."""
    names = ("themenforum_gc_pause_seconds_sum", "themenforum_gc_pause_seconds_count")
    full = metric_sums(metrics_text, names, generation="2")
    return metric_sums(metrics_text, names[:1])[names[0]], full[names[0]], full[names[1]]


async def _off_bus(topic: str, key: str, value: bytes, headers: dict[str, str]) -> None:
    return None


def off_bus_outbox(db: Any, **options: Any) -> Any:
    """An outbox on a real database whose events go nowhere (for handler tests that call a handler directly)."""
    from shared.store import Outbox

    return Outbox(db, _off_bus, **options)


def off_bus_unit(client: Any, db: Any, cause: str = "test") -> Any:
    """A unit of work on a real database (no transaction opened) with an off-bus outbox."""
    from shared.store import UnitOfWork

    return UnitOfWork(client, db, off_bus_outbox(db), cause=cause, source="test")
