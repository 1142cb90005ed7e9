"""CSV: one row per usage event (columns: `table.csv_header()`), money as exact decimal USD strings."""

from __future__ import annotations

import csv
import io
from typing import BinaryIO

from ..events import format_ts
from ..pricing import Discount
from ..store import Store
from .selection import Selection, batched, usd
from .table import MONEY_COLUMNS, USAGE_COLUMNS, csv_header, usage_record


def _cell(column: str, value: object) -> object:
    if column in MONEY_COLUMNS:
        return usd(value)  # type: ignore[arg-type]
    if column == "ts":
        return format_ts(value)  # type: ignore[arg-type]
    return "" if value is None else value


def write_csv(store: Store, out: BinaryIO, selection: Selection, discount: Discount) -> int:
    """The header, then one row per event; returns the number of data rows."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")

    def flush() -> None:
        out.write(text.getvalue().encode("utf-8"))
        text.seek(0)
        text.truncate()

    writer.writerow(csv_header())
    rows = 0
    for batch in batched(selection.usage(store)):
        for event in batch:
            record = usage_record(event, discount)
            writer.writerow([_cell(c, record[c]) for c in USAGE_COLUMNS])
        rows += len(batch)
        flush()
    flush()
    return rows
