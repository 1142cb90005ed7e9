"""What the dashboard keeps while the service runs: its way to the store, the directory and session caches,
the policies (file defaults overlaid by what admins saved), and — when the gateway runs in the same service
or shares Redis counters — the enforcer that re-enables tripped breakers."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from ..config import Settings
from ..pricing import Discount
from ..store.governance import AuditEntry
from . import policy as policies
from .auth import CACHE_SECONDS, Directory, Sessions


class Dashboard:
    def __init__(self, read: Any, settings: Settings, *, tz: str, enforcer: Any = None,
                 clock: Any = None):
        self.read = read
        """`await read(lambda store: ...)`: run a call on the store's thread."""
        self.settings = settings
        self.tz = tz
        self.enforcer = enforcer
        self.clock = clock or (lambda: datetime.now(UTC))
        self.directory = Directory(read)
        self.sessions = Sessions(read)
        self._policy: dict[str, Any] | None = None
        self._policy_at = 0.0

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
