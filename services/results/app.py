"""Composition root of the results service."""

from __future__ import annotations

from fastapi import FastAPI

from shared import topics
from shared.runtime import ServiceRuntime

from . import api, store
from .handlers import consumer
from .settings import ResultsSettings


def create_app(settings: ResultsSettings | None = None) -> FastAPI:
    """Build the results service."""
    runtime = ServiceRuntime(
        settings or ResultsSettings(), consumer=consumer, publishes=(topics.RESULTS,), indexes=store.ensure_indexes
    )
    return runtime.create_app(
        title="Themenforum – Results", description="Ideas, sketches, votes, reporting and the report.", routers=[api.router]
    )
