"""Group commit for the registration intake: requests that arrive together are stored together.

A single submission costs a handful of round trips and a transaction of its own. Under a
rush (a forum opens, a partner site links to it) requests queue here; one committer takes
everything waiting, answers the duplicate and forum checks with one query each, and writes
all new registrations and their outbox records in one transaction, then publishes them in
one batch. A request waits only for the commit it is part of, so a lone request is not
delayed and a burst is not serialised.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared import keyring, pii
from shared.events import utcnow
from shared.events.catalogue import ForumConfigured
from shared.events.registrations import RegistrationSubmitted
from shared.store import UnitOfWork, run_together

from . import invitations, keys
from .domain import IntakeError, RegistrationCreate, check_against_forum, near_duplicate_ids
from .retention_rules import notice_id
from .selection import organisation_key
from .store import RegistrationStore, forum_org

log = structlog.get_logger()
Answer = tuple[int, dict[str, Any]]


@dataclass
class _Request:
    body: RegistrationCreate
    done: asyncio.Future[Answer]
    invitation: dict[str, Any] | None = None


@dataclass
class _New:
    request: _Request
    doc: dict[str, Any]
    event: RegistrationSubmitted
    token: str
    invitation: dict[str, Any] | None
    issue_key: str | None = None  # a new participant's key, issued with this registration
    clear: RegistrationSubmitted | None = None  # the event before sealing


class Intake:
    """Queues submissions and commits them in groups (one committer per service instance)."""

    def __init__(self, runtime: Any, token_hash: Any, clock: Any, max_batch: int = 200) -> None:
        self.runtime, self.token_hash, self.clock, self.max_batch = runtime, token_hash, clock, max_batch
        self.queue: asyncio.Queue[_Request] = asyncio.Queue()

    async def submit(self, body: RegistrationCreate) -> Answer:
        """Store one submission (with whatever else is waiting); 202 for new, 200 for an existing one."""
        request = _Request(body, asyncio.get_running_loop().create_future())
        self.queue.put_nowait(request)
        return await request.done

    async def run(self) -> None:
        """The committer: take everything waiting, commit it, answer each request."""
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._commit(batch)
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure, the loop lives on
                log.warning("intake.batch_failed", size=len(batch), error=type(exc).__name__)
                for request in batch:
                    if not request.done.done():
                        request.done.set_exception(exc)

    async def _commit(self, batch: list[_Request]) -> None:
        store = RegistrationStore(self.runtime.db)
        checked = await self._check(store, batch)
        if not checked:
            return
        emails = sorted({str(r.body.email).lower() for r, _ in checked})
        known = await store.by_emails(emails)
        participants = {d["email_lower"]: d["participant_id"] for d in known}
        existing = {(d["forum_id"], d["email_lower"]): d for d in known}
        colleagues = await store.same_organisations({(f.forum_id, organisation_key(r.body.organisation)) for r, f in checked})
        new: list[_New] = []
        for request, forum in checked:
            email = str(request.body.email).lower()
            if (forum.forum_id, email) in existing:
                request.done.set_result((200, existing_answer(existing[(forum.forum_id, email)])))
                continue
            item = self._prepare(request, forum, participants.get(email), colleagues)
            existing[(forum.forum_id, email)] = item.doc
            participants[email] = item.event.participant_id
            new.append(item)
        if new:
            await self._seal(store, new)
            await self._store(new)

    async def _seal(self, store: RegistrationStore, new: list[_New]) -> None:
        """Seal each event's personal fields with its participant's key (one read; new people get a new key)."""
        owned = await keyring.keys_for(store.db, [n.event.participant_id for n in new])
        for n in new:
            pid = n.event.participant_id
            if pid not in owned:
                owned[pid] = n.issue_key = pii.new_key()
            n.clear, n.event = n.event, keys.seal_submitted(n.event, owned[pid])

    async def _check(self, store: RegistrationStore, batch: list[_Request]) -> list[tuple[_Request, ForumConfigured]]:
        """Each request against its forum (read once per batch) and its invitation; misfits get their 422 now."""
        named = {r.body.forum_id for r in batch if r.body.forum_id}
        found = await store.get_fora(named) if named else {}
        if any(not r.body.forum_id for r in batch) and (default := await store.default_forum()) is not None:
            found[""] = default
        workshops_of = await store.workshop_ids_of({f.forum_id for f in found.values()}) if found else {}
        now, checked = self.clock.now(), []
        for request in batch:
            forum = found.get(request.body.forum_id or "")
            workshops = workshops_of.get(forum.forum_id, set()) if forum else set()
            try:
                check_against_forum(request.body, forum, workshops, now)
                request.invitation = await invitations.check_invitation(store.db, forum.forum_id, request.body)  # type: ignore[union-attr]
            except IntakeError as exc:
                request.done.set_exception(exc)
                continue
            assert forum is not None
            checked.append((request, forum))
        return checked

    def _prepare(self, request: _Request, forum: ForumConfigured, participant_id: str | None,
                 colleagues: dict[tuple[str, str], list[dict[str, Any]]]) -> _New:
        body, registration_id, token = request.body, str(uuid.uuid4()), secrets.token_urlsafe(32)
        submitted = RegistrationSubmitted(
            registration_id=registration_id, forum_id=forum.forum_id, participant_id=participant_id or str(uuid.uuid4()),
            first_name=body.first_name, last_name=body.last_name, email=str(body.email), organisation=body.organisation,
            role=body.role, actor_group=body.actor_group, municipality=body.municipality, preferences=body.preferences,
            language=body.language, consent_version=forum.privacy_notice_version, submitted_at=utcnow(),
            invitation_id=request.invitation["_id"] if request.invitation else None,
        )
        org_key = organisation_key(body.organisation)
        same_org = colleagues.setdefault((forum.forum_id, org_key), [])
        # Flagged for staff, never merged: the same person may well register twice with two addresses on purpose.
        near = near_duplicate_ids(body.first_name, body.last_name, same_org[:200])  # the store reads at most 200
        doc = {
            "_id": registration_id, **submitted.model_dump(mode="json", exclude={"registration_id"}),
            "email_lower": str(body.email).lower(), "motivation": body.motivation, "status": "received",
            "decision_seq": 0, "token_hash": self.token_hash(token), "created_at": utcnow(), "org_key": org_key,
            "forum_org": forum_org(forum.forum_id, org_key),
            "near_duplicate_of": near, "seat": None, **invitations.registration_fields(request.invitation),
            "consent_notice_id": notice_id(forum.forum_id, forum.privacy_notice_version, forum.privacy_notice_text),
        }
        same_org.append({"_id": registration_id, "first_name": body.first_name, "last_name": body.last_name,
                         "status": "received"})
        return _New(request, doc, submitted, token, request.invitation)

    async def _store(self, new: list[_New]) -> None:
        """All new registrations and their outbox records in one transaction; one by one if that fails on a duplicate."""
        units = [self.runtime.unit_of_work(cause=f"registration:{n.doc['_id']}") for n in new]

        async def work() -> None:
            await RegistrationStore(self.runtime.db).insert_many([n.doc for n in new], units[0].session)
            issued = [keys.issue(uow, n.event.participant_id, n.issue_key) for n, uow in zip(new, units, strict=True)
                      if n.issue_key]
            if issued:
                await self.runtime.db[keyring.COLLECTION].insert_many(issued, session=units[0].session)
            for n, uow in zip(new, units, strict=True):
                await invitations.mark_answered(uow, n.invitation, "accepted", n.doc["_id"])
                uow.emit("registration.submitted", subject=n.doc["_id"], data=n.event)

        try:
            await run_together(self.runtime.client, self.runtime.outbox, units, work)
        except (BulkWriteError, DuplicateKeyError):
            # Another instance took one of these addresses in the meantime: settle each on its own.
            for n in new:
                await self._store_one(n)
            return
        for n in new:
            n.request.done.set_result((202, self.accepted_answer(n)))

    async def _store_one(self, n: _New) -> None:
        async def work(uow: UnitOfWork) -> None:
            await RegistrationStore(uow.db).insert(n.doc, uow.session)
            if n.clear is not None:  # the batch's keys were not stored: the key stored now (or found) seals it
                n.event = keys.seal_submitted(n.clear, await keys.key_for(uow, n.clear.participant_id))
            await invitations.mark_answered(uow, n.invitation, "accepted", n.doc["_id"])
            uow.emit("registration.submitted", subject=n.doc["_id"], data=n.event)

        try:
            await self.runtime.unit_of_work(cause=f"registration:{n.doc['_id']}").run(work)
        except DuplicateKeyError:
            found = await RegistrationStore(self.runtime.db).find_by_email(n.event.forum_id, n.doc["email"])
            n.request.done.set_result((200, existing_answer(found or {})))
            return
        n.request.done.set_result((202, self.accepted_answer(n)))

    def accepted_answer(self, n: _New) -> dict[str, Any]:
        base, registration_id = self.runtime.settings.base_url, n.doc["_id"]
        return {"id": registration_id, "status": "received",
                "status_url": f"{base}/api/v1/registrations/{registration_id}?token={n.token}",
                "status_page_url": f"{base}/status/{registration_id}?token={n.token}"}


def existing_answer(doc: dict[str, Any]) -> dict[str, Any]:
    """The answer to a second submission: the existing registration, without its self-service link."""
    return {"id": doc.get("_id"), "status": doc.get("status", "received"), "status_url": None,
            "detail": "Für diese E-Mail-Adresse liegt bereits eine Anmeldung vor; der Statuslink wurde per E-Mail versandt."}
