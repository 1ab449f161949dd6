"""Composition root of the registration service."""

from __future__ import annotations

from pathlib import Path

from shared import topics
from shared.runtime import ServiceRuntime

from fastapi.staticfiles import StaticFiles

from . import api, catalogue, console, erasure, pages, staff_accounts, staff_accounts_pages, staff_api, store
from .handlers import consumer
from .settings import RegistrationSettings


async def _seed(runtime: ServiceRuntime) -> None:
    path = runtime.settings.forum_seed_file  # type: ignore[attr-defined]
    if path:
        await catalogue.apply_seed(runtime, Path(path))


def create_app(settings: RegistrationSettings | None = None):  # type: ignore[no-untyped-def]
    """Build the registration service."""
    settings = settings or RegistrationSettings()
    runtime = ServiceRuntime(
        settings,
        consumer=consumer,
        publishes=(topics.CATALOGUE, topics.REGISTRATIONS, topics.SELECTION, topics.STAFF),
        indexes=store.ensure_indexes,
        on_start=[_seed],
    )
    app = runtime.create_app(
        title="Themenforum – Registration",
        description="Forum catalogue, registrations and participant selection.",
        routers=[api.router, erasure.router, staff_api.router, pages.router, console.router,
                 staff_accounts.router, staff_accounts_pages.router],
    )
    app.mount("/assets/registration", StaticFiles(directory=Path(__file__).parent / "static"), name="registration-assets")
    return app
