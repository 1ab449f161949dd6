"""Operators' command line: `python -m shared.accounts create-user|set-roles|disable|create-token|revoke-token|list`.

Writes into the registration service's database (the owner of accounts) with the event in
its outbox; the running registration service publishes it within seconds, and every service
projects it. Reads MONGODB_URL and MONGODB_DATABASE_PREFIX like the services do.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from typing import Any

from shared import store
from shared.settings import ServiceSettings

from . import ROLES
from .commands import AccountError, cause, issue_token, list_accounts, list_tokens, revoke_token, save_account


class _Deferred(Exception):
    """The CLI does not talk to Kafka: the registration service's outbox relay publishes."""


async def _leave_to_relay(*_args: Any) -> None:
    raise _Deferred


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shared.accounts", description="Staff accounts and API tokens.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("create-user", "set-roles"):
        p = sub.add_parser(name)
        p.add_argument("--user", required=True)
        p.add_argument("--role", action="append", choices=ROLES, required=name == "create-user", help="repeatable")
        p.add_argument("--workshop", action="append", help="workshop id a moderator may capture (repeatable)")
        p.add_argument("--name", help="display name")
        if name == "create-user":
            p.add_argument("--password-stdin", action="store_true", help="read the password from stdin, else prompt")
    for name in ("disable", "enable"):
        sub.add_parser(name).add_argument("--user", required=True)
    p = sub.add_parser("create-token")
    p.add_argument("--user", required=True)
    p.add_argument("--role", action="append", choices=ROLES, help="narrow the token to these roles (repeatable)")
    p.add_argument("--workshop", action="append")
    p.add_argument("--label", default="cli")
    sub.add_parser("revoke-token").add_argument("--id", required=True)
    sub.add_parser("list")
    return parser


async def run(args: argparse.Namespace, settings: ServiceSettings) -> dict[str, Any]:
    """Apply one command against the registration database."""
    client = store.connect(settings.mongodb_url)
    db = client[settings.mongodb_database]
    outbox = store.Outbox(db, _leave_to_relay)
    try:
        if args.command == "list":
            return {"accounts": await list_accounts(db), "tokens": await list_tokens(db)}
        uow = store.UnitOfWork(client, db, outbox, cause=cause(args.command), source="registration")
        work = _work(args)
        try:
            result = await uow.run(work)
        except _Deferred:
            result = work.result  # type: ignore[attr-defined]
        return result
    finally:
        await client.close()


def _work(args: argparse.Namespace) -> Any:
    password = None
    if args.command == "create-user":
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Passwort: ")

    async def work(uow: store.UnitOfWork) -> dict[str, Any]:
        if args.command in ("create-user", "set-roles"):
            doc = await save_account(uow, username=args.user, create=args.command == "create-user", roles=args.role,
                                     workshops=args.workshop, display_name=args.name, password=password)
            out: dict[str, Any] = {"username": doc["_id"], "roles": doc["roles"], "workshops": doc["workshops"]}
        elif args.command in ("disable", "enable"):
            doc = await save_account(uow, username=args.user, create=False, disabled=args.command == "disable")
            out = {"username": doc["_id"], "disabled": doc["disabled"]}
        elif args.command == "create-token":
            token_id, token = await issue_token(uow, username=args.user, roles=args.role, workshops=args.workshop,
                                                label=args.label)
            out = {"token_id": token_id, "token": token}
        else:
            await revoke_token(uow, args.id)
            out = {"token_id": args.id, "revoked": True}
        work.result = out  # type: ignore[attr-defined]
        return out

    return work


def main(argv: list[str] | None = None) -> int:
    """Entry point; prints the result as JSON (a new token is shown only here, once)."""
    args = _parser().parse_args(argv)
    settings = ServiceSettings(service_name="registration")
    try:
        result = asyncio.run(run(args, settings))
    except AccountError as exc:
        print(json.dumps({"error": exc.message, "field": exc.field}, ensure_ascii=False), file=sys.stderr)
        return 1
    print(json.dumps(result, default=str, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
