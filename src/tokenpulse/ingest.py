"""Incremental import: read only what is new in each log file, price it, store it once.

For every file we remember its identity (device, inode, the hash of its first bytes), how many
bytes and lines have been consumed, and the parser's state. The next import:

- skips files whose size, mtime and identity are unchanged (no open, no read);
- reads a grown file from where it stopped, only up to its last complete line;
- re-reads from the start a file that shrank or was rewritten (ids make that harmless);
- recognises a file that moved (same inode and head, new path: Codex archiving) and carries on;
- forgets files that are gone (their events stay: nothing accepted is ever dropped).

A last line without a newline is consumed only if it is a complete JSON object (a writer may be
half-way through it otherwise); if not, it is left for the next import and reported as pending.

Large imports are parsed by worker processes (`parallel.py`), one per core, while this process
writes to the store; small ones run in-process. Both go through `process_files`.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SourceError
from .events import OutcomeEvent, UsageEvent
from .lines import INCOMPLETE_LAST_LINE, LineReader
from .pricing import PriceBook
from .sources import FORMATS, SNIFFED_SUFFIXES, Root, file_context, sniff_format, walk
from .store import FileState, IngestError, Store, WriteResult

HEAD_BYTES = 1024
BATCH_EVENTS = 25_000
TRANSACTION_EVENTS = 250_000
MAX_REPORTED_ERRORS = 1000
PARALLEL_MIN_BYTES = 48 << 20
MAX_WORKERS = 3
"""Beyond about three parse workers the main process's store writes are the bottleneck; more would only
add memory (some 200 MB each)."""


@dataclass
class ImportReport:
    files_seen: int = 0
    files_unchanged: int = 0
    files_read: int = 0
    files_restarted: int = 0
    """Files read again from the start because they shrank or were rewritten."""
    files_moved: int = 0
    files_forgotten: int = 0
    bytes_read: int = 0
    lines_read: int = 0
    usage_lines: int = 0
    workers: int = 0
    written: WriteResult = field(default_factory=WriteResult)
    errors: list[IngestError] = field(default_factory=list)
    errors_total: int = 0
    pending: list[IngestError] = field(default_factory=list)
    """Last lines found incomplete by this import (no newline, not a whole JSON object): read next time."""
    still_pending: list[IngestError] = field(default_factory=list)
    """Incomplete last lines already reported, in files unchanged since (a writer that stopped mid-line)."""
    unpriced_models: dict[str, int] = field(default_factory=dict)
    roots: list[str] = field(default_factory=list)
    """Where this import looked."""

    def note_errors(self, errors: list[IngestError]) -> None:
        """Count every error; keep the first MAX_REPORTED_ERRORS to show."""
        self.errors_total += len(errors)
        room = MAX_REPORTED_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])

    def absorb(self, chunk: Chunk) -> None:
        """Add what one processed chunk of files found."""
        self.files_read += chunk.files_read
        self.bytes_read += chunk.bytes_read
        self.lines_read += chunk.lines_read
        self.usage_lines += chunk.usage_lines
        self.note_errors(chunk.errors)
        self.pending.extend(chunk.pending)
        for model, count in chunk.unpriced_models.items():
            self.unpriced_models[model] = self.unpriced_models.get(model, 0) + count

    @property
    def partial(self) -> bool:
        """This import met lines it could not read (it kept everything else). Lines reported before, in
        files unchanged since, are warned about again but do not make every later run partial."""
        return self.errors_total > 0 or bool(self.pending)

    def to_json(self) -> dict[str, Any]:
        return {
            "files": {"seen": self.files_seen, "unchanged": self.files_unchanged, "read": self.files_read,
                      "restarted": self.files_restarted, "moved": self.files_moved,
                      "forgotten": self.files_forgotten},
            "bytes_read": self.bytes_read,
            "lines_read": self.lines_read,
            "usage_lines": self.usage_lines,
            "events": {"new": self.written.new, "updated": self.written.updated,
                       "unchanged": self.written.unchanged, "outcomes_new": self.written.outcomes_new},
            "errors_total": self.errors_total,
            "errors": [e.to_json() for e in self.errors],
            "pending": [e.to_json() for e in self.pending],
            "still_pending": [e.to_json() for e in self.still_pending],
            "unpriced_models": dict(sorted(self.unpriced_models.items())),
            "roots": self.roots,
            "partial": self.partial,
        }


@dataclass
class FilePlan:
    """One file to read, and from where."""

    path: str
    format: str
    root: str
    device: int
    inode: int
    size: int
    mtime_ns: int
    head: bytes
    offset: int = 0
    lines: int = 0
    tail_open: bool = False
    parser_state: dict[str, Any] | None = None


def _head_hash(head: bytes) -> str:
    return hashlib.blake2b(head, digest_size=12).hexdigest()


def _read_head(path: str, size: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(min(HEAD_BYTES, size))


# --- deciding what to read ----------------------------------------------------------------------


def _candidates(root: Root) -> Iterator[tuple[str, os.stat_result, str | None]]:
    """(path, stat, format or None to sniff) for every file a root covers."""
    if root.path.is_file():
        yield str(root.path), root.path.stat(), root.format
        return
    if root.format:
        accepts: Callable[[str], bool] = FORMATS[root.format].accepts
    else:
        def accepts(name: str) -> bool:
            return name.endswith(SNIFFED_SUFFIXES)
    for path, st in walk(root.path, accepts):
        yield path, st, root.format


def plan_import(roots: list[Root], states: dict[str, FileState], report: ImportReport,
                ) -> tuple[list[FilePlan], list[str]]:
    """Which files to read and from where, and which remembered files to forget."""
    found: list[tuple[str, os.stat_result, str | None, Path]] = []
    seen: set[str] = set()
    for root in roots:
        if not root.path.exists():
            raise SourceError(f"no such file or directory: {root.path}")
        for path, st, fmt in _candidates(root):
            if path not in seen:
                seen.add(path)
                found.append((path, st, fmt, root.path))
    report.files_seen = len(found)
    scanned = [str(r.path).rstrip(os.sep) for r in roots]
    vanished = {
        (s.device, s.inode): s for p, s in states.items()
        if p not in seen and any(p == r or p.startswith(r + os.sep) for r in scanned)
    }
    plans: list[FilePlan] = []
    moved_from: list[str] = []
    for path, st, fmt, root in found:
        state = states.get(path)
        if (state is not None and state.size == st.st_size and state.mtime_ns == st.st_mtime_ns
                and state.inode == st.st_ino and state.device == st.st_dev):
            report.files_unchanged += 1
            if state.offset < state.size and not state.tail_open:
                # Still an unfinished last line (a writer stopped mid-line): say so on every run.
                report.still_pending.append(IngestError(path, state.lines + 1, INCOMPLETE_LAST_LINE))
            continue
        try:
            head = _read_head(path, st.st_size)
        except OSError as exc:
            report.note_errors([IngestError(path, 0, f"cannot read: {exc.strerror}")])
            continue
        if state is None and (moved := vanished.get((st.st_dev, st.st_ino))) is not None \
                and _head_hash(head[: min(HEAD_BYTES, moved.offset)]) == moved.head_hash:
            del vanished[(st.st_dev, st.st_ino)]
            report.files_moved += 1
            moved_from.append(moved.path)
            state = moved
        plan = FilePlan(path=path, format=fmt or (state.format if state else sniff_format(head)),
                        root=str(root), device=st.st_dev, inode=st.st_ino, size=st.st_size,
                        mtime_ns=st.st_mtime_ns, head=head)
        if state is not None:
            if (state.inode == st.st_ino and state.device == st.st_dev and st.st_size >= state.offset
                    and _head_hash(head[: min(HEAD_BYTES, state.offset)]) == state.head_hash):
                plan.offset, plan.lines = state.offset, state.lines
                plan.tail_open, plan.parser_state = state.tail_open, state.parser_state
            else:
                report.files_restarted += 1
        plans.append(plan)
    forget = [s.path for s in vanished.values()]
    report.files_forgotten = len(forget)
    return plans, forget + moved_from


# --- turning files into write-ready chunks ----------------------------------------------------------


@dataclass
class Chunk:
    """What some files yielded, ready for one store write (events are deduplicated and priced)."""

    usage: list[UsageEvent] = field(default_factory=list)
    outcomes: list[OutcomeEvent] = field(default_factory=list)
    states: list[FileState] = field(default_factory=list)
    """Read positions of the files finished in this chunk (saved with its events, never before)."""
    errors: list[IngestError] = field(default_factory=list)
    pending: list[IngestError] = field(default_factory=list)
    unpriced_models: dict[str, int] = field(default_factory=dict)
    files_read: int = 0
    bytes_read: int = 0
    lines_read: int = 0
    usage_lines: int = 0


def process_files(plans: list[FilePlan], book: PriceBook, person: str | None = None,
                  batch_events: int = BATCH_EVENTS,
                  on_bytes: Callable[[int], None] | None = None) -> Iterator[Chunk]:
    """Read, parse, deduplicate and price `plans`; yield chunks of at most about `batch_events` events."""
    chunk = Chunk()
    usage: dict[str, UsageEvent] = {}
    outcomes: dict[str, OutcomeEvent] = {}

    def finish() -> Chunk:
        nonlocal chunk, usage, outcomes
        done = chunk
        done.usage = list(usage.values())
        done.outcomes = list(outcomes.values())
        for event in done.usage:
            if person and event.person is None:
                event.person = person
            book.price(event)
            if event.cost_micros is None:
                name = event.model or "(no model)"
                done.unpriced_models[name] = done.unpriced_models.get(name, 0) + 1
        chunk, usage, outcomes = Chunk(), {}, {}
        return done

    for plan in plans:
        parse = FORMATS[plan.format].parse
        context = file_context(Path(plan.path), Path(plan.root), plan.format, plan.parser_state)
        file_errors: list[IngestError] = []
        try:
            f = open(plan.path, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            chunk.errors.append(IngestError(plan.path, 0, f"cannot read: {exc.strerror}"))
            continue
        with f:
            reader = LineReader(f, plan.path, plan.offset, plan.lines, plan.tail_open)
            seen = 0
            for lines in reader.chunks():
                result = parse(lines, context)
                context.state = result.state
                chunk.lines_read += len(lines)
                chunk.usage_lines += len(result.usage)
                for event in result.usage:
                    current = usage.get(event.id)
                    if current is None or event.rank > current.rank:
                        usage[event.id] = event
                for outcome in result.outcomes:
                    outcomes.setdefault(outcome.id, outcome)
                file_errors.extend(IngestError(plan.path, e.line, e.message) for e in result.errors)
                if on_bytes:
                    on_bytes(reader.bytes_read - seen)
                    seen = reader.bytes_read
                if len(usage) + len(outcomes) >= batch_events:
                    yield finish()
        file_errors.extend(reader.errors)
        file_errors.sort(key=lambda e: e.line)
        chunk.errors.extend(file_errors)
        if reader.pending:
            chunk.pending.append(reader.pending)
        chunk.files_read += 1
        chunk.bytes_read += reader.bytes_read
        head_len = min(HEAD_BYTES, reader.offset)
        head = plan.head if len(plan.head) >= head_len else _read_head(plan.path, head_len)
        chunk.states.append(FileState(
            path=plan.path, format=plan.format, device=plan.device, inode=plan.inode, size=plan.size,
            mtime_ns=plan.mtime_ns, offset=reader.offset, lines=reader.lines,
            head_hash=_head_hash(head[:head_len]), tail_open=reader.tail_open, parser_state=context.state,
        ))
    yield finish()


# --- the import ---------------------------------------------------------------------------------


def run_import(
    store: Store,
    book: PriceBook,
    roots: list[Root],
    *,
    person: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import what is new under `roots`; `on_progress(done_bytes, total_bytes)` is told as reading goes.

    `workers`: parse processes to use (default: one per core when there is a lot to read, else none)."""
    with _gc_paused():
        return _run_import(store, book, roots, person, on_progress, workers)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing creates millions of short-lived objects and no reference cycles; the cyclic collector
    would rescan the growing heap again and again (a third of the import time on a large history)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _run_import(store: Store, book: PriceBook, roots: list[Root], person: str | None,
                on_progress: Callable[[int, int], None] | None, workers: int | None) -> ImportReport:
    report = ImportReport(roots=[str(r.path) for r in roots])
    plans, forget = plan_import(roots, store.file_states(), report)
    total = sum(max(p.size - p.offset, 0) for p in plans)
    if workers is None:
        workers = min(_cores(), len(plans), MAX_WORKERS) if total >= PARALLEL_MIN_BYTES and _cores() > 1 else 0
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if on_progress:
            on_progress(done, total)

    if workers > 1:
        from .parallel import parallel_chunks

        chunks: Iterator[Any] = parallel_chunks(plans, workers, book.files, person, book.version, advance)
        report.workers = workers
    else:
        chunks = process_files(plans, book, person, on_bytes=advance)
    with store.background_work(workers):
        for chunk in _in_transactions(store, chunks, TRANSACTION_EVENTS):
            report.absorb(chunk)
            if len(chunk.usage) or chunk.outcomes or chunk.states or chunk.errors:
                report.written.add(store.write_batch(chunk.usage, chunk.outcomes, chunk.states, (), chunk.errors))
        with store.transaction():
            if forget:
                store.write_batch([], forget_files=forget)
            store.refresh_rollups()
    if plans or forget:
        store.checkpoint()
    return report


def _in_transactions(store: Store, chunks: Iterator[Chunk], events: int) -> Iterator[Chunk]:
    """The chunks, each handed out inside a store transaction that commits every `events` events or so.

    Committing every 250,000 events lets DuckDB write whole row groups straight to the file instead
    of through its log, while memory stays bounded. (If the caller fails on a chunk, the open
    transaction rolls back: its chunks' read positions were not saved either.)"""
    iterator = iter(chunks)
    while True:
        with store.transaction():
            count = 0
            for chunk in iterator:
                yield chunk
                count += len(chunk.usage)
                if count >= events:
                    break
            else:
                return


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
