"""An aiohttp application served on a free port of 127.0.0.1 from a background thread (for the fakes of
the vendors' admin APIs, which the synchronous client under test talks to), and `fake_api`, which serves
a fake's `handle` for every path and tells it its URL, and `ScriptedFailures`, the failures a fake plays."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@contextmanager
def serving(app: web.Application, name: str) -> Iterator[str]:
    """`with serving(app, "fake-x") as url: ...` — the app's base URL while the block runs."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=name, daemon=True)
    thread.start()

    async def start() -> tuple[web.AppRunner, str]:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return runner, f"http://{host}:{port}"

    runner, url = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield url
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


@contextmanager
def fake_api(state: Any, name: str) -> Iterator[Any]:
    """`with fake_api(FakeX(), "fake-x") as fake: ...fake.url...`: `state.handle` answers every method and path."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    with serving(app, name) as url:
        state.url = url
        yield state


@dataclass
class ScriptedFailures:
    """The failures a fake plays: `add(key, kind, times)` scripts the next `times` requests for `key` (a path,
    a path and page, …) to fail as `kind`; `take(key)` is that kind while some are left, else None."""

    _left: list[list[Any]] = field(default_factory=list)

    def add(self, key: Any, kind: str, times: int = 1) -> None:
        self._left.append([key, kind, times])

    def take(self, key: Any) -> str | None:
        for entry in self._left:
            if entry[0] == key and entry[2] > 0:
                entry[2] -= 1
                return entry[1]
        return None
