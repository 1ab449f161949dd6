"""The owner's side (registration service and CLI): change accounts and tokens, and emit the events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import utcnow
from shared.events.staff import StaffAccountChanged, StaffRole, StaffTokenIssued, StaffTokenRevoked
from shared.store import UnitOfWork

from . import BUILTIN_ADMIN, hash_password, new_token, token_hash, valid_username
from .projection import ACCOUNTS, TOKENS, account_doc, find_account


class AccountError(ValueError):
    """A command that cannot be applied; `field` names the input at fault."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


def cause(kind: str) -> str:
    """A unique cause for a staff command (each command is its own unit of work)."""
    return f"staff-{kind}:{uuid.uuid4()}"


def _roles(roles: Sequence[str]) -> list[StaffRole]:
    try:
        return [StaffRole(r) for r in dict.fromkeys(roles)]
    except ValueError as exc:
        raise AccountError("roles", "Unbekannte Rolle.") from exc


async def save_account(uow: UnitOfWork, *, username: str, create: bool, roles: Sequence[str] | None = None,
                       workshops: Sequence[str] | None = None, display_name: str | None = None,
                       password: str | None = None, disabled: bool | None = None) -> dict[str, Any]:
    """Create or change an account; only the given fields change. Emits `staff.account_changed`."""
    if username == BUILTIN_ADMIN or not valid_username(username):
        raise AccountError("username", "Benutzername ungültig oder reserviert.")
    if password is not None and len(password) < 12:
        raise AccountError("password", "Das Passwort muss mindestens 12 Zeichen lang sein.")
    current = await uow.db[ACCOUNTS].find_one({"_id": username}, session=uow.session)
    if create and current is not None:
        raise AccountError("username", "Diesen Benutzernamen gibt es schon.", 409)
    if not create and current is None:
        raise AccountError("username", "Konto nicht gefunden.", 404)
    current = current or {"roles": [], "workshops": [], "display_name": "", "disabled": False, "password_hash": None,
                          "version": 0}
    data = StaffAccountChanged(
        username=username, display_name=current["display_name"] if display_name is None else display_name,
        roles=_roles(current["roles"] if roles is None else roles),
        workshops=list(dict.fromkeys(current["workshops"] if workshops is None else [w for w in workshops if w])),
        disabled=current["disabled"] if disabled is None else disabled,
        password_hash=hash_password(password) if password else current["password_hash"], version=current["version"] + 1)
    doc = account_doc(data)
    await uow.db[ACCOUNTS].replace_one({"_id": username}, doc, upsert=True, session=uow.session)
    uow.emit("staff.account_changed", subject=username, data=data)
    return doc


async def issue_token(uow: UnitOfWork, *, username: str, roles: Sequence[str] | None = None,
                      workshops: Sequence[str] | None = None, label: str = "") -> tuple[str, str]:
    """A new token for an account (roles default to the account's); returns (token id, token)."""
    account = await find_account(uow.db, username) if username == BUILTIN_ADMIN else \
        await uow.db[ACCOUNTS].find_one({"_id": username}, session=uow.session)
    if account is None:
        raise AccountError("username", "Konto nicht gefunden.", 404)
    if account.get("disabled"):
        raise AccountError("username", "Das Konto ist gesperrt.")
    wanted = _roles(account["roles"] if not roles else roles)
    if "admin" not in account["roles"] and any(r.value not in account["roles"] for r in wanted):
        raise AccountError("roles", "Ein Token kann nur Rollen tragen, die das Konto hat.")
    token_id, token = new_token()
    scope = list(dict.fromkeys(account.get("workshops", []) if workshops is None else [w for w in workshops if w]))
    data = StaffTokenIssued(token_id=token_id, token_hash=token_hash(token), username=username, roles=wanted,
                            workshops=scope, label=label, issued_at=utcnow())
    await uow.db[TOKENS].insert_one({"_id": token_id, "hash": data.token_hash, "username": username, "roles": [r.value for r in wanted],
                                     "workshops": scope, "label": label, "issued_at": data.issued_at, "revoked": False},
                                    session=uow.session)
    uow.emit("staff.token_issued", subject=token_id, data=data)
    return token_id, token


async def revoke_token(uow: UnitOfWork, token_id: str) -> None:
    """Revoke a token for good. Emits `staff.token_revoked`."""
    result = await uow.db[TOKENS].update_one({"_id": token_id, "revoked": False},
                                             {"$set": {"revoked": True, "revoked_at": utcnow()}}, session=uow.session)
    if result.matched_count == 0:
        raise AccountError("token_id", "Token nicht gefunden oder schon widerrufen.", 404)
    uow.emit("staff.token_revoked", subject=token_id, data=StaffTokenRevoked(token_id=token_id, revoked_at=utcnow()))


def public_account(doc: dict[str, Any]) -> dict[str, Any]:
    """An account without its password hash."""
    return {"username": doc["_id"], "display_name": doc.get("display_name", ""), "roles": doc.get("roles", []),
            "workshops": doc.get("workshops", []), "disabled": doc.get("disabled", False),
            "has_password": bool(doc.get("password_hash")), "version": doc.get("version", 0)}


def public_token(doc: dict[str, Any]) -> dict[str, Any]:
    """A token record without its hash."""
    return {"token_id": doc["_id"], "username": doc.get("username", ""), "roles": doc.get("roles", []),
            "workshops": doc.get("workshops", []), "label": doc.get("label", ""), "issued_at": doc.get("issued_at"),
            "revoked": doc.get("revoked", False)}


async def list_accounts(db: AsyncDatabase[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every account, by name."""
    return [public_account(d) async for d in db[ACCOUNTS].find().sort("_id", ASCENDING)]


async def list_tokens(db: AsyncDatabase[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every token record, by id."""
    return [public_token(d) async for d in db[TOKENS].find().sort("_id", ASCENDING)]
