"""The columnar form of usage events: an Arrow table with one column per `UsageEvent` field.

Batches travel in this form from the parse workers to the store (Arrow IPC between processes) and
into the database (DuckDB scans Arrow without copying). Times become UTC microseconds without a
zone; `extra` becomes a JSON string.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
import pyarrow as pa

from .events import UsageEvent, extra_json

FIELDS: tuple[str, ...] = UsageEvent.__struct_fields__
_INT = frozenset(f for f in FIELDS if f.endswith(("_tokens", "_requests", "_micros", "_ms")) or f == "rank")
_TS = pa.timestamp("us")
SCHEMA = pa.schema([
    (name, _TS if name == "ts" else pa.int64() if name in _INT else pa.string()) for name in FIELDS
])


_ROW = pa.struct(list(SCHEMA))  # (Arrow stores an aware `ts` as UTC in a zoneless timestamp column)
_EXTRA = FIELDS.index("extra")


def usage_table(events: Sequence[UsageEvent]) -> pa.Table:
    if not events:
        return SCHEMA.empty_table()
    # Each event as a tuple, and the tuples as one struct array: Arrow converts rows in one pass (about
    # twice as fast as transposing into a Python list per column first).
    rows: list[Any] = list(map(msgspec.structs.astuple, events))
    for i, row in enumerate(rows):
        if row[_EXTRA] is not None:
            rows[i] = (*row[:_EXTRA], extra_json(row[_EXTRA]), *row[_EXTRA + 1:])
    return pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(rows, type=_ROW))])


def to_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()
