"""Staff accounts, roles and API tokens: the pure rules (hashing, token format, role checks).

Accounts are owned by the registration service and travel as `forum.staff` events; every
service projects them (`shared.accounts.projection`) so it can check log-ins, roles, tokens
and revocations locally. `python -m shared.accounts` is the operators' command line.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.events.staff import StaffRole

ROLES: tuple[str, ...] = tuple(r.value for r in StaffRole)
ANY_STAFF = "viewer"  # a requirement of "viewer" means: any staff member (viewer and up)
BUILTIN_ADMIN = "admin"  # the operators' account whose password comes from FORUM_ADMIN_PASSWORD
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,62}")
TOKEN_PREFIX = "tf_"

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 "low memory" defaults
_DUMMY_HASH = _hasher.hash("never-a-password")


def hash_password(password: str) -> str:
    """The argon2id hash of a password (salted, self-describing)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Does the password match the hash? Takes as long for unknown accounts (hash None)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_fingerprint(password_hash: str | None) -> str:
    """A short digest of the hash that a session carries, so a password change ends old sessions."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def valid_username(username: str) -> bool:
    """Lower-case letters, digits, dot, dash, underscore; 2-63 characters."""
    return bool(USERNAME.fullmatch(username))


def new_token() -> tuple[str, str]:
    """A fresh API token and its id (the id is public, the rest is the secret)."""
    token_id = secrets.token_hex(6)
    return token_id, f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """SHA-256 of a token: tokens are long random strings, so a fast hash is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


def effective_roles(token_roles: Iterable[str], account_roles: Iterable[str]) -> tuple[str, ...]:
    """What a token may do now: its roles that its account still holds (admins keep the token's)."""
    account = set(account_roles)
    roles = [r for r in token_roles if r in account or "admin" in account]
    return tuple(dict.fromkeys(roles))


def allowed(roles: Iterable[str], workshops: Iterable[str], required: Iterable[str], workshop: str | None = None) -> bool:
    """May a member with these roles do something that needs one of `required` (in `workshop`)?"""
    held = set(roles)
    if "admin" in held:
        return True
    for need in required:
        if need == ANY_STAFF and held:
            return True
        if need == "moderator" and "moderator" in held:
            if workshop is None or workshop in set(workshops):
                return True
        elif need in held and need != "moderator":
            return True
    return False
