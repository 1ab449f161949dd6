"""`make up`: the whole platform on the embedded stack, supervised.

The broker is the root of the supervision tree: Tansu keeps its log in memory, and after a
broker restart running consumers never recover (ARCHITECTURE §8), so when it dies every
service is restarted with it. A crashed service alone is restarted alone. Ctrl-C or SIGTERM
stops everything, services first, and no child outlives the launcher.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
import urllib.request
from pathlib import Path

from shared import embedded
from shared.embedded import Child

ROOT = Path(__file__).resolve().parents[1]


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def wait_ready(child: Child, *, timeout: float = 120.0) -> None:
    """Wait until a service answers /readyz with 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive:
            raise RuntimeError(f"{child.name} exited during start-up; see its log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{child.port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{child.name} not ready after {timeout}s")


def _secret(var: Path, env_name: str, file_name: str, length: int = 32) -> str:
    """A secret from the environment, else kept in var/ across restarts, else made now."""
    if os.environ.get(env_name):
        return os.environ[env_name]
    path = var / file_name
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(length)
    path.write_text(value)
    path.chmod(0o600)
    return value


class Supervisor:
    """Starts the stack in order, restarts what crashes, stops it in reverse order."""

    def __init__(self, var: Path) -> None:
        self.var = var
        self.logs = var / "log"
        self.stopping = False
        var.mkdir(parents=True, exist_ok=True)
        self.token = _secret(var, "FORUM_BOOTSTRAP_TOKEN", "bootstrap-token")
        self.admin_password = _secret(var, "FORUM_ADMIN_PASSWORD", "admin-password", length=12)
        session_secret = _secret(var, "FORUM_SESSION_SECRET", "session-secret")
        kafka_port, mongo_port = _port("KAFKA_PORT", 9092), _port("MONGODB_PORT", 27017)
        self.kafka = embedded.tansu(kafka_port, self.logs / "kafka.log")
        self.mongodb = embedded.secantus(mongo_port, var / "mongodb", self.logs / "mongodb.log")
        self.reaper = embedded.TransactionReaper(embedded.mongodb_url(mongo_port))
        self.smtp: Child | None = None
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
            "MONGODB_URL": embedded.mongodb_url(mongo_port),
            "FORUM_BOOTSTRAP_TOKEN": self.token,
            "FORUM_ADMIN_PASSWORD": self.admin_password,
            "FORUM_SESSION_SECRET": session_secret,
            "FORUM_SEED_FILE": os.environ.get("FORUM_SEED_FILE", str(ROOT / "deploy" / "seed" / "themenforum-2.json")),
            "AGENDA_SEED_FILE": os.environ.get("AGENDA_SEED_FILE", str(ROOT / "deploy" / "seed" / "themenforum-2-agenda.json")),
            "LOG_JSON": "true",
        }
        if not os.environ.get("SMTP_HOST"):
            smtp_port = _port("SMTP_PORT", 1025)
            self.smtp = embedded.smtp_sink(smtp_port, var / "mail", self.logs / "smtp.log")
            env.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)})
        ports = {name: _port(f"{name.upper()}_PORT", default) for name, default in embedded.SERVICES.items()}
        for name, port in ports.items():
            env.setdefault(f"{name.upper()}_PUBLIC_URL", os.environ.get(f"{name.upper()}_PUBLIC_URL", f"http://127.0.0.1:{port}"))
        self.services = [embedded.service(name, port, env, self.logs / f"{name}.log") for name, port in ports.items()]
        self.restarts: dict[str, float] = {}

    def start(self) -> None:
        print("Starting the embedded stack …", flush=True)
        self._start_infra(self.kafka)
        self._start_infra(self.mongodb, timeout=60)
        self.reaper.start()
        if self.smtp:
            self._start_infra(self.smtp)
        for child in self.services:
            child.start()
        for child in self.services:
            wait_ready(child)
        self._print_urls()

    def _start_infra(self, child: Child, timeout: float = 30) -> None:
        child.start()
        embedded.wait_for_port(child.port, timeout=timeout, proc=child.proc)

    def _print_urls(self) -> None:
        svc = {c.name: c.port for c in self.services}
        lines = [
            "",
            "Themenforum läuft / is running:",
            f"  Anmeldung (public form)     http://127.0.0.1:{svc['registration']}/",
            f"  Workshops API               http://127.0.0.1:{svc['registration']}/api/v1/workshops",
            f"  Auswahl-Konsole (staff)     http://127.0.0.1:{svc['registration']}/staff/fora/themenforum-2",
            f"  Agenda-Editor (staff)       http://127.0.0.1:{svc['agenda']}/staff/agenda/themenforum-2",
            f"  Öffentliche Agenda          http://127.0.0.1:{svc['agenda']}/workshops/tf2-ws1",
            f"  Live-Dashboard (staff)      http://127.0.0.1:{svc['results']}/dashboard",
            f"  Ergebnisbericht (report)    http://127.0.0.1:{svc['results']}/api/v1/reports/themenforum-2",
            f"  Zustellprotokoll (staff)    http://127.0.0.1:{svc['notify']}/staff/deliveries",
            f"  API documents               /docs and /asyncapi on every service",
            f"  Kafka (Tansu)               127.0.0.1:{self.kafka.port}",
            f"  MongoDB (SecantusDB)        mongodb://127.0.0.1:{self.mongodb.port}/?directConnection=true&retryWrites=false",
        ]
        if self.smtp:
            lines.append(f"  SMTP sink                   127.0.0.1:{self.smtp.port} → {self.var / 'mail'}")
        lines += [f"  Staff log-in                admin / {self.admin_password}  (also in {self.var / 'admin-password'})",
                  f"  Staff token                 {self.var / 'bootstrap-token'} (Authorization: Bearer …)",
                  f"  Logs                        {self.logs}", "", "Ctrl-C stops everything.", ""]
        print("\n".join(lines), flush=True)

    def watch(self) -> None:
        """Restart what died until asked to stop."""
        while not self.stopping:
            time.sleep(1)
            if self.stopping:
                break
            if not self.kafka.alive:
                print("broker died: restarting it and every service", flush=True)
                for child in self.services:
                    child.stop()
                self._start_infra(self.kafka)
                for child in self.services:
                    child.start()
                continue
            for infra in (self.mongodb, self.smtp):
                if infra is not None and not infra.alive:
                    print(f"{infra.name} died: restarting it", flush=True)
                    self._start_infra(infra, timeout=60)
            for child in self.services:
                if not child.alive and time.monotonic() - self.restarts.get(child.name, 0) > 2:
                    print(f"{child.name} exited ({child.proc.returncode if child.proc else '?'}): restarting", flush=True)
                    self.restarts[child.name] = time.monotonic()
                    child.start()

    def stop(self) -> None:
        for child in self.services:
            if child.proc and child.proc.poll() is None:
                child.proc.terminate()
        for child in self.services:
            child.stop(grace=8)
        self.reaper.stop()
        for infra in (self.smtp, self.mongodb, self.kafka):
            if infra is not None:
                infra.stop()
        print("Themenforum stopped.", flush=True)


def main() -> None:
    var = Path(os.environ.get("FORUM_DATA_DIR", ROOT / "var"))
    supervisor = Supervisor(var)

    def request_stop(_signum: int, _frame: object) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        supervisor.start()
        supervisor.watch()
    except Exception as exc:
        print(f"start-up failed: {exc}", file=sys.stderr, flush=True)
        supervisor.stop()
        sys.exit(1)
    supervisor.stop()


if __name__ == "__main__":
    main()

