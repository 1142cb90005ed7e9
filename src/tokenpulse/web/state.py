"""What the dashboard keeps while the service runs: its way to the store, the directory and session caches,
the figures of the grouped queries until the store is next written,
the policies (file defaults overlaid by what admins saved), and — when the gateway runs in the same service
or shares Redis counters — the enforcer that re-enables tripped breakers."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ..breaker_actions import BreakerActions
from ..config import Settings
from ..pricing import Discount
from ..store.governance import AuditEntry
from . import policy as policies
from .auth import CACHE_SECONDS, Directory, Sessions

CACHE_SECONDS_FIGURES = 30.0
CACHED_QUERIES = frozenset({"usage_grouped", "outcome_totals", "reconciliation"})


class QueryCache:
    """The results of the grouped usage and outcome queries (the costly part of every page on a large
    store), kept until the store is next written — by an ingest commit, or a change made through the
    dashboard — and for at most `CACHE_SECONDS_FIGURES` (changes made elsewhere, such as a directory import,
    show within that). Used on the store's thread only."""

    def __init__(self, generation: Any, size: int = 512):
        self._generation = generation
        self._size = size
        self._entries: dict[Any, tuple[Any, float, Any]] = {}
        self.bumps = 0

    def bump(self) -> None:
        self.bumps += 1

    def wrap(self, store: Any) -> Any:
        return _CachedStore(store, self)

    def get(self, key: Any, compute: Any) -> Any:
        generation = (self._generation(), self.bumps)
        found = self._entries.get(key)
        now = time.monotonic()
        if found is not None and found[0] == generation and found[1] > now:
            return found[2]
        value = compute()
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[key] = (generation, now + CACHE_SECONDS_FIGURES, value)
        return value


class _CachedStore:
    """A store whose grouped queries go through a `QueryCache` (everything else goes straight through)."""

    def __init__(self, store: Any, cache: QueryCache):
        self._store = store
        self._cache = cache

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in CACHED_QUERIES:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            key = (name, _frozen(args), _frozen(sorted(kwargs.items())))
            return list(self._cache.get(key, lambda: attr(*args, **kwargs)))
        return call


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


class Dashboard:
    def __init__(self, read: Any, settings: Settings, *, tz: str, enforcer: Any = None,
                 clock: Any = None, generation: Any = None, breaker_actions: BreakerActions | None = None):
        self.read = read
        """`await read(lambda store: ...)`: run a call on the store's thread."""
        self.cache = QueryCache(generation or (lambda: 0))
        self.settings = settings
        self.tz = tz
        self.enforcer = enforcer
        self.breaker_actions = breaker_actions
        """The vendor breaker actions (Cursor's spend limit, the webhook) a re-enable undoes, when configured."""
        self.clock = clock or (lambda: datetime.now(UTC))
        self.directory = Directory(read)
        self.sessions = Sessions(read)
        self._policy: dict[str, Any] | None = None
        self._policy_at = 0.0

    async def figures(self, call: Any) -> Any:
        """`await figures(lambda store: data.overview(store, ...))`: like `read`, with the grouped queries
        answered from the cache while the store is unchanged."""
        return await self.read(lambda store: call(self.cache.wrap(store)))

    def changed(self) -> None:
        """Something was written through the dashboard: figures are computed afresh."""
        self.cache.bump()

    def today(self) -> date:
        return self.clock().astimezone(ZoneInfo(self.tz)).date()

    async def policy(self) -> dict[str, Any]:
        if self._policy is None or time.monotonic() > self._policy_at:
            saved = await self.read(lambda store: store.org_settings())
            self._policy = policies.effective(policies.file_defaults(self.settings), saved)
            self._policy_at = time.monotonic() + CACHE_SECONDS
        return self._policy

    def forget_policy(self) -> None:
        self._policy = None

    @staticmethod
    def discount(policy: dict[str, Any]) -> Discount:
        return Discount.parse(policy.get("discount") or "")

    async def audit(self, actor: str, action: str, subject: str, detail: dict[str, Any]) -> None:
        entry = AuditEntry(self.clock(), actor, action, subject, detail)
        await self.read(lambda store: store.audit(entry))


DASHBOARD = web.AppKey("dashboard", Dashboard)


def dashboard_of(request: web.Request) -> Dashboard:
    return request.app[DASHBOARD]
