"""Composition root of the results service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from shared import topics
from shared.runtime import ServiceRuntime

from . import api, pages, store, stream
from .handlers import consumer
from .settings import ResultsSettings


async def _prepare(runtime: ServiceRuntime) -> None:
    await store.voting_key(runtime.db)  # made once here, so concurrent handlers never race to create it
    await stream.start_hub(runtime)


def create_app(settings: ResultsSettings | None = None) -> FastAPI:
    """Build the results service."""
    runtime = ServiceRuntime(
        settings or ResultsSettings(), consumer=consumer, publishes=(topics.RESULTS, topics.PARTICIPANTS, topics.NOTIFICATIONS), indexes=store.ensure_indexes,
        on_start=[_prepare],
    )
    app = runtime.create_app(
        title="Themenforum – Results", description="Ideas, sketches, votes, reporting and the report.",
        routers=[api.router, stream.router, pages.router],
    )
    app.mount("/results-static", StaticFiles(directory=Path(__file__).parent / "static"), name="results-static")
    return app
