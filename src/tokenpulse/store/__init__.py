"""The store: where events live once they are priced.

`Store` is the contract every backend keeps (the embedded DuckDB file now, PostgreSQL for server
mode next): idempotent writes keyed by the event id, file read positions for incremental import,
and the summaries reports are built from. Nothing outside `store/` writes SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from ..events import OutcomeEvent, UsageEvent
from ..pricing import PriceBook

Grouping = Literal["day", "week", "month", "session", "hour", "person", "tool", "project", "person_tool"]
PERSON_TOOL_SEPARATOR = "\x1f"
"""`person_tool` keys are the person and the tool joined by this (the person may be empty)."""


@dataclass
class FileState:
    """How far one local log file has been read."""

    path: str
    format: str
    device: int
    inode: int
    size: int
    mtime_ns: int
    offset: int
    lines: int
    head_hash: str
    tail_open: bool = False
    parser_state: dict[str, Any] | None = None


@dataclass(frozen=True)
class IngestError:
    """A line that could not be read (line 0: the whole file)."""

    path: str
    line: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "message": self.message}


@dataclass
class WriteResult:
    new: int = 0
    """Ids not seen before."""
    updated: int = 0
    """Ids already stored, replaced by a more complete copy."""
    unchanged: int = 0
    """Ids already stored, and the stored copy was at least as complete (re-reads, duplicates)."""
    outcomes_new: int = 0

    def add(self, other: WriteResult) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.outcomes_new += other.outcomes_new


@dataclass(frozen=True)
class UsageQuery:
    """Which usage to sum, and how to group it (local dates in `tz`)."""

    group: Grouping
    tz: str = "UTC"
    week_start: int = 0
    """0 = weeks start on Monday, 6 = Sunday."""
    since: datetime | None = None
    """Inclusive lower bound, timezone-aware."""
    until: datetime | None = None
    """Exclusive upper bound, timezone-aware."""
    tools: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    people: tuple[str, ...] = ()


@dataclass
class UsageRow:
    """Usage summed for one group key, provider and model."""

    key: date | datetime | str | None
    provider: str | None
    model: str | None
    project: str | None = None
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    cost_micros: int = 0
    unpriced_requests: int = 0
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    tools: list[str] = field(default_factory=list)


class Store(Protocol):
    """What every backend does. Both also share `store.directory.DirectoryTables`: people and aliases,
    API keys, prompts, cumulative counter state and `push` positions."""

    path: str

    def file_states(self) -> dict[str, FileState]: ...

    def write_batch(
        self,
        usage: Sequence[UsageEvent] | Any,
        outcomes: Sequence[OutcomeEvent] = (),
        file_states: Sequence[FileState] = (),
        forget_files: Sequence[str] = (),
        errors: Sequence[IngestError] = (),
        match_window: timedelta | None = None,
    ) -> WriteResult:
        """Write events and read positions in one transaction, idempotently by event id.

        `usage` is a sequence of events or an Arrow table in `tokenpulse.columnar` form. A stored copy of
        an id is replaced only by a copy of higher `rank`. `match_window`: stored copies are only looked
        for within this time of the batch's events (for sources whose copies of one event always carry
        nearly the same time, such as the collector's; None: anywhere)."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Group writes into one transaction (nested uses join the outer one)."""
        ...

    def background_work(self, processes: int) -> AbstractContextManager[None]:
        """`processes` other processes are busy on this machine's cores for the duration (a hint)."""
        ...

    def checkpoint(self) -> None:
        """Settle what was written into the store's main file (after a batch of writes)."""
        ...

    def refresh_rollups(self) -> None:
        """Bring the summaries up to date with every event written so far."""
        ...

    def usage_rows(self, query: UsageQuery) -> list[UsageRow]: ...

    def iter_usage(self, since: datetime | None = None, until: datetime | None = None,
                   people: Sequence[str] | None = None, *, counted_only: bool = False) -> Iterator[UsageEvent]:
        """Usage events in [since, until) in time order, streamed; only these people's when `people` is given;
        `counted_only`: only those totals count (not the gateway's or local copies of what a vendor reported,
        nor local copies of gateway requests: `store.summaries.counted_table`)."""
        ...

    def iter_outcomes(self, since: datetime | None = None, until: datetime | None = None,
                      people: Sequence[str] | None = None) -> Iterator[OutcomeEvent]: ...

    def stale_price_versions(self, version: str) -> int:
        """How many events were priced with a price book other than `version`."""
        ...

    def reprice(self, book: PriceBook, only_stale: bool = True) -> int: ...

    def recent_errors(self, limit: int = 50) -> list[IngestError]: ...

    def close(self) -> None: ...


def engine_errors() -> tuple[type[Exception], ...]:
    """The database engine's own exception types (for turning them into messages at the boundary)."""
    import sys

    duckdb = sys.modules.get("duckdb")
    return (duckdb.Error,) if duckdb is not None else ()


def is_postgres(location: str | Path) -> bool:
    return str(location).startswith(("postgres://", "postgresql://"))


def describe_location(location: str | Path) -> str:
    """The store's location for messages: a path, or a URL without its password."""
    if is_postgres(location):
        from .postgres import redact

        return redact(str(location))
    return str(location)


def store_generation(location: str | Path) -> str | None:
    """A value that changes whenever the store at `location` is written, read without opening it (None
    for a database server, where caches beside the store do not apply)."""
    if is_postgres(location):
        return None
    from .generation import generation

    return generation(Path(location))


def open_store(location: str | Path, *, read_only: bool = False, memory_limit: str | None = None) -> Store:
    """Open (creating and migrating as needed) the store at a DuckDB file path or a `postgresql://` URL.
    `memory_limit` caps an embedded store's cache (a process that only appends needs little)."""
    text = str(location)
    if is_postgres(text):
        from .postgres import PostgresStore

        return PostgresStore(text, read_only=read_only)
    from .duckdb import DEFAULT_MEMORY_LIMIT, DuckDBStore

    return DuckDBStore(Path(text), read_only=read_only, memory_limit=memory_limit or DEFAULT_MEMORY_LIMIT)
