"""Composition root of the agenda service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from shared import topics
from shared.runtime import ServiceRuntime

from . import api, pages, store
from .handlers import consumer
from .seed import apply_seed
from .settings import AgendaSettings

STATIC = Path(__file__).parent / "static"


async def _seed(runtime: ServiceRuntime) -> None:
    path = runtime.settings.agenda_seed_file  # type: ignore[attr-defined]
    if path and Path(path).exists():
        await apply_seed(runtime, Path(path))


def create_app(settings: AgendaSettings | None = None) -> FastAPI:
    """Build the agenda service."""
    runtime = ServiceRuntime(
        settings or AgendaSettings(), consumer=consumer, publishes=(topics.AGENDA, topics.PARTICIPANTS),
        indexes=store.ensure_indexes, on_start=[_seed],
    )
    app = runtime.create_app(
        title="Themenforum – Agenda", description="Agendas, rooms, moderators and breakout groups.",
        routers=[api.router, pages.router],
    )
    app.mount("/agenda-static", StaticFiles(directory=STATIC), name="agenda-static")
    return app
