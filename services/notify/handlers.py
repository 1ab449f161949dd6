"""Bus subscribers of the notify service: decide which mail (and which webhook call) an event causes."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from shared import keyring
from shared.consumer import Batch, EventConsumer, Handler
from shared.events import CATALOGUE, CloudEvent
from shared.events.agenda import AgendaPublished, AgendaUpdated
from shared.events.catalogue import ForumConfigured, WorkshopConfigured
from shared.events.notifications import NotificationRequested
from shared.events.participants import ParticipantErased, ParticipantErasureRequested
from shared.events.registrations import InvitationSent
from shared.events.results import ResultFinalized
from shared.events.selection import SelectionDecided
from shared.projections import apply_decision_transitions, project_forum, project_workshop
from shared.store import UnitOfWork

from .domain import TEMPLATES, decision_template
from .mailqueue import Mail, queue_mail, queue_mails
from .scheduler import plan_reminders
from .store import NotifyStore
from .webhooks import queue_webhooks_many

consumer = EventConsumer()
_handlers: dict[str, Handler] = {}


def on(*types: str) -> Any:
    """Register the mail-side handler of event types (webhooks are added to every type below)."""
    def register(fn: Handler) -> Handler:
        _handlers.update(dict.fromkeys(types, fn))
        return fn
    return register


@on("forum.configured")
async def on_forum(event: CloudEvent[ForumConfigured], uow: UnitOfWork) -> None:
    """Follow the catalogue and (re)plan the forum's reminders."""
    await project_forum(uow.db, event.data, uow.session)
    reminders = plan_reminders(event.data, consumer.settings.reminder_days_before, event.time)  # type: ignore[attr-defined]
    await NotifyStore(uow.db).schedule_reminders(event.data.forum_id, reminders, uow.session)


@on("workshop.configured")
async def on_workshop(event: CloudEvent[WorkshopConfigured], uow: UnitOfWork) -> None:
    await project_workshop(uow.db, event.data, uow.session)


async def acknowledge_registrations(batch: Batch) -> list[Mail]:
    """Remember how to reach each person, release mails that waited for them; the acknowledgements to queue."""
    uow0 = batch[0][1]
    store = NotifyStore(uow0.db)
    people = {e.data.participant_id: e.data for e, _ in batch}
    await store.save_recipients({pid: {"email": d.email, "first_name": d.first_name, "last_name": d.last_name,
                                       "language": d.language.value} for pid, d in people.items()}, uow0.session)
    await store.release_waiting_many({pid: d.email for pid, d in people.items()}, batch[-1][0].time, uow0.session)
    return [Mail(e.id, e.data.participant_id, "acknowledgement", e.data.forum_id, language=e.data.language.value,
                 key=f"registration:{e.data.registration_id}") for e, _ in batch]


async def on_decisions(batch: Batch) -> list[Mail]:
    """Exactly one mail per decision change: older or repeated decisions (by decision_seq) send nothing."""
    uow0 = batch[0][1]
    answers = await apply_decision_transitions(uow0.db, [e.data for e, _ in batch], uow0.session)
    return [mail for (event, _), (previous, newer) in zip(batch, answers, strict=True) if newer
            and (mail := decision_mail(event, previous)) is not None]


def decision_mail(event: CloudEvent[SelectionDecided], previous: dict[str, Any] | None) -> Mail | None:
    """The mail a newer decision causes, if any."""
    d = event.data
    before = previous or {"status": d.previous_status and d.previous_status.value, "workshop_id": d.previous_workshop_id}
    template = decision_template(before, d.status.value, d.workshop_id)
    if template is None:
        return None
    context = {"waitlist_position": d.waitlist_position, "explanation": d.explanation}
    workshop_id = d.workshop_id or (before.get("workshop_id") if template == "cancelled" else None)
    return Mail(event.id, d.participant_id, template, d.forum_id, workshop_id=workshop_id, language=d.language.value,
                context=context, key=f"decision:{d.registration_id}:{d.decision_seq}")


