"""The composition helper each service's `app.py` uses: store, bus, consumer, HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from pathlib import Path
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, Union

import structlog
from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from faststream.specification import AsyncAPI
from pymongo.asynchronous.database import AsyncDatabase

from shared import bus, keyring, metrics, store
from shared.accounts import projection as staff_projection
from shared.auth import LoginRequired, RoleRequired, login_required_handler, login_router, role_required_handler, whoami_router
from shared.consumer import EventConsumer
from shared.events import CATALOGUE, CloudEvent
from shared.http import install_common, probes_router
from shared.logging import configure_logging
from shared.settings import ServiceSettings

log = structlog.get_logger()
STATIC_DIR = Path(__file__).parent / "static"

IndexSetup = Callable[[AsyncDatabase[dict[str, Any]]], Awaitable[None]]
Hook = Callable[["ServiceRuntime"], Awaitable[None]]


def tune_gc(settings: ServiceSettings) -> None:
    """Keep the cyclic garbage collector's scans to what the service allocates while it runs, and time them.

    A full collection walks every tracked object, and after start-up most of them live for the
    life of the process. `gc.freeze` moves them to the permanent generation: later collections
    skip them, and objects freed by reference counting (nearly all) are freed as before.
    """
    if settings.gc_gen0_threshold:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(settings.gc_gen0_threshold, gen1, gen2)
    if settings.gc_freeze_after_start:
        gc.collect()
        gc.freeze()
    metrics.GC_FROZEN_OBJECTS.labels(settings.service_name).set_function(gc.get_freeze_count)
    if not any(isinstance(callback, _GcTimer) for callback in gc.callbacks):
        gc.callbacks.append(_GcTimer(settings.service_name))


class _GcTimer:
    """A `gc.callbacks` entry that records each collection's pause in `themenforum_gc_pause_seconds`."""

    def __init__(self, service: str) -> None:
        self.by_generation = [metrics.GC_PAUSE_SECONDS.labels(service, str(generation)) for generation in range(3)]
        self.started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.by_generation[info["generation"]].observe(time.perf_counter() - self.started)


