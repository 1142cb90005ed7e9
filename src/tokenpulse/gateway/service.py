"""The gateway service: its settings, its parts (keys, enforcer, spool, store writer, upstream session)
and the aiohttp application that routes vendor API paths to `proxy.handle`."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, generate_latest

from ..events import UsageEvent
from ..people import Person
from ..pricing import PriceBook
from ..server.auth import KeyCache
from ..server.http import errors_middleware
from ..server.pipeline import Decoded
from ..server.writer import Writer
from ..store import Store
from . import admin, meter, proxy
from .enforce import Admission, Enforcer
from .settings import GatewaySettings
from .spool import Spool

log = logging.getLogger("tokenpulse.gateway")

ROUTES: dict[str, meter.Api] = {"/v1/messages": "anthropic_messages", "/v1/chat/completions": "openai_chat",
                                "/v1/responses": "openai_responses"}
PASS_THROUGH = {"/v1/messages/count_tokens": "anthropic_messages"}
"""Forwarded for a valid key, not metered: counting tokens costs nothing."""


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("tokenpulse_gateway_requests", "Requests forwarded", ["api"], registry=self.registry)
        self.refused = Counter("tokenpulse_gateway_refused", "Requests refused by policy", ["reason"],
                               registry=self.registry)
        self.spend = Counter("tokenpulse_gateway_spend_micros", "Metered list cost, micro-USD", registry=self.registry)


@dataclass
class Gateway:
    settings: GatewaySettings
    book: PriceBook
    writer: Writer
    enforcer: Enforcer
    spool_dir: Path
    keys: KeyCache = field(init=False)
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)
    session: aiohttp.ClientSession = field(init=False)
    spool: Spool = field(init=False)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    owns_writer: bool = True
    """False when mounted in `serve`, whose writer (and store) it shares."""
    breaker_actions: Any = None
    """What a re-enable undoes of a breaker trip on vendor data (`tokenpulse.breaker_actions`), if configured."""
    _people: dict[str, Person] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keys = KeyCache(self.writer, self.settings.key_cache_seconds)

    # --- what the request path asks -------------------------------------------------------------

    def upstream_url(self, api: meter.Api) -> str:
        return (self.settings.anthropic_upstream if api == "anthropic_messages" else self.settings.openai_upstream
                ).rstrip("/")

    def upstream_key(self, api: meter.Api) -> str | None:
        """The vendor key, from the gateway's environment only (never the config file, never a client)."""
        return os.environ.get("ANTHROPIC_API_KEY" if api == "anthropic_messages" else "OPENAI_API_KEY") or None

    def team_of(self, person: str) -> str | None:
        known = self._people.get(person)
        return known.team if known else None

    def manager_of(self, person: str) -> str | None:
        known = self._people.get(person)
        return known.manager if known else None

    def estimate(self, api: meter.Api, info: meter.RequestInfo) -> int:
        """The request's worst-case list cost: the input estimate plus every output token it may ask for."""
        probe = UsageEvent(id="estimate", ts=_EPOCH, tool="gateway", provider=proxy.PROVIDER[api], model=info.model,
                           input_tokens=info.input_estimate,
                           output_tokens=info.max_output_tokens or self.settings.default_max_tokens)
        self.book.price(probe)
        return probe.cost_micros or 0

    def settle(self, admission: Admission, event: UsageEvent) -> tuple[int | None, int | None]:
        """Record the metered request durably, then settle its reservation to the real cost."""
        self.spool.append(event)
        self.metrics.requests.labels(event.provider or "").inc()
        if event.cost_micros:
            self.metrics.spend.inc(event.cost_micros)
        return self.enforcer.settle(admission, event.cost_micros or 0)

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.owns_writer:
            self.writer.start()
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60),
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=600))
        self.spool = Spool(self.spool_dir, self._ship, self.settings.ship_seconds)
        await self.spool.start()
        await self._load_people()
        self.enforcer.start()

    async def stop(self) -> None:
        for hook in self.on_stop:
            await hook()
        await self.spool.stop()
        await self.session.close()
        if self.owns_writer:
            await asyncio.get_running_loop().run_in_executor(None, self.writer.stop)

    async def _ship(self, events: list[UsageEvent]) -> None:
        from ..columnar import usage_table

        for event in events:
            if event.price_version != self.book.version:
                self.book.price(event)
        await self.writer.write(Decoded(usage=usage_table(events), usage_count=len(events)))

    async def _load_people(self) -> None:
        """The directory (teams for team budgets, managers for notifications), as of start."""
        people = await self.writer.read(lambda store: store.people())
        self._people = {p.person: p for p in people}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GATEWAY = web.AppKey("gateway", Gateway)


