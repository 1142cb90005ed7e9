"""The service's scheduled vendor sync (`tokenpulse serve`): every `[vendors] sync_interval_minutes` (60 by
default; 0 turns it off), each configured connector (`tokenpulse.sync`) is read from its vendor off the
store's thread — an admin API can take seconds, and retries minutes — and stored through the writer; then
the circuit breaker of the tools outside the gateway is checked on what arrived (`breaker_actions`: the
decision and the records on the store's thread, the vendor actions off it). A vendor that cannot be read is logged and retried at the next run;
the others still sync. `[vendors] sync_first_days` (30) is how far back a connector's first sync reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..errors import ConfigError

log = logging.getLogger("tokenpulse.sync")

DEFAULT_INTERVAL_MINUTES = 60
DEFAULT_FIRST_DAYS = 30


def _setting(tables: Mapping[str, Any], name: str, default: int) -> int:
    vendors = tables.get("vendors", {})
    value = vendors.get(name, default) if isinstance(vendors, dict) else default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"[vendors] {name} must be a whole number ≥ 0, got {value!r}")
    return value


class ScheduledSync:
    """Runs every configured connector on a timer inside the service."""

    def __init__(self, read: Callable[..., Any], settings: Any, book: Any, *, on_change: Callable[[], None] = lambda: None,
                 clock: Callable[[], datetime] | None = None, env: Mapping[str, str] | None = None,
                 **client_options: Any):
        self.read = read
        self.settings = settings
        self.book = book
        self.on_change = on_change
        self.clock = clock or (lambda: datetime.now(UTC))
        self.env = env
        self.client_options = client_options
        self.interval_s = _setting(settings.tables, "sync_interval_minutes", DEFAULT_INTERVAL_MINUTES) * 60
        self.first_days = max(1, _setting(settings.tables, "sync_first_days", DEFAULT_FIRST_DAYS))
        self.last: list[dict[str, Any]] = []
        """The last run's results (as `tokenpulse sync --json` prints them)."""

    def configured(self) -> list[Any]:
        """The connectors with what they need (a key, their options), as `VendorSetup`s."""
        from ..sync import VENDORS, setup_vendor

        setups = [setup_vendor(name, self.settings.tables, self.env, **self.client_options) for name in VENDORS]
        return [s for s in setups if not s.skipped]

    @property
    def enabled(self) -> bool:
        return self.interval_s > 0 and bool(self.configured())

    async def run_once(self) -> list[dict[str, Any]]:
        from ..breaker_actions import act, configured, plan_trips, record_trips
        from ..sources.vendors.client import VendorError
        from ..sync import fetch_batch, plan_sync, save_batch

        loop = asyncio.get_running_loop()
        now = self.clock()
        results: list[dict[str, Any]] = []
        for setup in self.configured():
            name = setup.name
            plan = await self.read(lambda store, setup=setup: plan_sync(
                store, setup.name, now=now, first_days=self.first_days, options=setup.options))
            try:
                batch = await loop.run_in_executor(None, fetch_batch, plan, setup.client)
            except VendorError as exc:  # its message never holds the key
                log.error("vendor sync: %s failed: %s", name, exc)
                results.append({"vendor": name, "status": "failed", "error": str(exc)})
                continue
            report = await self.read(lambda store, plan=plan, batch=batch: save_batch(store, plan, batch, self.book))
            log.info("vendor sync: %s: %d new, %d updated events, %d outcomes, %d cost lines; %d unmapped ids",
                     name, report.events_new, report.events_updated, report.outcomes, report.costs,
                     len(report.unmapped))
            results.append({"status": "synced", **report.to_json()})
        if any(r["status"] == "synced" for r in results):
            # The breaker of the tools outside the gateway, on what just arrived; Cursor is called off the
            # store's thread, between deciding (store) and recording (store).
            def plan(store: Any) -> list[Any]:
                policy, actions = configured(store, self.settings, self.env, **self.client_options)
                return plan_trips(store, policy, actions, now)

            pending = await self.read(plan)
            await loop.run_in_executor(None, act, pending)
            trips = await self.read(lambda store: record_trips(store, pending, now))
            for trip in trips:
                log.warning("breaker tripped on vendor data: %s (%s)", trip.person, ", ".join(trip.evidence.get(
                    "tools", [])))
            self.on_change()
        self.last = results
        return results

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug or a store error: logged, and the schedule goes on
                log.exception("vendor sync failed")
            await asyncio.sleep(self.interval_s)
