"""The gateway's durable buffer between a metered request and the store.

A metered request's event is appended to a spool file (one canonical NDJSON line, one `write` to the
operating system) before the response finishes, so a crash of the gateway process loses nothing; the
file is fsynced in the background every `SYNC_SECONDS`. A shipper hands the events to the store's
writer in groups without the response waiting for the commit. After a restart the spool is replayed
into the store: writes are idempotent by event id, so what was already committed is not counted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from ..errors import InvalidEvent
from ..events import UsageEvent, decode_line, encode_line

log = logging.getLogger("tokenpulse.gateway")

SYNC_SECONDS = 0.05
ROTATE_BYTES = 64 * 1024 * 1024
"""Once everything in it is committed, a spool larger than this starts over."""


class Spool:
    def __init__(self, folder: Path, ship: Callable[[list[UsageEvent]], Awaitable[None]], ship_seconds: float = 0.05):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"spool-{os.getpid()}.ndjson"
        self._ship = ship
        self._ship_seconds = ship_seconds
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._pending: list[UsageEvent] = []
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._syncer = threading.Thread(target=self._sync_loop, name="spool-fsync", daemon=True)
        self._task: asyncio.Task[None] | None = None
        self.shipped = 0

    # --- the hot path ---------------------------------------------------------------------------

    def append(self, event: UsageEvent) -> None:
        """Durable against a process crash when this returns (the line is in the OS's hands)."""
        line = encode_line(event)
        with self._lock:
            os.write(self._fd, line)
            self._pending.append(event)
        self._dirty.set()

    # --- background -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Replay what earlier runs left in the folder, then ship continuously."""
        for path in sorted(self.path.parent.glob("spool-*.ndjson")):
            if path != self.path:
                await self._replay(path)
        self._syncer.start()
        self._task = asyncio.ensure_future(self._ship_loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._ship_pending()
        self._stop.set()
        self._dirty.set()
        if self._syncer.is_alive():
            self._syncer.join(5)
        os.fsync(self._fd)
        os.close(self._fd)
        if not self._pending:
            self.path.unlink(missing_ok=True)

    async def _replay(self, path: Path) -> None:
        events = []
        for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                event = decode_line(line)
            except InvalidEvent as exc:  # a line cut short by a crash: it was never acknowledged as metered
                log.warning("%s:%d: skipped (%s)", path, number, exc)
                continue
            if isinstance(event, UsageEvent):
                events.append(event)
        if events:
            await self._ship(events)
            log.info("replayed %d metered requests from %s", len(events), path.name)
        path.unlink()

    def _sync_loop(self) -> None:
        while not self._stop.is_set():
            self._dirty.wait()
            self._dirty.clear()
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            self._stop.wait(SYNC_SECONDS)

    async def _ship_loop(self) -> None:
        while True:
            await asyncio.sleep(self._ship_seconds)
            try:
                await self._ship_pending()
            except Exception as exc:  # the store is down: keep the events, try again
                log.error("could not write metered requests to the store (kept in %s): %s", self.path, exc)

    async def _ship_pending(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            await self._ship(batch)
        except BaseException:
            with self._lock:
                self._pending[:0] = batch
            raise
        self.shipped += len(batch)
        with self._lock:
            if not self._pending and os.fstat(self._fd).st_size > ROTATE_BYTES:
                os.ftruncate(self._fd, 0)