def create_app(gateway: Gateway) -> web.Application:
    # Errors of the gateway's own API leave in the service's one JSON shape; vendor routes answer in the
    # vendor's shape themselves.
    app = web.Application(client_max_size=int(gateway.settings.max_body_mb * 1024 * 1024),
                          middlewares=[errors_middleware])
    mount(app, gateway)
    app.router.add_get("/healthz", _health)
    app.router.add_get("/metrics", _metrics)
    return app


def mount(app: web.Application, gateway: Gateway) -> None:
    """Add the gateway's routes and lifecycle to an application (its own, or the collector's)."""
    app[GATEWAY] = gateway
    for path, api in ROUTES.items():
        app.router.add_post(path, partial(_metered, api=api))
    for path, api in PASS_THROUGH.items():
        app.router.add_post(path, partial(_pass_through, api=api))
    admin.add_routes(app)

    async def on_startup(app: web.Application) -> None:
        await gateway.start()

    async def on_cleanup(app: web.Application) -> None:
        await gateway.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.insert(0, on_cleanup)  # first: what it still holds is written before a shared writer stops


def is_gateway_path(path: str) -> bool:
    """Paths the gateway authenticates itself (vendor clients send their key their own way)."""
    return path in ROUTES or path in PASS_THROUGH or path.startswith(admin.PREFIX)


async def _metered(request: web.Request, api: meter.Api) -> web.StreamResponse:
    return await proxy.handle(request.app[GATEWAY], request, api)


async def _pass_through(request: web.Request, api: meter.Api) -> web.StreamResponse:
    gateway = request.app[GATEWAY]
    key = await proxy.authenticate(gateway, request, api)
    if isinstance(key, web.Response):
        return key
    body = await request.read()
    async with gateway.session.post(gateway.upstream_url(api) + request.path, data=body,
                                    headers=proxy.upstream_headers(gateway, request, api)) as up:
        return web.Response(status=up.status, body=await up.read(), headers=proxy.client_headers(up))


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _metrics(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    await admin.require_key(request, kinds=("admin",))
    return web.Response(body=generate_latest(gateway.metrics.registry), content_type="text/plain")


def run(gateway_factory: Callable[[], Gateway], settings: GatewaySettings,
        on_listening: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM; the spool is shipped before the process exits. A client that hangs up
    does not cancel its request's handler: the rest of its stream is still read and metered."""
    from ..server.runner import serve_app

    serve_app(lambda: create_app(gateway_factory()), settings.host, settings.port, on_listening,
              handler_cancellation=False)


def open_gateway(settings: GatewaySettings, book: PriceBook, open_store: Callable[[], Store], home: Path,
                 enforcer: Enforcer, writer: Writer | None = None) -> Gateway:
    spool_dir = Path(settings.spool_dir) if settings.spool_dir else home / "gateway-spool"
    if writer is not None:
        return Gateway(settings=settings, book=book, writer=writer, enforcer=enforcer, spool_dir=spool_dir,
                       owns_writer=False)
    writer = Writer(open_store, max_pending_events=1_000_000, max_group_events=100_000, busy_processes=0)
    return Gateway(settings=settings, book=book, writer=writer, enforcer=enforcer, spool_dir=spool_dir)
