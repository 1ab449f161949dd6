"""`make up`'s launcher: everything starts, a crashed service comes back, SIGTERM leaves no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from shared.embedded import free_port
from shared.testing import ROOT, eventually


def _children(pid: int) -> set[int]:
    """Every descendant of a process (from /proc)."""
    found, frontier = set(), {pid}
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = (task / "children").read_text().split() if (task / "children").exists() else []
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    frontier.add(child)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[1].split()[0] == "Z")


def test_the_launcher_supervises_the_stack_and_stops_it_cleanly(tmp_path):
    ports = {name: free_port() for name in ("KAFKA", "MONGODB", "SMTP", "REGISTRATION", "AGENDA", "RESULTS", "NOTIFY")}
    env = {**os.environ, "FORUM_DATA_DIR": str(tmp_path), **{f"{k}_PORT": str(v) for k, v in ports.items()}}
    env.pop("SMTP_HOST", None)
    launcher = subprocess.Popen([sys.executable, "-m", "shared.launcher"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and "Ctrl-C stops everything." not in "".join(lines):
            line = launcher.stdout.readline()  # type: ignore[union-attr]
            assert line or launcher.poll() is None, "".join(lines)
            lines.append(line)
        output = "".join(lines)
        assert f"http://127.0.0.1:{ports['REGISTRATION']}/" in output and "admin /" in output
        descendants = _children(launcher.pid)
        assert len(descendants) >= 7  # broker, store, SMTP sink, four services

        def ready(port: int) -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                    return answer.status == 200
            except OSError:
                return False

        workshops = urllib.request.urlopen(f"http://127.0.0.1:{ports['REGISTRATION']}/api/v1/workshops", timeout=5).read()
        assert b"tf2-ws1" in workshops  # Themenforum 2 is seeded

        notify_pid = int(subprocess.check_output(["pgrep", "-f", "-P", str(launcher.pid), "services.notify"]).split()[0])
        os.kill(notify_pid, signal.SIGKILL)
        eventually(lambda: _new_pid(launcher.pid, "services.notify", notify_pid), timeout=30)
        eventually(lambda: ready(ports["NOTIFY"]), timeout=90)
        assert (tmp_path / "admin-password").exists() and (tmp_path / "mongodb").is_dir()

        descendants = _children(launcher.pid)
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(60) == 0
        eventually(lambda: not any(_alive(pid) for pid in descendants), timeout=20)
    finally:
        if launcher.poll() is None:
            launcher.kill()


def _new_pid(parent: int, pattern: str, old: int) -> bool:
    try:
        pids = [int(p) for p in subprocess.check_output(["pgrep", "-f", "-P", str(parent), pattern]).split()]
    except subprocess.CalledProcessError:
        return False
    return bool(pids) and old not in pids
