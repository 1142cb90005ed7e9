"""NDJSON, CSV and Parquet exports from a real store: exact figures, people and time filters, empty exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from export_data import LIST_MICROS, at, outcome_events, usage_events

from tokenpulse.errors import ConfigError
from tokenpulse.events import UsageEvent, decode_line, encode_line
from tokenpulse.exports import CONTENT_TYPES, EXTENSIONS, FORMATS, export_filename
from tokenpulse.pricing import Discount
from tokenpulse.store.duckdb import DuckDBStore

FIFTEEN = Discount.parse("15%")
EFFECTIVE_15 = {"a": 12750, "b": 940, "c": 4675, "d": 18, "u": None}  # 1106×0.85 = 940.1; 21×0.85 = 17.85


def test_every_format_has_a_content_type_and_an_extension() -> None:
    assert FORMATS == ("ndjson", "csv", "parquet", "focus")
    assert set(CONTENT_TYPES) == set(EXTENSIONS) == set(FORMATS)
    assert export_filename("focus", date(2026, 3, 1), date(2026, 3, 31)) == "tokenpulse-2026-03-01-2026-03-31.focus.csv"


def test_ndjson_is_the_canonical_lines_and_re_imports_exactly(filled, export, book, tmp_path) -> None:
    data, rows = export(filled, "ndjson")
    lines = data.splitlines(keepends=True)
    assert rows == len(lines) == 6
    assert lines == [encode_line(e) for e in filled.iter_usage()] + [encode_line(o) for o in filled.iter_outcomes()]

    copy = DuckDBStore(tmp_path / "copy.duckdb")
    try:
        decoded = [decode_line(line) for line in lines]
        usage = [e for e in decoded if isinstance(e, UsageEvent)]
        for event in usage:
            book.price(event)
        copy.write_batch(usage, [e for e in decoded if e not in usage])
        again, _ = export(copy, "ndjson")
        assert again == data
        assert [(e.id, e.cost_micros, e.reported_cost_micros, e.extra) for e in copy.iter_usage()] == [
            (e.id, e.cost_micros, e.reported_cost_micros, e.extra) for e in filled.iter_usage()]
    finally:
        copy.close()


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def test_csv_has_one_row_per_event_with_exact_money(filled, export) -> None:
    data, rows = export(filled, "csv", discount=FIFTEEN)
    parsed = read_csv(data)
    assert rows == len(parsed) == 5
    assert data.split(b"\r\n")[0] == (
        b"id,ts,person,tool,provider,model,project,session,request_id,status,input_tokens,output_tokens,"
        b"cache_read_tokens,cache_write_tokens,cache_write_1h_tokens,reasoning_tokens,web_search_requests,"
        b"duration_ms,list_cost_usd,effective_cost_usd,reported_cost_usd,priced_model,price_version,source,confidence")
    by_id = {r["id"]: r for r in parsed}
    assert [r["id"] for r in parsed] == ["a", "c", "b", "d", "u"]  # time order
    assert {id: r["list_cost_usd"] for id, r in by_id.items()} == {
        "a": "0.015000", "b": "0.001106", "c": "0.005500", "d": "0.000021", "u": ""}
    assert sum(Decimal(r["list_cost_usd"] or 0) for r in parsed) * 1_000_000 == sum(
        m for m in LIST_MICROS.values() if m is not None)
    assert (by_id["a"]["list_cost_usd"], by_id["a"]["effective_cost_usd"], by_id["a"]["reported_cost_usd"]) == (
        "0.015000", "0.012750", "0.020000")
    assert (by_id["b"]["list_cost_usd"], by_id["b"]["effective_cost_usd"]) == ("0.001106", "0.000940")
    assert (by_id["d"]["effective_cost_usd"], by_id["u"]["list_cost_usd"], by_id["u"]["priced_model"]) == (
        "0.000018", "", "")
    a, c = by_id["a"], by_id["c"]
    assert (a["ts"], a["person"], a["input_tokens"], a["cache_read_tokens"], a["duration_ms"]) == (
        "2026-03-02T09:00:00.123Z", "ana", "1000", "10000", "2210")
    assert (c["status"], c["source"], c["confidence"], c["reasoning_tokens"], c["duration_ms"]) == (
        "error", "gateway", "billed", "200", "")
    assert by_id["b"]["ts"] == "2026-03-02T23:59:59.999999Z"
    assert by_id["u"]["person"] == "<script>alert(1)</script>"


def test_parquet_keeps_money_as_exact_micros_and_decimals(filled, export) -> None:
    data, rows = export(filled, "parquet", discount=FIFTEEN)
    table = pq.read_table(io.BytesIO(data))
    assert rows == table.num_rows == 5
    records = {r["id"]: r for r in table.to_pylist()}
    assert {id: r["list_cost_micros"] for id, r in records.items()} == LIST_MICROS
    assert {id: r["effective_cost_micros"] for id, r in records.items()} == EFFECTIVE_15
    assert records["b"]["list_cost_usd"] == Decimal("0.001106")
    assert records["a"]["reported_cost_micros"] == 20000 and records["a"]["reported_cost_usd"] == Decimal("0.02")
    assert records["u"]["list_cost_usd"] is None
    assert records["b"]["ts"] == datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=UTC)
    assert str(table.schema.field("list_cost_usd").type) == "decimal128(18, 6)"
    assert str(table.schema.field("ts").type) == "timestamp[us, tz=UTC]"


def test_parquet_is_written_in_row_groups(filled, export) -> None:
    from tokenpulse.exports.parquet import write_parquet
    from tokenpulse.exports.selection import select

    out = io.BytesIO()
    assert write_parquet(filled, out, select(None, None, None), Discount(), batch_size=2) == 5
    meta = pq.ParquetFile(io.BytesIO(out.getvalue())).metadata
    assert (meta.num_row_groups, meta.num_rows) == (3, 5)


def people_in(fmt: str, data: bytes) -> set[str]:
    if fmt == "parquet":
        return set(pq.read_table(io.BytesIO(data)).column("person").to_pylist())
    if fmt == "ndjson":
        return {decode_line(line).person for line in data.splitlines()}
    return {r["person" if fmt == "csv" else "x_Person"] for r in read_csv(data)}


@pytest.mark.parametrize("fmt", FORMATS)
def test_people_restricts_every_format(filled, export, fmt) -> None:
    everyone, all_rows = export(filled, fmt)
    only_bob, bob_rows = export(filled, fmt, people=["bob"])
    both, both_rows = export(filled, fmt, people=("bob", "ana"))
    nobody, no_rows = export(filled, fmt, people=[])
    assert people_in(fmt, everyone) == {"ana", "bob", "<script>alert(1)</script>"}
    assert (people_in(fmt, only_bob), people_in(fmt, both), people_in(fmt, nobody)) == ({"bob"}, {"ana", "bob"}, set())
    assert 0 == no_rows < bob_rows < both_rows < all_rows


def test_ndjson_people_filter_covers_outcomes(filled, export) -> None:
    data, rows = export(filled, "ndjson", people=["ana"])
    ids = [decode_line(line).id for line in data.splitlines()]
    assert (rows, ids) == (4, ["a", "b", "d", "o1"])


@pytest.mark.parametrize(("fmt", "expected"), [
    ("ndjson", b""),
    ("csv", b"id,ts,person,tool,provider,model,project,session,request_id,status,input_tokens,"),
    ("focus", b"BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,"),
])
def test_an_empty_export_is_the_header_only_and_stable(store, export, fmt, expected) -> None:
    data, rows = export(store, fmt)
    assert rows == 0
    assert data.startswith(expected) and data.count(b"\r\n") == (0 if fmt == "ndjson" else 1)
    assert export(store, fmt)[0] == data


def test_an_empty_parquet_export_has_the_schema_and_no_rows(store, export) -> None:
    data, rows = export(store, "parquet")
    table = pq.read_table(io.BytesIO(data))
    assert (rows, table.num_rows) == (0, 0)
    assert table.schema.names[:3] == ["id", "ts", "person"]


def test_bounds_are_instants_or_local_dates(filled, export) -> None:
    def ids(*args, **kwargs) -> list[str]:
        return [decode_line(line).id for line in export(filled, "ndjson", *args, **kwargs)[0].splitlines()]

    assert ids(at("2026-03-02T10:00:00"), at("2026-03-03T00:00:00")) == ["c", "b"]
    # 2026-03-02 in New York is [05:00Z on the 2nd, 05:00Z on the 3rd): everything from a to d.
    assert ids(date(2026, 3, 2), date(2026, 3, 2), tz="America/New_York") == ["a", "c", "b", "d", "o1"]
    assert ids(since=date(2026, 3, 3)) == ["d", "u"]


def test_bad_bounds_and_formats_are_refused(store, export) -> None:
    with pytest.raises(ConfigError, match="timezone-aware"):
        export(store, "csv", datetime(2026, 3, 2))
    with pytest.raises(ConfigError, match="before it starts"):
        export(store, "csv", date(2026, 3, 3), date(2026, 3, 1))
    with pytest.raises(ConfigError, match="unknown export format"):
        export(store, "xlsx")


def test_events_written_twice_export_once(filled, export, book) -> None:
    before, _ = export(filled, "csv")
    filled.write_batch(usage_events(book), outcome_events())
    assert export(filled, "csv")[0] == before
