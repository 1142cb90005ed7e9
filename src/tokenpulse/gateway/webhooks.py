"""Notifications as Slack-compatible webhooks (`{"text": …}` plus the event as fields), sent in the
background: a slow or failing receiver never holds up a request. A failed delivery is retried a few
times, then logged."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

log = logging.getLogger("tokenpulse.gateway")

ATTEMPTS = 3


class Webhooks:
    def __init__(self, url: str):
        self.url = url
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0
        self.failed = 0

    def notify(self, event: str, text: str, **fields: Any) -> None:
        """Queue one notification (`event`: breaker_trip, reenable, override, budget_threshold)."""
        if not self.url:
            return
        payload = {"text": text, "tokenpulse": {"event": event, **fields}}
        task = asyncio.ensure_future(self._deliver(payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, payload: dict[str, Any]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        for attempt in range(ATTEMPTS):
            try:
                async with self._session.post(self.url, json=payload) as response:
                    if response.status < 300:
                        self.sent += 1
                        return
                    problem = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = str(exc) or type(exc).__name__
            await asyncio.sleep(0.2 * 2 ** attempt)
        self.failed += 1
        log.error("webhook %s not delivered after %d attempts (%s)", payload["tokenpulse"]["event"], ATTEMPTS,
                  problem)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._session is not None:
            await self._session.close()
