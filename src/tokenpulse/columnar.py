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


def usage_table(events: Sequence[UsageEvent]) -> pa.Table:
    if not events:
        return SCHEMA.empty_table()
    columns = zip(*map(msgspec.structs.astuple, events), strict=True)
    arrays: list[Any] = []
    for field, values in zip(SCHEMA, columns, strict=True):
        if field.name == "ts":
            arrays.append(pa.array(values, pa.timestamp("us", tz="UTC")).cast(_TS))
        elif field.name == "extra":
            arrays.append(pa.array([extra_json(x) for x in values], pa.string()))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def to_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()
