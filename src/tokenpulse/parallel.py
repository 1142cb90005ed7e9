"""Parse workers for large imports: one process per core reads, parses and prices files while the
main process writes to the store.

Each worker is `python -m tokenpulse.parallel`, started fresh (the store's threads must not be
forked, and a fresh interpreter does not re-run the caller's main module). It reads its share of
the files (balanced by bytes to read) from stdin, builds the same price book from the same files
(checked by version), and writes back pickled messages on stdout: progress, and chunks holding the
events as Arrow IPC plus the read positions and problems of the files it finished. Each chunk is
written in one transaction, so a file's position is never saved before its events.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ImportFailed
from .ingest import Chunk, FilePlan, process_files

WORKER_BATCH_EVENTS = 25_000
"""Events per chunk a worker sends (each worker then peaks near 200 MB; smaller chunks save memory but
make the main process write more, smaller batches, which costs more time than it saves)."""


def shares(plans: list[FilePlan], workers: int) -> list[list[FilePlan]]:
    """Split files into `workers` lists with about the same number of bytes to read."""
    buckets: list[list[FilePlan]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for plan in sorted(plans, key=lambda p: p.size - p.offset, reverse=True):
        i = loads.index(min(loads))
        buckets[i].append(plan)
        loads[i] += plan.size - plan.offset
    return [b for b in buckets if b]


def _pump(stream: BinaryIO, inbox: queue.Queue[tuple[str, Any, Any]]) -> None:
    """Move one worker's messages into the shared inbox until its stream ends."""
    try:
        while True:
            inbox.put(pickle.load(stream))
    except EOFError:
        inbox.put(("eof", None, None))
    except Exception as exc:  # a garbled stream: report it as the worker's failure
        inbox.put(("error", f"unreadable message from a parse worker: {exc}", None))


def parallel_chunks(plans: list[FilePlan], workers: int, price_files: list[Path], person: str | None,
                    version: str, advance: Callable[[int], None]) -> Iterator[Chunk]:
    from .columnar import from_ipc

    inbox: queue.Queue[tuple[str, Any, Any]] = queue.Queue(maxsize=workers)  # bounds memory in flight
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    processes = []
    pumps = []
    for share in shares(plans, workers):
        process = subprocess.Popen([sys.executable, "-m", "tokenpulse.parallel"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, env=env)
        assert process.stdin is not None and process.stdout is not None
        pickle.dump((share, [str(p) for p in price_files], person, version), process.stdin, protocol=5)
        process.stdin.close()
        pump = threading.Thread(target=_pump, args=(process.stdout, inbox), daemon=True)
        pump.start()
        pumps.append(pump)
        processes.append(process)
    running = len(processes)
    finished = 0
    try:
        while running:
            kind, payload, chunk = inbox.get()
            if kind == "progress":
                advance(payload)
            elif kind == "chunk":
                chunk.usage = from_ipc(payload)
                yield chunk
            elif kind == "done":
                finished += 1
            elif kind == "eof":
                running -= 1
            else:
                raise ImportFailed(f"a parse worker failed: {payload}")
        if finished != len(processes):
            raise ImportFailed("a parse worker stopped before finishing its files")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        while any(pump.is_alive() for pump in pumps):  # let every pump reach the end of its stream
            with contextlib.suppress(queue.Empty):
                inbox.get(timeout=0.05)
        for process in processes:
            assert process.stdout is not None
            process.stdout.close()


def _worker_main() -> None:
    """Entry point of a worker process: plans in on stdin, messages out on stdout."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write to the message stream
    gc.disable()  # see ingest._gc_paused: no cycles are made, and this process ends with the work

    def send(message: tuple[str, Any, Any]) -> None:
        pickle.dump(message, out, protocol=5)
        out.flush()

    try:
        from .columnar import to_ipc, usage_table
        from .pricing import load_price_book

        plans, price_files, person, version = pickle.load(sys.stdin.buffer)
        book = load_price_book([Path(p) for p in price_files])
        if book.version != version:
            raise ImportFailed(f"worker built price book {book.version}, expected {version}")
        for chunk in process_files(plans, book, person, batch_events=WORKER_BATCH_EVENTS,
                                   on_bytes=lambda n: send(("progress", n, None))):
            table = usage_table(chunk.usage)
            chunk.usage = []
            send(("chunk", to_ipc(table), chunk))
        send(("done", None, None))
    except BaseException as exc:  # report anything, then stop
        send(("error", f"{type(exc).__name__}: {exc}", None))


if __name__ == "__main__":
    _worker_main()
