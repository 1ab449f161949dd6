"""Composition root of the notify service."""

from __future__ import annotations

from fastapi import FastAPI

from shared import topics
from shared.runtime import ServiceRuntime

from . import api, store
from .handlers import consumer
from .sender import MailSender
from .settings import NotifySettings


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    """Build the notify service."""
    settings = settings or NotifySettings()

    async def start_sender(runtime: ServiceRuntime) -> None:
        sender = MailSender(runtime, settings)
        runtime.spawn(sender.run_forever(), name="mail-sender")

    runtime = ServiceRuntime(
        settings, consumer=consumer, publishes=(topics.NOTIFICATIONS,), indexes=store.ensure_indexes,
        on_start=[start_sender],
    )
    return runtime.create_app(
        title="Themenforum – Notify", description="E-mail, delivery log, reminders and webhooks.", routers=[api.router]
    )
