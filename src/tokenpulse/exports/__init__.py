"""Exports: the stored events between two times, written to a binary stream, in four formats.

- `ndjson`: canonical `tokenpulse-events/1` lines (usage, then outcomes), re-importable with `import`;
- `csv`: one row per usage event (`table.csv_header()`), money as decimal USD strings;
- `parquet`: the same rows, money as integer micro-USD and as decimal USD columns;
- `focus`: FOCUS 1.2 CSV, one row per UTC day, person, tool and model (see `focus`).

Every writer streams: events are read and written in batches, never all held at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import BinaryIO, Literal

from ..errors import ConfigError
from ..pricing import Discount
from ..store import Store
from .csv_rows import write_csv
from .focus import write_focus
from .ndjson import write_ndjson
from .parquet import write_parquet
from .selection import Selection, select

ExportFormat = Literal["ndjson", "csv", "parquet", "focus"]
FORMATS: tuple[ExportFormat, ...] = ("ndjson", "csv", "parquet", "focus")
CONTENT_TYPES: dict[str, str] = {
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "focus": "text/csv; charset=utf-8",
}
EXTENSIONS: dict[str, str] = {"ndjson": ".ndjson", "csv": ".csv", "parquet": ".parquet", "focus": ".focus.csv"}


def export_filename(fmt: str, since: date | None = None, until: date | None = None) -> str:
    """`tokenpulse-2026-03-01-2026-03-31.focus.csv` (a download's suggested name)."""
    span = "".join(f"-{d.isoformat()}" for d in (since, until) if d is not None)
    return f"tokenpulse{span}{EXTENSIONS[fmt]}"


def write_export(store: Store, fmt: str, out: BinaryIO, since: datetime | date | None = None,
                 until: datetime | date | None = None, *, people: Sequence[str] | None = None,
                 discount: Discount | None = None, tz: str = "UTC") -> int:
    """Write the events in [since, until) as `fmt`; returns the number of rows (NDJSON: lines) written.

    `since`/`until`: timezone-aware instants (`until` exclusive), or local dates in `tz` (both included);
    None is unbounded. `people`: only these person ids (None: everyone). `discount`: the org discount for
    effective costs (None: none)."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r} (choose one of {', '.join(FORMATS)})")
    selection = select(since, until, people, tz)
    discount = discount or Discount()
    if fmt == "ndjson":
        return write_ndjson(store, out, selection)
    if fmt == "csv":
        return write_csv(store, out, selection, discount)
    if fmt == "parquet":
        return write_parquet(store, out, selection, discount)
    return write_focus(store, out, selection, discount)


__all__ = ["CONTENT_TYPES", "EXTENSIONS", "FORMATS", "ExportFormat", "Selection", "export_filename", "select",
           "write_export"]
