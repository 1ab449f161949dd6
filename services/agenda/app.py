"""Composition root of the agenda service."""

from __future__ import annotations

from fastapi import FastAPI

from shared import topics
from shared.runtime import ServiceRuntime

from . import api, store
from .handlers import consumer
from .settings import AgendaSettings


def create_app(settings: AgendaSettings | None = None) -> FastAPI:
    """Build the agenda service."""
    runtime = ServiceRuntime(
        settings or AgendaSettings(), consumer=consumer, publishes=(topics.AGENDA,), indexes=store.ensure_indexes
    )
    return runtime.create_app(
        title="Themenforum – Agenda", description="Agendas, rooms, moderators and breakout groups.", routers=[api.router]
    )
