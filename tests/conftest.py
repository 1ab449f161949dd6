"""Session fixtures: the real embedded platform, and clients for HTTP, Kafka and MongoDB."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from shared.testing import Stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """Tansu, SecantusDB, the SMTP sink and all four services, started once per session.

    Its folder comes from mkdtemp, not tmp_path_factory: pytest prunes old basetemp folders,
    and a parallel session on the same machine would delete a running stack's database.
    """
    platform = Stack()
    try:
        platform.start()
    except Exception:
        for name in ("kafka", "mongodb", *platform.services):
            log = platform.logs / f"{name}.log"
            if log.exists():
                print(f"--- {name} log ---\n{log.read_text(errors='replace')[-4000:]}")
        platform.stop()
        raise
    yield platform
    platform.stop()
    if os.environ.get("KEEP_TEST_LOGS"):
        print(f"test logs in {platform.logs}")
    else:
        shutil.rmtree(platform.base, ignore_errors=True)


@pytest.fixture(scope="session")
def mongo(stack: Stack) -> Iterator[MongoClient[dict[str, Any]]]:
    """A plain PyMongo client on the embedded store, for looking into each service's database."""
    client: MongoClient[dict[str, Any]] = MongoClient(stack.mongodb_url, tz_aware=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


ISSUED: list[dict[str, Any]] = []  # every person the tests made, for the privacy scan of the logs


@pytest.fixture(scope="module")
def staff(stack: Stack) -> Iterator[httpx.Client]:
    """A browser-like client logged in as staff (the session cookie serves every service)."""
    with httpx.Client(timeout=30) as client:
        stack.staff_session(client)
        yield client


def person(**overrides: Any) -> dict[str, Any]:
    """A valid registration body with a unique e-mail address and a unique last name."""
    tag = uuid.uuid4().hex[:10]
    body = {
        "first_name": "Ada", "last_name": f"Beispiel-{tag}", "email": f"ada.{tag}@example.org",
        "organisation": "Stadt Bochum", "role": "Referentin", "actor_group": "municipality", "municipality": "Bochum",
        "preferences": ["tf2-ws3", "tf2-ws1"], "motivation": "", "language": "de", "consent": True,
    }
    body.update(overrides)
    ISSUED.append(body)
    return body


ACK_SUBJECTS = ("Anmeldung eingegangen", "Registration received")


def acknowledgements(stack: Stack, email: str) -> list[Any]:
    """The acknowledgement mails (not decision mails) that reached one address."""
    return [m for m in stack.mails(to=email) if str(m["Subject"]).startswith(ACK_SUBJECTS)]
