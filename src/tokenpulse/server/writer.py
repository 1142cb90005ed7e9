"""The one thread that talks to the store: group commit for writes, and reads in between.

Requests hand their decoded events to the writer and wait. The writer takes every write waiting
at that moment (up to `max_group_events`), writes them in one transaction and commits once, then
answers them all: a 2xx therefore always means "committed", and under load many requests share one
commit instead of each paying for its own. If a group fails, its requests are retried one by one
so that one bad request cannot fail the others.

Cumulative OpenTelemetry counters become increments here, inside the same transaction that stores
them, against the last value kept for each series.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..errors import RequestError, StoreError
from ..sources import otel
from ..store import Store
from .pipeline import Decoded

log = logging.getLogger("tokenpulse.server")

MATCH_WINDOW = timedelta(hours=1)
"""Copies of one event reach the collector with the same time (a resend, a retried export) or within
seconds of it (`push` of a more complete copy of a local log entry): earlier copies are looked for this
far around, which keeps the embedded store's commits cheap however long the collector runs."""
GATHER_EVENTS = 4096
"""A commit costs milliseconds whatever its size: while more requests are being decoded, the writer waits
(up to `GATHER_SECONDS`) until this many events can share one."""
GATHER_SECONDS = 0.010


class Overloaded(RequestError):
    def __init__(self, pending: int):
        super().__init__(f"the collector is busy ({pending:,} events waiting to be written); retry shortly",
                         503, headers={"Retry-After": "1"})


@dataclass
class _Job:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    decoded: Decoded | None = None
    call: Callable[[Store], Any] | None = None

    @property
    def size(self) -> int:
        return self.decoded.size if self.decoded is not None else 0

    def resolve(self, result: Any = None, error: BaseException | None = None) -> None:
        def settle() -> None:
            if self.future.done():  # the client went away; the work is done all the same
                return
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result)
        self.loop.call_soon_threadsafe(settle)


@dataclass
class _Ticket:
    arrived: bool = False


_STOP = object()


