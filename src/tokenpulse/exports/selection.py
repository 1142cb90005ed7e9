"""What an export reads: the events between two instants, optionally only some people's, in batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import BinaryIO, TypeVar

from ..errors import ConfigError
from ..events import OutcomeEvent, UsageEvent
from ..money import micros_to_decimal_usd
from ..store import Store

BATCH = 10_000
"""Rows converted and written at a time (memory stays bounded whatever the store holds)."""
T = TypeVar("T")


@dataclass(frozen=True)
class Selection:
    """[start, end) instants (None: unbounded) and the people to include (None: everyone)."""

    start: datetime | None
    end: datetime | None
    people: frozenset[str] | None = None

    def usage(self, store: Store, *, counted_only: bool = False) -> Iterator[UsageEvent]:
        """Usage events in time order (the store streams them, and filters by person itself); `counted_only`:
        only those totals count."""
        return store.iter_usage(self.start, self.end, self._people(), counted_only=counted_only)

    def outcomes(self, store: Store) -> Iterator[OutcomeEvent]:
        return store.iter_outcomes(self.start, self.end, self._people())

    def _people(self) -> list[str] | None:
        return None if self.people is None else sorted(self.people)


def _instant(value: datetime | date | None, tz: str, *, end: bool) -> datetime | None:
    """An aware datetime as it is; a date is a whole local day in `tz` (an `until` date is included)."""
    if value is None or isinstance(value, datetime):
        if value is not None and value.tzinfo is None:
            raise ConfigError(f"export bounds must be timezone-aware, got {value.isoformat()}")
        return value
    from ..reports import zone

    return datetime.combine(value + timedelta(days=1) if end else value, time(0), tzinfo=zone(tz))


def select(since: datetime | date | None, until: datetime | date | None, people: Sequence[str] | None,
           tz: str = "UTC") -> Selection:
    start, end = _instant(since, tz, end=False), _instant(until, tz, end=True)
    if start is not None and end is not None and end <= start:
        raise ConfigError(f"the export ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    return Selection(start, end, None if people is None else frozenset(people))


def batched(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_chunks(out: BinaryIO, chunks: Iterable[bytes], size: int = BATCH) -> int:
    """Write byte strings (one per row) in batches; returns how many rows were written."""
    rows = 0
    for batch in batched(chunks, size):
        out.write(b"".join(batch))
        rows += len(batch)
    return rows


def usd(micros: int | None) -> str:
    """Exact decimal USD text ('0.020000'); '' for unknown."""
    return "" if micros is None else str(micros_to_decimal_usd(micros))
