"""Putting the gateway together from settings: counters (this process, or Redis), the enforcer, the
store writer, webhooks; then serving it."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from ..breaker_actions import BreakerActions
from ..config import Settings
from ..counters import Counters, MemoryCounters
from ..pricing import PriceBook
from ..server.writer import Writer
from ..store import open_store
from .enforce import Enforcer
from .service import Gateway, open_gateway, run
from .settings import GatewaySettings
from .webhooks import Webhooks

log = logging.getLogger("tokenpulse.gateway")

STORE_MEMORY = "48MB"


def make_counters(settings: GatewaySettings) -> Counters:
    if not settings.redis_url:
        return MemoryCounters()
    from ..counters.redis import connect

    def unavailable(operation: str, error: Exception) -> None:
        log.error("the counters in Redis are unreachable during %s (%s); %s", operation, error,
                  "admitting requests without enforcement" if settings.fail_open else "refusing requests")

    return connect(settings.redis_url, settings.redis_prefix, fail_open=settings.fail_open,
                   on_unavailable=unavailable)


def build(app_settings: Settings, settings: GatewaySettings, book: PriceBook, writer: Writer | None = None
          ) -> Gateway:
    """The gateway with its own store writer, or sharing `writer` (mounted in `serve`)."""
    enforcer = Enforcer(settings, make_counters(settings))
    # The gateway's own writer only appends: a small cache keeps the process's memory flat however long it runs.
    gateway = open_gateway(settings, book, lambda: open_store(app_settings.db, memory_limit=STORE_MEMORY),
                           app_settings.home, enforcer, writer=writer)
    webhooks = Webhooks(settings.webhook_url)
    enforcer.read_store = gateway.writer.read
    enforcer.notify = webhooks.notify
    enforcer.manager_of = gateway.manager_of
    gateway.on_stop.append(webhooks.close)
    gateway.breaker_actions = BreakerActions.from_settings(app_settings.tables, os.environ)
    return gateway


def serve(app_settings: Settings, settings: GatewaySettings, book: PriceBook,
          on_listening: Callable[[str], None] | None = None) -> None:
    run(lambda: build(app_settings, settings, book), settings, on_listening)
