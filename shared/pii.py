"""Crypto-shredding of personal fields in events: sealed with a per-person key that erasure deletes.

A sealed value is a self-describing string `pii:v1:<owner id>:<base64url(nonce + ciphertext)>`
(AES-256-GCM, 96-bit random nonce). The associated data binds it to its owner (participant id,
or invitation id for invitations) and its field name, so a value moved to another person or
another field does not open. Plain strings pass through `open_value` unchanged: consumers read
events of both data versions (sealed from dataversion 2 on, plain before).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "pii:v1:"
PERSONAL_FIELDS = ("first_name", "last_name", "email", "organisation", "role")
ERASED = "[gelöscht]"  # shown where a value cannot be opened any more (its key was erased)


class SealError(ValueError):
    """A sealed value that does not open with the given key, owner and field."""


def new_key() -> str:
    """A fresh random 256-bit data key (base64url text, as it travels on `forum.keys`)."""
    return _b64(AESGCM.generate_key(bit_length=256))


def is_sealed(value: object) -> bool:
    """Is this a sealed value (rather than plain text)?"""
    return isinstance(value, str) and value.startswith(PREFIX)


def owner_of(value: str) -> str | None:
    """The owner id a sealed value names (None for plain text)."""
    if not is_sealed(value):
        return None
    owner, _, _ = value[len(PREFIX):].rpartition(":")
    return owner or None


def seal(key: str, owner_id: str, field: str, value: str) -> str:
    """Seal one field value for its owner; an empty value stays empty (it says nothing)."""
    if not value:
        return value
    nonce = os.urandom(12)
    sealed = AESGCM(_key_bytes(key)).encrypt(nonce, value.encode(), _aad(owner_id, field))
    return f"{PREFIX}{owner_id}:{_b64(nonce + sealed)}"


def seal_fields(key: str, owner_id: str, values: Mapping[str, str]) -> dict[str, str]:
    """`seal` for several fields of one owner (one cipher object)."""
    cipher = AESGCM(_key_bytes(key))
    out = {}
    for field, value in values.items():
        if value:
            nonce = os.urandom(12)
            value = f"{PREFIX}{owner_id}:{_b64(nonce + cipher.encrypt(nonce, value.encode(), _aad(owner_id, field)))}"
        out[field] = value
    return out


def open_value(key: str | None, owner_id: str, field: str, value: str) -> str:
    """The clear text of a sealed value (plain text passes through); SealError if it does not open."""
    if not is_sealed(value):
        return value
    if not key:
        raise SealError("no key")
    if owner_of(value) != owner_id:
        raise SealError("sealed for another owner")
    try:
        blob = base64.urlsafe_b64decode(value.rpartition(":")[2] + "==")
        return AESGCM(_key_bytes(key)).decrypt(blob[:12], blob[12:], _aad(owner_id, field)).decode()
    except (InvalidTag, ValueError, binascii.Error) as exc:
        raise SealError(type(exc).__name__) from exc


def open_or(keys: Mapping[str, str | None], owner_id: str | None, field: str, value: object,
            placeholder: str = ERASED) -> str:
    """Open with the owner's key from `keys`, or give the placeholder (key erased or not there yet)."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    if not is_sealed(value):
        return value
    owner = owner_id or owner_of(value) or ""
    try:
        return open_value(keys.get(owner), owner, field, value)
    except SealError:
        return placeholder


def _aad(owner_id: str, field: str) -> bytes:
    return f"themenforum/pii/v1\x1f{owner_id}\x1f{field}".encode()


def _key_bytes(key: str) -> bytes:
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    if len(raw) != 32:
        raise SealError("a data key has 256 bits")
    return raw


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
