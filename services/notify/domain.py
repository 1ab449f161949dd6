"""Which message a person gets for which event, and how it reads. No I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.events import derived_id

TEMPLATE_DIR = Path(__file__).parent / "templates" / "mail"
_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)


@dataclass(frozen=True)
class RenderedMail:
    """Subject, plain text and HTML of one message."""

    subject: str
    text: str
    html: str


def delivery_id(cause_event_id: str, recipient_id: str, template: str) -> str:
    """One delivery per (event, recipient, template): the key that makes sending idempotent."""
    return derived_id("delivery", cause_event_id, recipient_id, template)


def render(template: str, language: str, context: dict[str, Any]) -> RenderedMail:
    """Render a mail template in the person's language (German when unknown)."""
    lang = language if language in ("de", "en") else "de"
    subject = _env.get_template(f"{template}.{lang}.subject.txt").render(**context).strip()
    text = _env.get_template(f"{template}.{lang}.txt").render(**context)
    html = _env.get_template(f"{template}.{lang}.html").render(**context)
    return RenderedMail(subject, text, html)


def next_attempt_at(now: datetime, attempt: int, base_s: float, rng: random.Random | None = None) -> datetime:
    """Exponential backoff with full jitter after the given attempt number."""
    rng = rng or random.Random()
    return now + timedelta(seconds=base_s * (2 ** (attempt - 1)) * (0.5 + rng.random()))


def is_permanent(code: int | None) -> bool:
    """SMTP 5xx replies are permanent: retrying will not help."""
    return code is not None and 500 <= code < 600
