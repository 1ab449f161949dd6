"""A local SMTP sink for the embedded mode: stores every message as an .eml file.

Run: python -m shared.smtp_sink --port 1025 --maildir var/mail
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class MaildirHandler:
    """Writes each accepted message to `<maildir>/<time>-<n>.eml` atomically."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.counter = itertools.count()

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        name = f"{time.time_ns()}-{os.getpid()}-{next(self.counter)}.eml"
        tmp = self.maildir / f".{name}.tmp"
        content = envelope.original_content or b""
        header = f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n".encode()
        tmp.write_bytes(header + content)
        tmp.rename(self.maildir / name)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    args.maildir.mkdir(parents=True, exist_ok=True)
    controller = Controller(MaildirHandler(args.maildir), hostname=args.host, port=args.port)
    controller.start()
    print(f"smtp sink listening on {args.host}:{args.port}, writing to {args.maildir}", flush=True)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
