"""Composition root of the registration service."""

from __future__ import annotations

from pathlib import Path

from shared import topics
from shared.runtime import ServiceRuntime

from fastapi.staticfiles import StaticFiles

from . import (api, catalogue, console, console_stream, erasure, export, invitations, invitations_api, keys, notices,
               pages, retention, setup_api, setup_pages, staff_accounts, staff_accounts_pages, staff_api, store, windows)
from .handlers import consumer
from .intake import Intake
from .settings import RegistrationSettings


async def _seed(runtime: ServiceRuntime) -> None:
    path = runtime.settings.forum_seed_file  # type: ignore[attr-defined]
    if path:
        await catalogue.apply_seed(runtime, Path(path))


async def _indexes(db) -> None:  # type: ignore[no-untyped-def]
    await store.ensure_indexes(db)
    await invitations.ensure_indexes(db)
    await notices.ensure_indexes(db)
    await retention.ensure_indexes(db)
    await keys.ensure_indexes(db)


async def _windows(runtime: ServiceRuntime) -> None:
    runtime.spawn(windows.run_windows(runtime, runtime.clock, runtime.settings.window_check_interval_s),  # type: ignore[attr-defined]
                  name="registration-windows")


async def _retention(runtime: ServiceRuntime) -> None:
    await notices.record_all(runtime)
    settings = runtime.settings
    runtime.spawn(retention.run_retention(runtime, runtime.clock, settings.retention_days,  # type: ignore[attr-defined]
                                          settings.retention_check_interval_s), name="registration-retention")  # type: ignore[attr-defined]


def create_app(settings: RegistrationSettings | None = None):  # type: ignore[no-untyped-def]
    """Build the registration service."""
    settings = settings or RegistrationSettings()
    runtime = ServiceRuntime(
        settings,
        consumer=consumer,
        publishes=(topics.CATALOGUE, topics.REGISTRATIONS, topics.SELECTION, topics.STAFF, topics.KEYS),
        indexes=_indexes,
        on_start=[_seed, _windows, _retention, console_stream.start_hub],
        issues_keys=True,
    )
    runtime.clock = windows.Clock(settings.clock_file)  # type: ignore[attr-defined]
    app = runtime.create_app(
        title="Themenforum – Registration",
        description="Forum catalogue, registrations and participant selection.",
        routers=[api.router, erasure.router, export.router, staff_api.router, setup_api.router, invitations_api.router,
                 invitations_api.public, pages.router, setup_pages.router, console.router, console_stream.router,
                 staff_accounts.router, staff_accounts_pages.router],
    )
    app.state.clock = runtime.clock  # type: ignore[attr-defined]
    app.state.intake = intake = Intake(runtime, api.token_hash, runtime.clock)  # type: ignore[attr-defined]

    async def start_intake(rt: ServiceRuntime) -> None:
        rt.spawn(intake.run(), name="intake-committer")
        rt.spawn(keys.run_tombstones(rt), name="key-tombstones")

    runtime.on_start.append(start_intake)
    app.mount("/assets/registration", StaticFiles(directory=Path(__file__).parent / "static"), name="registration-assets")
    return app
