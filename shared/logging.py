"""structlog set-up: JSON when not a TTY, personal data redacted from every line."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

# Keys whose values are personal data; their values never reach a log line.
PERSONAL_KEYS = frozenset(
    {
        "first_name", "last_name", "name", "full_name", "email", "e_mail", "recipient",
        "organisation", "organization", "role", "motivation", "phone", "contact",
        "token", "password", "authorization", "cookie",
    }
)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
TOKEN_QUERY_RE = re.compile(r"(token|password)=[^&\s\"']+", re.IGNORECASE)
BEARER_RE = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-]+", re.IGNORECASE)
REDACTED = "[redacted]"


def redact_text(text: str) -> str:
    """Remove e-mail addresses, tokens in query strings and bearer tokens."""
    text = EMAIL_RE.sub(REDACTED, text)
    text = TOKEN_QUERY_RE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return BEARER_RE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def _redact(value: Any, key: str | None = None) -> Any:
    if key is not None and key.lower() in PERSONAL_KEYS:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v) for v in value]
    return value


def redact_personal_data(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: redact personal data from every key and value."""
    return {k: _redact(v, k) for k, v in event_dict.items()}


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def configure_logging(service: str, *, level: str = "INFO", json: bool | None = None) -> None:
    """Configure structlog and the stdlib root logger for one service process."""
    json = (not sys.stdout.isatty()) if json is None else json
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_personal_data,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries (aiokafka, uvicorn, pymongo) log through the stdlib: redact those lines too.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_RedactingFormatter(f"%(asctime)s {service} %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True


def get_logger(**bound: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger with the given keys bound."""
    return structlog.get_logger().bind(**bound)