class Writer:
    def __init__(self, open_store: Callable[[], Store], *, max_pending_events: int, max_group_events: int,
                 busy_processes: int = 0, on_commit: Callable[[int, int, float], None] | None = None):
        self._open_store = open_store
        self._busy_processes = busy_processes
        self.max_pending_events = max_pending_events
        self.max_group_events = max_group_events
        self._on_commit = on_commit
        self._jobs: deque[Any] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self.pending_events = 0
        self._incoming = 0
        self.backend = ""
        self.commits = 0
        """Write groups committed so far (readers that cache figures start afresh when it moves)."""

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the store on the writer thread; raises `StoreError` if it cannot be opened."""
        opened = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                store = self._open_store()
            except BaseException as exc:
                failure.append(exc)
                opened.set()
                return
            self.backend = type(store).__name__
            opened.set()
            try:
                # Decode workers keep the other cores busy: the store then works best single-threaded.
                with store.background_work(self._busy_processes):
                    self._serve(store)
            finally:
                store.close()

        self._thread = threading.Thread(target=run, name="tokenpulse-writer", daemon=True)
        self._thread.start()
        opened.wait()
        if failure:
            raise failure[0]

    def stop(self) -> None:
        """Finish what is queued, then close the store."""
        if self._thread is None:
            return
        with self._ready:
            self._jobs.append(_STOP)
            self._ready.notify()
        self._thread.join()
        self._thread = None

    # --- what requests call -------------------------------------------------------------------------

    async def write(self, decoded: Decoded, ticket: _Ticket | None = None) -> None:
        """Return once `decoded` is committed (raises `Overloaded` when too much is already waiting)."""
        if decoded.size == 0:
            return
        if self.pending_events and self.pending_events + decoded.size > self.max_pending_events:
            raise Overloaded(self.pending_events)
        loop = asyncio.get_running_loop()
        job = _Job(loop, loop.create_future(), decoded=decoded)
        self._enqueue(job, ticket)
        await job.future

    @contextlib.contextmanager
    def incoming(self) -> Iterator[_Ticket]:
        """Around decoding a request and handing it to `write` (with the ticket): while requests are on their
        way, the writer may wait a moment for them to share its next commit."""
        ticket = _Ticket()
        with self._ready:
            self._incoming += 1
        try:
            yield ticket
        finally:
            with self._ready:
                if not ticket.arrived:
                    self._incoming -= 1
                    self._ready.notify()

    async def read(self, call: Callable[[Store], Any]) -> Any:
        """Run `call(store)` on the writer thread, between writes."""
        loop = asyncio.get_running_loop()
        job = _Job(loop, loop.create_future(), call=call)
        self._enqueue(job)
        return await job.future

    def _enqueue(self, job: _Job, ticket: _Ticket | None = None) -> None:
        if self._thread is None:
            raise StoreError("the store is closed")
        with self._ready:
            self.pending_events += job.size
            self._jobs.append(job)
            if ticket is not None and not ticket.arrived:
                ticket.arrived = True
                self._incoming -= 1
            self._ready.notify()

    # --- the thread ---------------------------------------------------------------------------------

    def _take(self) -> list[Any]:
        """The next read on its own, or every write waiting now (up to the group limit)."""
        with self._ready:
            while not self._jobs:
                self._ready.wait()
            first = self._jobs.popleft()
            if first is _STOP or first.call is not None:
                return [first]
            group, events = [first], first.size
            deadline = time.monotonic() + GATHER_SECONDS
            while True:
                while self._jobs and self._jobs[0] is not _STOP and self._jobs[0].call is None \
                        and events + self._jobs[0].size <= self.max_group_events:
                    job = self._jobs.popleft()
                    group.append(job)
                    events += job.size
                left = deadline - time.monotonic()
                if self._jobs or events >= GATHER_EVENTS or not self._incoming or left <= 0:
                    return group
                self._ready.wait(left)

    def _serve(self, store: Store) -> None:
        while True:
            group = self._take()
            if group[0] is _STOP:
                return
            if group[0].call is not None:
                job = group[0]
                try:
                    job.resolve(job.call(store))
                except BaseException as exc:  # handed to the request that asked
                    job.resolve(error=exc)
                continue
            self._commit(store, group)

    def _commit(self, store: Store, group: list[_Job]) -> None:
        started = time.perf_counter()
        size = sum(job.size for job in group)
        try:
            _write_group(store, [job.decoded for job in group])
        except Exception as exc:
            if len(group) == 1:
                log.error("a write failed: %s", exc)
                self._done(group, error=exc)
                return
            log.warning("a group of %d writes failed (%s); writing them one by one", len(group), exc)
            for job in group:
                self._commit(store, [job])
            return
        self.commits += 1
        self._done(group)
        if self._on_commit:
            self._on_commit(len(group), size, time.perf_counter() - started)

    def _done(self, group: list[_Job], error: BaseException | None = None) -> None:
        with self._ready:
            self.pending_events -= sum(job.size for job in group)
        for job in group:
            job.resolve(error=error)


def _write_group(store: Store, batches: list[Decoded]) -> None:
    """Everything in `batches` in one transaction: usage, outcomes (counters as increments), prompts."""
    import pyarrow as pa

    tables = [b.usage for b in batches if b.usage is not None]
    outcomes = [o for b in batches for o in b.outcomes]
    points = [p for b in batches for p in b.cumulative]
    prompts = [p for b in batches for p in b.prompts]
    with store.transaction():
        if points:
            state = store.series_state([p.series for p in points])
            increments, state = otel.increments(points, state)
            store.save_series_state(state)
            outcomes.extend(increments)
        usage = (tables[0] if len(tables) == 1 else pa.concat_tables(tables)) if tables else []
        store.write_batch(usage, outcomes, match_window=MATCH_WINDOW)
        store.write_prompts(prompts)