@on("invitation.sent")
async def on_invitation(event: CloudEvent[InvitationSent], uow: UnitOfWork) -> None:
    """Mail a stakeholder their personal invitation link (or a reminder of it); one mail per invitation and round."""
    d = event.data
    await NotifyStore(uow.db).save_recipient(d.invitation_id, {"email": d.email, "first_name": d.first_name,
                                                               "last_name": d.last_name, "language": d.language.value}, uow.session)
    await queue_mail(uow, Mail(event.id, d.invitation_id, "invitation_reminder" if d.reminder else "invitation", d.forum_id,
                               workshop_id=d.workshop_id, language=d.language.value,
                               context={"invitation_url": d.invitation_url, "decline_url": d.decline_url},
                               key=f"invitation:{d.invitation_id}:{d.sequence}"))


@on("agenda.published", "agenda.updated")
async def on_agenda(event: CloudEvent[AgendaPublished], uow: UnitOfWork) -> None:
    """A newer agenda goes to the workshop's accepted participants only, with what changed."""
    d = event.data
    items = [i.model_dump(mode="json") for i in d.items]
    store = NotifyStore(uow.db)
    if not await store.save_agenda(d.workshop_id, d.version, items, uow.session):
        return
    diff = d.diff.model_dump(mode="json") if isinstance(d, AgendaUpdated) else None
    context = {"diff": diff, "agenda_snapshot": {"version": d.version, "items": items}}
    accepted = await store.accepted(workshop_id=d.workshop_id, session=uow.session)
    await queue_mails(uow, [Mail(event.id, a["participant_id"], "agenda_changed", d.forum_id, workshop_id=d.workshop_id,
                                 context=context) for a in accepted])


@on("result.finalized")
async def on_results(event: CloudEvent[ResultFinalized], uow: UnitOfWork) -> None:
    """The workshop's results are out: tell its participants where the report is."""
    d = event.data
    accepted = await NotifyStore(uow.db).accepted(workshop_id=d.workshop_id, session=uow.session)
    await queue_mails(uow, [Mail(event.id, a["participant_id"], "report_available", d.forum_id,
                                 workshop_id=d.workshop_id, key=f"results:{d.workshop_id}") for a in accepted])


@on("notification.requested")
async def on_request(event: CloudEvent[NotificationRequested], uow: UnitOfWork) -> None:
    """Another service asks for a templated mail to a known person."""
    d = event.data
    if d.template not in TEMPLATES:
        raise ValueError(f"unknown template {d.template!r}")
    await queue_mail(uow, Mail(event.id, d.recipient_id, d.template, d.forum_id, workshop_id=d.workshop_id,
                               language=d.language, context=dict(d.context), key=f"request:{d.notification_id}"))


@on("participant.erasure_requested")
async def on_erasure(event: CloudEvent[ParticipantErasureRequested], uow: UnitOfWork) -> None:
    """Forget the person's address and name; mails not yet sent are dropped."""
    pid = event.data.participant_id
    await NotifyStore(uow.db).erase(pid, uow.session)
    await keyring.forget(uow.db, [pid], uow.session)
    uow.emit("participant.erased", subject=pid, data=ParticipantErased(participant_id=pid, service="notify"))


BATCHED = {"registration.submitted": acknowledge_registrations, "selection.decided": on_decisions,
           "selection.overridden": on_decisions}


async def _dispatch(batch: Batch) -> None:
    """A poll's events in order (each partition's in offset order), its mails queued together.

    The acknowledgements and decision mails of consecutive runs are queued in one go (one read of
    the recipients, one insert); before any other handler runs, the mails before it are queued, so
    an erasure still drops every mail its person was sent earlier in the poll.
    """
    uow0, mails = batch[0][1], []
    for event_type, pairs in groupby(batch, key=lambda pair: pair[0].type):
        run = list(pairs)
        if (batched := BATCHED.get(event_type)) is not None:
            mails += await batched(run)
            continue
        await queue_mails(uow0, mails)
        mails = []
        if (handler := _handlers.get(event_type)) is not None:
            for event, uow in run:
                await handler(event, uow)
    await queue_mails(uow0, mails)
    await queue_webhooks_many(uow0, [event for event, _ in batch])


# Every catalogue event can be subscribed to by a webhook, so every topic is consumed.
for _type in CATALOGUE:
    consumer.on_batch(_type, mixed=True)(_dispatch)
