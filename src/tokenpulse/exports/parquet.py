"""Parquet: one row per usage event (the columns of `table.USAGE_COLUMNS`), written a row group at a time.

Money is kept twice: integer micro-USD (`*_cost_micros`, exact for sums) and decimal128(18, 6) USD
(`*_cost_usd`, the same amounts for tools that read money as decimals). `ts` is a UTC timestamp (µs).
"""

from __future__ import annotations

from decimal import Decimal
from typing import BinaryIO

from ..money import MICROS_PER_USD
from ..pricing import Discount
from ..store import Store
from .selection import Selection, batched
from .table import MONEY_COLUMNS, USAGE_COLUMNS, usage_record

_INT_COLUMNS = {"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                "reasoning_tokens", "web_search_requests", "duration_ms", *MONEY_COLUMNS}
_USD = Decimal(1) / MICROS_PER_USD


def schema():
    import pyarrow as pa

    fields = []
    for column in USAGE_COLUMNS:
        if column == "ts":
            fields.append(pa.field(column, pa.timestamp("us", tz="UTC"), nullable=False))
        elif column in _INT_COLUMNS:
            fields.append(pa.field(column, pa.int64()))
        else:
            fields.append(pa.field(column, pa.string()))
        if column in MONEY_COLUMNS:
            fields.append(pa.field(column.replace("_micros", "_usd"), pa.decimal128(18, 6)))
    return pa.schema(fields, metadata={"tokenpulse": "usage events; money in micro-USD and decimal USD"})


class _Sink:
    """A write-only stream for Arrow that counts its own position (pipes cannot `tell`)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out, self.position, self.closed = out, 0, False

    def write(self, data: bytes) -> int:
        self.out.write(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        self.out.flush()

    def close(self) -> None:
        self.closed = True  # the caller owns `out`

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False


def write_parquet(store: Store, out: BinaryIO, selection: Selection, discount: Discount,
                  batch_size: int = 32_768) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = schema()
    rows = 0
    with pq.ParquetWriter(pa.PythonFile(_Sink(out), mode="w"), target, compression="zstd") as writer:
        for batch in batched(selection.usage(store), batch_size):
            records = [usage_record(e, discount) for e in batch]
            columns = {c: [r[c] for r in records] for c in USAGE_COLUMNS}
            for money in MONEY_COLUMNS:
                columns[money.replace("_micros", "_usd")] = [
                    None if m is None else Decimal(m) * _USD for m in columns[money]]
            writer.write_table(pa.table(columns, schema=target))
            rows += len(batch)
    return rows
