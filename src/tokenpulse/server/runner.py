"""Running an aiohttp application as a service: on uvloop where there is one, on a port (0 picks a free
one, and the chosen address is reported), until SIGINT or SIGTERM, then through the app's cleanup
(queued writes commit, spools ship) before returning."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web


def serve_app(make_app: Callable[[], web.Application], host: str, port: int,
              on_listening: Callable[[str], None] | None = None, **runner_options: Any) -> None:
    """`make_app` is called inside the running event loop (what it builds may need one)."""
    try:
        import uvloop
    except ImportError:  # Windows
        uvloop = None

    async def main() -> None:
        runner = web.AppRunner(make_app(), access_log=None, handle_signals=False, **runner_options)
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=1024)
        await site.start()
        addresses = runner.addresses
        bound_host, bound_port = addresses[0][:2] if addresses else (host, port)
        if on_listening:
            on_listening(f"http://{'[' + bound_host + ']' if ':' in bound_host else bound_host}:{bound_port}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    if uvloop is not None and sys.platform != "win32":
        uvloop.run(main())
    else:
        asyncio.run(main())
