"""Composition root of the notify service."""

from __future__ import annotations

from fastapi import FastAPI

from shared import topics
from shared.consumer import EventConsumer
from shared.runtime import ServiceRuntime

from . import api, pages, store
from .handlers import consumer
from .scheduler import ReminderScheduler
from .sender import MailSender
from .settings import NotifySettings
from .webhooks import WebhookSender


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    """Build the notify service."""
    settings = settings or NotifySettings()
    scheduler_holder: dict[str, ReminderScheduler] = {}

    async def start_loops(runtime: ServiceRuntime) -> None:
        mails, hooks = MailSender(runtime, settings), WebhookSender(runtime, settings)
        # What the consumer queued goes out as soon as it is committed (the senders poll for the rest).
        runtime.consumer.after_batch[:] = [mails.wake.set, hooks.wake.set]
        runtime.spawn(mails.run_forever(), name="mail-sender")
        runtime.spawn(hooks.run_forever(), name="webhook-sender")
        runtime.spawn(scheduler_holder["scheduler"].run_forever(), name="reminder-scheduler")

    runtime = ServiceRuntime(
        settings, consumer=consumer if settings.role == "all" else EventConsumer(), publishes=(topics.NOTIFICATIONS, topics.PARTICIPANTS), indexes=store.ensure_indexes,
        on_start=[start_loops],
    )
    scheduler_holder["scheduler"] = ReminderScheduler(runtime, settings)
    app = runtime.create_app(
        title="Themenforum – Notify", description="E-mail, delivery log, reminders and webhooks.",
        routers=[api.router, pages.router],
    )
    app.state.scheduler = scheduler_holder["scheduler"]
    return app