class ServiceRuntime:
    """Owns one service's connections; made in `app.py`, connected in the lifespan."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        consumer: EventConsumer | None = None,
        publishes: Sequence[str] = (),
        indexes: IndexSetup | None = None,
        on_start: Sequence[Hook] = (),
        issues_keys: bool = False,
    ) -> None:
        self.settings = settings
        self.consumer = consumer or EventConsumer()
        self.indexes = indexes
        self.on_start = list(on_start)
        self.broker = bus.make_broker(settings)
        self.publish = bus.EventPublisher(self.broker)
        self.client: Any = None
        self.db: AsyncDatabase[dict[str, Any]] | None = None
        self.outbox: store.Outbox | None = None
        self._tasks: list[asyncio.Task[None]] = []
        staff_projection.register(self.consumer)  # every service checks staff log-ins, roles and tokens locally
        if not issues_keys:  # the issuer stores each key with the event that issues it, and never needs it back
            keyring.register(self.consumer)  # every other service keeps the data keys that open sealed personal fields
        self.consumer.attach(self.broker, self.unit_of_work, settings)
        for topic in publishes:
            types = [spec.model for spec in CATALOGUE.values() if spec.topic == topic]
            self.broker.publisher(
                topic,
                title=f"{settings.service_name}:{topic}:publish",
                description="Publishes " + ", ".join(t for t, s in CATALOGUE.items() if s.topic == topic),
                schema=CloudEvent[Union[tuple(types)]],  # type: ignore[misc]
            )

    def unit_of_work(self, *, cause: str, correlation_id: str | None = None) -> store.UnitOfWork:
        """A transaction whose events are recorded under `cause` and published after commit."""
        assert self.client is not None and self.db is not None and self.outbox is not None, "runtime not started"
        return store.UnitOfWork(
            self.client, self.db, self.outbox, cause=cause, source=self.settings.service_name,
            correlation_id=correlation_id,
        )

    async def start(self) -> None:
        """Connect store and bus, create topics and indexes, relay leftovers, start consuming."""
        self.client = store.connect(self.settings.mongodb_url, f"themenforum-{self.settings.service_name}")
        self.db = self.client[self.settings.mongodb_database]
        self.outbox = store.Outbox(self.db, self.publish)
        self.consumer.client, self.consumer.outbox = self.client, self.outbox
        await bus.wait_for(lambda: self.client.admin.command("ping"), timeout=60)
        await bus.wait_for(lambda: bus.ensure_topics(self.settings), timeout=60, interval=0.5)
        await self.outbox.ensure_indexes()
        await staff_projection.ensure_indexes(self.db)
        if self.indexes:
            await self.indexes(self.db)
        await self.broker.start()
        await self.outbox.relay_pending()
        for hook in self.on_start:
            await hook(self)
        self._tasks.append(asyncio.create_task(self._relay_forever(), name="outbox-relay"))
        tune_gc(self.settings)
        log.info("service.started", port=self.settings.http_port)

    def spawn(self, coro: Awaitable[None], name: str) -> None:
        """Run a background task for the life of the service (cancelled on stop)."""
        self._tasks.append(asyncio.create_task(coro, name=name))  # type: ignore[arg-type]

    async def stop(self) -> None:
        """Stop consuming, then close connections."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.broker.stop()
        if self.outbox is not None:
            await self.outbox.flush_marks()
        if self.client is not None:
            await self.client.close()
        log.info("service.stopped")

    async def _relay_forever(self) -> None:
        assert self.outbox is not None
        while True:
            await asyncio.sleep(2)
            try:
                await self.outbox.relay_pending(older_than=timedelta(seconds=5))
            except Exception as exc:  # noqa: BLE001 - the relay must outlive passing outages
                log.warning("outbox.relay_failed", error=type(exc).__name__)

    async def readiness(self) -> dict[str, bool]:
        """Is the bus reachable, is the store reachable?"""
        checks = {"bus": False, "store": False}
        with contextlib.suppress(Exception):
            checks["bus"] = bool(await self.broker.ping(timeout=2))
        with contextlib.suppress(Exception):
            await self.client.admin.command("ping")
            checks["store"] = True
        return checks

    def asyncapi(self) -> dict[str, Any]:
        """The AsyncAPI 3.0 document of what this service consumes and publishes."""
        spec = AsyncAPI(
            self.broker,
            title=f"Themenforum {self.settings.service_name}",
            version="1.0.0",
            description=f"Events consumed and published by the {self.settings.service_name} service.",
            license={"name": "Apache-2.0"},
            schema_version="3.0.0",
        ).to_specification()
        return self._with_consumed_payloads(json.loads(spec.to_json()))

    def _with_consumed_payloads(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Describe what each subscriber accepts: the envelopes of the event types it handles.

        The subscribers take raw bytes (so that bad messages can be dead-lettered), which
        FastStream cannot describe by itself.
        """
        from pydantic import TypeAdapter

        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for topic in self.consumer.topics:
            handled = [CATALOGUE[t].model for t in sorted(self.consumer.handlers) if CATALOGUE[t].topic == topic]
            envelope = CloudEvent[Union[tuple(handled)]]  # type: ignore[misc]
            schema = TypeAdapter(envelope).json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            name = f"{self.settings.service_name}.{topic}.consumed"
            schemas[name] = schema
            messages = doc.get("components", {}).get("messages", {})
            # FastStream names a one-topic subscriber's channel without the topic.
            message = messages.get(f"{self.settings.service_name}:consume:{topic}:SubscribeMessage") or (
                messages.get(f"{self.settings.service_name}:consume:SubscribeMessage") if len(self.consumer.topics) == 1 else None)
            if message is not None:
                message["payload"] = {"$ref": f"#/components/schemas/{name}"}
        schemas.pop("EmptyPayload", None)
        return doc

    def create_app(self, *, title: str, routers: Sequence[APIRouter] = (), description: str = "") -> FastAPI:
        """The HTTP app with probes, error handling and the lifespan that runs `start`/`stop`."""
        settings = self.settings
        configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)

        @contextlib.asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
        app.state.settings = settings
        app.state.runtime = self
        install_common(app, service=settings.service_name, max_body_bytes=settings.max_body_bytes)
        app.include_router(probes_router())
        app.include_router(login_router())
        app.include_router(whoami_router())
        app.add_exception_handler(LoginRequired, login_required_handler)  # type: ignore[arg-type]
        app.add_exception_handler(RoleRequired, role_required_handler)  # type: ignore[arg-type]
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
        for router in routers:
            app.include_router(router)
        return app
