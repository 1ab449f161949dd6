"""No personal data in logs: the redaction processor."""

from __future__ import annotations

import io
import json
import logging
from contextlib import redirect_stdout

import structlog

from shared.logging import configure_logging, redact_text


def test_e_mail_addresses_tokens_and_bearer_secrets_are_redacted_from_text():
    text = redact_text("mail ada.b@example.org at /status/1?token=abc123&lang=de with Bearer s3cr3t.x")
    assert "ada.b@example.org" not in text and "abc123" not in text and "s3cr3t" not in text
    assert "lang=de" in text


def test_personal_keys_and_values_never_reach_a_log_line():
    out = io.StringIO()
    with redirect_stdout(out):
        configure_logging("test", json=True)
        structlog.get_logger().info("registered", first_name="Ada", last_name="Beispiel", email="ada@example.org",
                                    note="write to bob@example.com", nested={"organisation": "Stadt Bochum", "count": 3})
        logging.getLogger("aiokafka").warning("failed for carol@example.net")
    lines = out.getvalue().strip().splitlines()
    record = json.loads(lines[0])
    assert record["first_name"] == record["last_name"] == record["email"] == "[redacted]"
    assert record["nested"] == {"organisation": "[redacted]", "count": 3}
    assert "bob@example.com" not in out.getvalue() and "carol@example.net" not in out.getvalue()
    assert "Ada" not in out.getvalue() and "Beispiel" not in out.getvalue()
