"""The service: one aiohttp application that ingests (OTLP, NDJSON), answers the JSON API and keeps
its own metrics. `run()` serves it until SIGINT/SIGTERM, then lets queued writes commit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web

from ..config import Settings
from ..pricing import PriceBook
from ..store import Store
from . import pipeline
from .auth import KeyCache, auth_middleware
from .http import errors_middleware
from .metrics import ServiceMetrics
from .settings import ServeSettings
from .writer import Writer

log = logging.getLogger("tokenpulse.server")

INLINE_BYTES = 32 * 1024
"""Bodies smaller than this are decoded in the server process (a worker round trip costs more)."""


@dataclass
class Service:
    settings: ServeSettings
    book: PriceBook
    price_files: list[Path]
    writer: Writer
    tz: str = "UTC"
    store_label: str = ""
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    keys: KeyCache = field(init=False)
    pool: ProcessPoolExecutor | None = None
    gateway: Callable[[Writer], Any] | None = None
    """Builds the metering gateway to mount beside the collector, sharing its writer (`serve --gateway`)."""
    config: Settings | None = None
    """The whole configuration (the dashboard's policy defaults come from it)."""

    def __post_init__(self) -> None:
        self.keys = KeyCache(self.writer, self.settings.key_cache_seconds)

    async def ingest(self, fn: Callable[..., pipeline.Decoded], *args: Any, size: int,
                     check: Callable[[pipeline.Decoded], None] | None = None) -> pipeline.Decoded:
        """Decode a body with a pipeline function (in a worker process when it is large), let `check` refuse
        the result, then write it; returns once it is committed."""
        with self.writer.incoming() as ticket:
            if self.pool is None or size < INLINE_BYTES:
                decoded = fn(*args, book=self.book)
            else:
                decoded = await asyncio.get_running_loop().run_in_executor(self.pool, partial(fn, *args))
            if check is not None:
                check(decoded)
            await self.writer.write(decoded, ticket)
        return decoded

    async def start(self) -> None:
        self.writer.start()
        # Usage priced with an older price book is re-priced before the first report.
        await self.writer.read(lambda store: store.reprice(self.book) if store.stale_price_versions(
            self.book.version) else 0)
        workers = self.settings.workers
        if workers > 0:
            import multiprocessing

            self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=pipeline.init_worker, initargs=(self.price_files,))
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(loop.run_in_executor(self.pool, time.sleep, 0.05) for _ in range(workers)))

    async def stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        await asyncio.get_running_loop().run_in_executor(None, self.writer.stop)


SERVICE = web.AppKey("service", Service)


def create_app(service: Service) -> web.Application:
    from . import routes

    @web.middleware
    async def measure(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> web.StreamResponse:
        started = time.perf_counter()
        response = await handler(request)
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "other"
        service.metrics.requests.labels(route, str(response.status)).inc()
        service.metrics.latency.labels(route).observe(time.perf_counter() - started)
        return response

    async def on_startup(app: web.Application) -> None:
        await service.start()
        if vendor_sync.enabled:
            sync_task.append(asyncio.create_task(vendor_sync.run_forever()))

    async def on_cleanup(app: web.Application) -> None:
        for task in sync_task:
            task.cancel()
        await asyncio.gather(*sync_task, return_exceptions=True)
        await service.stop()

    import os

    from ..breaker_actions import BreakerActions
    from ..gateway.service import is_gateway_path, mount
    from ..web import actions
    from ..web import routes as dashboard_routes
    from ..web.auth import cookie_key
    from ..web.state import DASHBOARD, Dashboard
    from .vendor_sync import ScheduledSync

    config = service.config or Settings()
    gateway = service.gateway(service.writer) if service.gateway is not None else None
    dashboard = Dashboard(service.writer.read, config, tz=service.tz,
                          enforcer=gateway.enforcer if gateway is not None else None,
                          generation=lambda: service.writer.commits,
                          breaker_actions=BreakerActions.from_settings(config.tables, os.environ))
    vendor_sync = ScheduledSync(service.writer.read, config, service.book, on_change=dashboard.changed)
    sync_task: list[asyncio.Task[None]] = []
    app = web.Application(middlewares=[measure, errors_middleware, auth_middleware(
        service.keys, is_gateway_path if gateway is not None else lambda p: False,
        cookie_key=lambda request: cookie_key(request, dashboard.sessions), is_open=actions.is_open,
        sign_in_path="/login")], client_max_size=service.settings.max_body_bytes)
    app[SERVICE] = service
    app[DASHBOARD] = dashboard
    routes.add_routes(app)
    dashboard_routes.add_routes(app)

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    if gateway is not None:
        mount(app, gateway)
    return app


def run(service: Service, *, on_listening: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT or SIGTERM; queued writes are committed before the process exits."""
    from .runner import serve_app

    # Bodies are decompressed by `read_body`, which enforces the size limit on what they expand to.
    serve_app(lambda: create_app(service), service.settings.host, service.settings.port, on_listening,
              auto_decompress=False)


def open_service(settings: ServeSettings, book: PriceBook, price_files: list[Path],
                 open_store: Callable[[], Store], tz: str, store_label: str, config: Settings | None = None
                 ) -> Service:
    metrics = ServiceMetrics()
    writer = Writer(open_store, max_pending_events=settings.max_pending_events,
                    max_group_events=settings.max_group_events, busy_processes=settings.workers,
                    on_commit=metrics.on_commit)
    return Service(settings=settings, book=book, price_files=price_files, writer=writer, tz=tz,
                   store_label=store_label, metrics=metrics, config=config)
