"""The embedded DuckDB store: idempotent writes, rank replacement, file states, transactions,
hourly rollups read in any time zone, and re-pricing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from canonical_lines import sonnet_price_file
from tokenpulse.columnar import usage_table
from tokenpulse.events import OutcomeEvent, UsageEvent
from tokenpulse.pricing import PriceBook, load_price_book
from tokenpulse.store import FileState, IngestError, UsageQuery, WriteResult
from tokenpulse.store.duckdb import DuckDBStore
from tokenpulse.store.summaries import hour_aligned

# claude-sonnet-4-5 list prices in the bundled book, USD per million tokens = micro-USD per token:
# input 3, output 15, cache read 0.3, cache write 5 min 3.75.
SONNET = "claude-sonnet-4-5"


def ev(id: str, ts: str, *, output: int = 10, input: int = 3, cache_read: int = 1000, cache_write: int = 0,
       rank: int = 0, model: str = SONNET, session: str = "s1", project: str = "proj", tool: str = "claude_code",
       book: PriceBook | None = None, extra: dict | None = None) -> UsageEvent:
    event = UsageEvent(id=id, ts=datetime.fromisoformat(ts.replace("Z", "+00:00")), tool=tool, provider="anthropic",
                       model=model, input_tokens=input, output_tokens=output, cache_read_tokens=cache_read,
                       cache_write_tokens=cache_write, session=session, project=project, rank=rank,
                       source="local_log", confidence="estimated", extra=extra)
    if book is not None:
        book.price(event)
    return event


def sonnet_cost(input: int = 3, output: int = 10, cache_read: int = 1000, cache_write: int = 0) -> int:
    """micro-USD, worked out from the bundled rates (see SONNET above)."""
    return input * 3 + output * 15 + cache_read * 3 // 10 + cache_write * 375 // 100


def one(store: DuckDBStore, sql: str, *params):
    return store.con.execute(sql, list(params)).fetchall()[0]


def assert_ids_unique(store: DuckDBStore) -> None:
    total, distinct = one(store, "SELECT count(*), count(DISTINCT id) FROM events")
    assert total == distinct


def assert_rollups_match_events(store: DuckDBStore) -> None:
    """`usage_hourly` holds exactly what summing `events` per UTC hour gives."""
    store.refresh_rollups()
    assert one(store, "SELECT count(*) FROM dirty_hours") == (0,)
    from_events = store.con.execute("""
        SELECT date_trunc('hour', ts) AS h, coalesce(priced_model, model), session, count(*), sum(input_tokens),
               sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens), coalesce(sum(cost_micros), 0),
               count(*) FILTER (WHERE cost_micros IS NULL)
        FROM events GROUP BY ALL ORDER BY ALL""").fetchall()
    from_rollup = store.con.execute("""
        SELECT hour, model, session, sum(requests), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
               sum(cache_write_tokens), sum(cost_micros), sum(unpriced_requests)
        FROM usage_hourly GROUP BY ALL ORDER BY ALL""").fetchall()
    assert from_rollup == from_events


def stored(store: DuckDBStore, id: str) -> tuple:
    return one(store, "SELECT output_tokens, rank, ts, cost_micros FROM events WHERE id = ?", id)


# --- writes ---------------------------------------------------------------------------------------


def test_write_batch_is_idempotent(store: DuckDBStore, book: PriceBook) -> None:
    events = [ev("a", "2026-03-02T10:00:00Z", book=book), ev("b", "2026-03-02T11:30:00Z", output=20, book=book)]
    assert store.write_batch(events) == WriteResult(new=2)
    assert store.write_batch(events) == WriteResult(unchanged=2)
    assert store.write_batch(usage_table(events)) == WriteResult(unchanged=2)  # the Arrow form, as workers send it
    assert one(store, "SELECT count(*), sum(output_tokens), sum(cost_micros) FROM events") == (
        2, 30, sonnet_cost(output=10) + sonnet_cost(output=20))
    assert_ids_unique(store)
    assert_rollups_match_events(store)


def test_a_higher_rank_replaces_and_an_equal_or_lower_one_does_not(store: DuckDBStore, book: PriceBook) -> None:
    store.write_batch([ev("r", "2026-03-02T10:00:00Z", output=7, rank=100, book=book)])
    assert store.write_batch([ev("r", "2026-03-02T10:00:01Z", output=500, rank=200, book=book)]) == WriteResult(updated=1)
    assert stored(store, "r") == (500, 200, datetime(2026, 3, 2, 10, 0, 1), sonnet_cost(output=500))
    # Equal rank: the stored copy stays (ties keep the first), even with different content.
    assert store.write_batch([ev("r", "2026-03-02T10:00:02Z", output=999, rank=200, book=book)]) == WriteResult(unchanged=1)
    assert store.write_batch([ev("r", "2026-03-02T10:00:03Z", output=1, rank=150, book=book)]) == WriteResult(unchanged=1)
    assert stored(store, "r") == (500, 200, datetime(2026, 3, 2, 10, 0, 1), sonnet_cost(output=500))
    assert_ids_unique(store)
    assert_rollups_match_events(store)


def test_write_result_counts_a_mixed_batch(store: DuckDBStore, book: PriceBook) -> None:
    store.write_batch([ev("up", "2026-03-02T10:00:00Z", rank=1, book=book),
                       ev("same", "2026-03-02T10:00:00Z", rank=5, book=book)])
    result = store.write_batch([
        ev("up", "2026-03-02T10:00:00Z", output=40, rank=2, book=book),
        ev("same", "2026-03-02T10:00:00Z", output=40, rank=4, book=book),
        ev("new", "2026-03-02T10:00:00Z", output=40, book=book),
    ])
    assert result == WriteResult(new=1, updated=1, unchanged=1)
    assert store.con.execute("SELECT id, output_tokens FROM events ORDER BY id").fetchall() == [
        ("new", 40), ("same", 10), ("up", 40)]
    total = WriteResult(new=3)
    total.add(result)
    assert total == WriteResult(new=4, updated=1, unchanged=1)


def test_a_replacement_in_another_hour_moves_the_usage_between_hours(store: DuckDBStore, book: PriceBook) -> None:
    store.write_batch([ev("x", "2026-03-02T10:59:59Z", output=7, rank=1, book=book)])
    store.refresh_rollups()
    assert store.con.execute("SELECT hour, output_tokens FROM usage_hourly").fetchall() == [
        (datetime(2026, 3, 2, 10), 7)]
    store.write_batch([ev("x", "2026-03-02T11:00:01Z", output=700, rank=2, book=book)])
    rows = store.usage_rows(UsageQuery(group="hour"))
    assert [(r.key, r.requests, r.output_tokens, r.cost_micros) for r in rows] == [
        (datetime(2026, 3, 2, 11, tzinfo=UTC), 1, 700, sonnet_cost(output=700))]
    assert store.con.execute("SELECT hour, output_tokens FROM usage_hourly").fetchall() == [
        (datetime(2026, 3, 2, 11), 700)]
    assert_rollups_match_events(store)


def test_events_read_back_as_written(store: DuckDBStore, book: PriceBook) -> None:
    written = [ev("b", "2026-03-02T10:00:00.123456Z", extra={"agent_id": "a1"}, book=book),
               ev("a", "2026-03-01T09:00:00Z", model="acme-unknown-1", book=book)]
    store.write_batch(written)
    back = list(store.iter_usage())
    assert back == [written[1], written[0]]  # ordered by time
    assert back[0].cost_micros is None and back[0].price_version == book.version
    assert list(store.iter_usage(since=datetime(2026, 3, 2, tzinfo=UTC))) == [written[0]]
    assert list(store.iter_usage(until=datetime(2026, 3, 2, tzinfo=UTC))) == [written[1]]


def test_outcomes_are_inserted_once(store: DuckDBStore) -> None:
    commit = OutcomeEvent(id="o1", ts=datetime(2026, 3, 2, 10, tzinfo=UTC), type="commit", count=2,
                          person="alice@example.com", tool="claude_code", project="proj", extra={"sha": "abc"})
    pr = OutcomeEvent(id="o2", ts=datetime(2026, 3, 2, 11, tzinfo=UTC), type="pull_request")
    assert store.write_batch([], [commit, pr]).outcomes_new == 2
    changed = OutcomeEvent(id="o1", ts=datetime(2026, 3, 2, 10, tzinfo=UTC), type="commit", count=9)
    assert store.write_batch([], [changed]) == WriteResult(outcomes_new=0)
    assert list(store.iter_outcomes()) == [commit, pr]  # the first copy is kept
    assert store.counts()["outcomes"] == 2


def test_file_states_round_trip_and_are_replaced_and_forgotten(store: DuckDBStore) -> None:
    state = FileState(path="/logs/rollout-1.jsonl", format="codex", device=2049, inode=1_234_567_890_123,
                      size=10_000, mtime_ns=1_772_000_000_123_456_789, offset=9_876, lines=41,
                      head_hash="0f1e2d3c4b5a69788796a5b4", tail_open=True,
                      parser_state={"session": "t-1", "project": "café", "model": None,
                                    "totals": [1000, 200, 0, 100, 50], "nested": {"a": [1, {"b": True}]}})
    plain = FileState(path="/logs/b.jsonl", format="claude_code", device=1, inode=2, size=3, mtime_ns=4,
                      offset=3, lines=1, head_hash="h")
    store.write_batch([], file_states=[state, plain])
    assert store.file_states() == {state.path: state, plain.path: plain}

    grown = FileState(**{**state.__dict__, "size": 20_000, "offset": 19_000, "lines": 80, "tail_open": False,
                         "parser_state": {"totals": [2, 0, 0, 1, 0]}})
    store.write_batch([], file_states=[grown], forget_files=[plain.path])
    assert store.file_states() == {state.path: grown}


def test_errors_are_kept_per_file_and_line(store: DuckDBStore) -> None:
    store.write_batch([], errors=[IngestError("/l/a.jsonl", 3, "invalid JSON"), IngestError("/l/a.jsonl", 7, "bad")])
    store.write_batch([], errors=[IngestError("/l/a.jsonl", 3, "invalid JSON again")])
    assert set(store.recent_errors()) == {IngestError("/l/a.jsonl", 3, "invalid JSON again"),
                                          IngestError("/l/a.jsonl", 7, "bad")}
    assert store.recent_errors(limit=1) == [IngestError("/l/a.jsonl", 3, "invalid JSON again")]  # newest first


# --- transactions ---------------------------------------------------------------------------------


def everything(store: DuckDBStore) -> dict[str, int]:
    counts = store.counts()
    for table in ("usage_hourly", "dirty_hours"):
        counts[table] = one(store, f"SELECT count(*) FROM {table}")[0]
    return counts


NOTHING = {"events": 0, "outcomes": 0, "source_files": 0, "ingest_errors": 0, "usage_hourly": 0, "dirty_hours": 0}


def a_full_batch(book: PriceBook) -> dict:
    return dict(
        usage=[ev("t1", "2026-03-02T10:00:00Z", book=book)],
        outcomes=[OutcomeEvent(id="o", ts=datetime(2026, 3, 2, tzinfo=UTC), type="commit")],
        file_states=[FileState("/l/a.jsonl", "claude_code", 1, 2, 3, 4, 3, 1, "h")],
        errors=[IngestError("/l/a.jsonl", 1, "bad")],
    )


def test_a_rolled_back_transaction_leaves_nothing_behind(store: DuckDBStore, book: PriceBook) -> None:
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.write_batch(**a_full_batch(book))
        store.refresh_rollups()
        with store.transaction():  # a nested block joins the outer transaction
            store.write_batch([ev("t2", "2026-03-02T12:00:00Z", book=book)])
        raise RuntimeError("boom")
    assert everything(store) == NOTHING
    assert store.write_batch(**a_full_batch(book)) == WriteResult(new=1, outcomes_new=1)  # still usable
    assert store.counts() == {"events": 1, "outcomes": 1, "source_files": 1, "ingest_errors": 1}


def test_a_failing_write_leaves_nothing_behind(store: DuckDBStore, book: PriceBook) -> None:
    batch = a_full_batch(book)
    broken = ev("t9", "2026-03-02T10:00:00Z", book=book)
    broken.tool = None  # type: ignore[assignment]  # violates NOT NULL
    batch["usage"].append(broken)
    with pytest.raises(duckdb.ConstraintException):
        store.write_batch(**batch)
    assert everything(store) == NOTHING


# --- reading usage --------------------------------------------------------------------------------


@pytest.mark.parametrize(("tz", "aligned"), [
    ("UTC", True), ("America/New_York", True), ("Europe/Berlin", True),
    ("Asia/Kolkata", False), ("Asia/Kathmandu", False), ("Australia/Adelaide", False),
])
def test_hour_aligned_zones(tz: str, aligned: bool) -> None:
    assert hour_aligned(tz) is aligned


@pytest.fixture
def boundary_store(store: DuckDBStore, book: PriceBook) -> DuckDBStore:
    """Events one second apart across local midnights (all in one UTC hour each):

    - 2026-02-28 18:29:59Z / 18:30:00Z: Asia/Kolkata (+05:30) 23:59:59 Sat 28 Feb / 00:00 Sun 1 Mar;
    - 2026-03-09 03:59:59Z / 04:00:00Z: America/New_York (EDT since 8 Mar) 23:59:59 Sun 8 Mar / 00:00 Mon 9 Mar;
    - an unpriced model on 2026-03-09 04:30Z in session s2."""
    store.write_batch([
        ev("k1", "2026-02-28T18:29:59Z", output=1, book=book),
        ev("k2", "2026-02-28T18:30:00Z", output=2, book=book),
        ev("n1", "2026-03-09T03:59:59Z", output=4, book=book),
        ev("n2", "2026-03-09T04:00:00Z", output=8, book=book),
        ev("u1", "2026-03-09T04:30:00Z", output=16, session="s2", project="other", model="acme-unknown-1",
           book=book),
    ])
    return store


def keyed(rows) -> list[tuple]:
    return [(r.key, r.model, r.requests, r.output_tokens, r.cost_micros, r.unpriced_requests) for r in rows]


def cost(*outputs: int) -> int:
    return sum(sonnet_cost(output=o) for o in outputs)


def test_usage_rows_by_day_in_utc(boundary_store: DuckDBStore) -> None:
    assert keyed(boundary_store.usage_rows(UsageQuery(group="day"))) == [
        (date(2026, 2, 28), SONNET, 2, 3, cost(1, 2), 0),
        (date(2026, 3, 9), "acme-unknown-1", 1, 16, 0, 1),
        (date(2026, 3, 9), SONNET, 2, 12, cost(4, 8), 0),
    ]


def test_usage_rows_by_day_in_new_york_across_dst(boundary_store: DuckDBStore) -> None:
    assert keyed(boundary_store.usage_rows(UsageQuery(group="day", tz="America/New_York"))) == [
        (date(2026, 2, 28), SONNET, 2, 3, cost(1, 2), 0),
        (date(2026, 3, 8), SONNET, 1, 4, cost(4), 0),
        (date(2026, 3, 9), "acme-unknown-1", 1, 16, 0, 1),
        (date(2026, 3, 9), SONNET, 1, 8, cost(8), 0),
    ]


def test_usage_rows_in_a_half_hour_zone_are_exact_at_the_day_boundary(boundary_store: DuckDBStore) -> None:
    kolkata = boundary_store.usage_rows(UsageQuery(group="day", tz="Asia/Kolkata"))
    assert keyed(kolkata) == [
        (date(2026, 2, 28), SONNET, 1, 1, cost(1), 0),
        (date(2026, 3, 1), SONNET, 1, 2, cost(2), 0),
        (date(2026, 3, 9), "acme-unknown-1", 1, 16, 0, 1),
        (date(2026, 3, 9), SONNET, 2, 12, cost(4, 8), 0),
    ]
    assert kolkata[0].first_ts == kolkata[0].last_ts == datetime(2026, 2, 28, 18, 29, 59, tzinfo=UTC)
    months = boundary_store.usage_rows(UsageQuery(group="month", tz="Asia/Kolkata"))
    assert [(r.key, r.model, r.requests, r.output_tokens) for r in months] == [
        (date(2026, 2, 1), SONNET, 1, 1),
        (date(2026, 3, 1), "acme-unknown-1", 1, 16),
        (date(2026, 3, 1), SONNET, 3, 14),
    ]
    # Bounds at Kolkata midnight (18:30 UTC, inside an hour) are exact too.
    zone = ZoneInfo("Asia/Kolkata")
    bounded = boundary_store.usage_rows(UsageQuery(group="day", tz="Asia/Kolkata",
                                                   since=datetime(2026, 3, 1, tzinfo=zone),
                                                   until=datetime(2026, 3, 2, tzinfo=zone)))
    assert keyed(bounded) == [(date(2026, 3, 1), SONNET, 1, 2, cost(2), 0)]


def test_usage_rows_by_week_start_on_monday_or_sunday(boundary_store: DuckDBStore) -> None:
    monday = boundary_store.usage_rows(UsageQuery(group="week", tz="Asia/Kolkata"))
    assert [(r.key, r.model, r.requests) for r in monday] == [
        (date(2026, 2, 23), SONNET, 2),  # Sat 28 Feb and Sun 1 Mar local: the week of Mon 23 Feb
        (date(2026, 3, 9), "acme-unknown-1", 1),
        (date(2026, 3, 9), SONNET, 2),
    ]
    sunday = boundary_store.usage_rows(UsageQuery(group="week", tz="Asia/Kolkata", week_start=6))
    assert [(r.key, r.model, r.requests) for r in sunday] == [
        (date(2026, 2, 22), SONNET, 1),
        (date(2026, 3, 1), SONNET, 1),
        (date(2026, 3, 8), "acme-unknown-1", 1),
        (date(2026, 3, 8), SONNET, 2),
    ]
    ny_sunday = boundary_store.usage_rows(UsageQuery(group="week", tz="America/New_York", week_start=6))
    assert [(r.key, r.model, r.requests) for r in ny_sunday] == [
        (date(2026, 2, 22), SONNET, 2),
        (date(2026, 3, 8), "acme-unknown-1", 1),
        (date(2026, 3, 8), SONNET, 2),  # Sun 8 Mar 23:59:59 and Mon 9 Mar 00:00 local
    ]


def test_usage_rows_by_session_and_hour(boundary_store: DuckDBStore) -> None:
    sessions = boundary_store.usage_rows(UsageQuery(group="session", tz="Asia/Kolkata"))
    assert [(r.key, r.model, r.project, r.requests, r.output_tokens, r.tools) for r in sessions] == [
        ("s1", SONNET, "proj", 4, 15, ["claude_code"]),
        ("s2", "acme-unknown-1", "other", 1, 16, ["claude_code"]),
    ]
    hours = boundary_store.usage_rows(UsageQuery(group="hour", tz="Asia/Kolkata"))
    assert [(r.key, r.model, r.requests, r.output_tokens) for r in hours] == [
        (datetime(2026, 2, 28, 18, tzinfo=UTC), SONNET, 2, 3),
        (datetime(2026, 3, 9, 3, tzinfo=UTC), SONNET, 1, 4),
        (datetime(2026, 3, 9, 4, tzinfo=UTC), "acme-unknown-1", 1, 16),
        (datetime(2026, 3, 9, 4, tzinfo=UTC), SONNET, 1, 8),
    ]


def test_usage_rows_by_session_with_bounds_in_a_half_hour_zone(boundary_store: DuckDBStore) -> None:
    """`report session --since 2026-03-01 --tz Asia/Kolkata` asks from 2026-02-28 18:30 UTC: the event one
    second before that bound is outside it, the one at the bound is inside (the same UTC hour holds both)."""
    zone = ZoneInfo("Asia/Kolkata")
    rows = boundary_store.usage_rows(UsageQuery(group="session", tz="Asia/Kolkata",
                                                since=datetime(2026, 3, 1, tzinfo=zone),
                                                until=datetime(2026, 3, 2, tzinfo=zone)))
    assert [(r.key, r.requests, r.output_tokens) for r in rows] == [("s1", 1, 2)]


def test_usage_rows_filters_by_tool_and_project(store: DuckDBStore, book: PriceBook) -> None:
    store.write_batch([
        ev("c1", "2026-03-02T10:00:00Z", output=1, book=book),
        ev("c2", "2026-03-02T10:10:00Z", output=2, project="other", book=book),
        ev("x1", "2026-03-02T10:20:00Z", output=4, tool="codex", book=book),
    ])
    by = store.usage_rows
    assert [r.output_tokens for r in by(UsageQuery(group="day", tools=("claude_code",)))] == [3]
    assert [r.output_tokens for r in by(UsageQuery(group="day", projects=("other",)))] == [2]
    assert [r.output_tokens for r in by(UsageQuery(group="day", tools=("codex",), projects=("proj",)))] == [4]
    assert [r.tools for r in by(UsageQuery(group="day"))] == [["claude_code", "codex"]]


def test_no_usage_gives_no_rows(store: DuckDBStore) -> None:
    for group in ("day", "week", "month", "session", "hour"):
        assert store.usage_rows(UsageQuery(group=group, tz="Asia/Kolkata")) == []
        assert store.usage_rows(UsageQuery(group=group, tz="UTC")) == []


# --- re-pricing -----------------------------------------------------------------------------------


def cheaper_book(tmp_path: Path) -> PriceBook:
    """Sonnet 4.5 input at $4 and output at $20 per million (cache rates as bundled), and a new model."""
    return load_price_book([sonnet_price_file(tmp_path, extra="""
[models.acme-unknown-1]
provider = "acme"
input = "1"
output = "2"
""")])


def test_reprice_with_another_price_book_updates_costs_and_rollups(
        boundary_store: DuckDBStore, book: PriceBook, tmp_path: Path) -> None:
    store = boundary_store
    new_book = cheaper_book(tmp_path)
    assert new_book.version != book.version
    before = keyed(store.usage_rows(UsageQuery(group="day")))
    assert store.stale_price_versions(book.version) == 0
    # As `App.reprice_if_needed` does before every report: ask, then re-price.
    assert store.stale_price_versions(new_book.version) == 5
    assert store.reprice(new_book) == 5
    assert store.stale_price_versions(new_book.version) == 0
    # input 3 x 4 + output x 20 + cache read 1000 x 0.3; acme: input 3 x 1 + output 16 x 2 (reads at input price)
    costs = dict(store.con.execute("SELECT id, cost_micros FROM events").fetchall())
    assert costs == {"k1": 12 + 20 + 300, "k2": 12 + 40 + 300, "n1": 12 + 80 + 300, "n2": 12 + 160 + 300,
                     "u1": 3 + 32 + 1000}
    assert keyed(store.usage_rows(UsageQuery(group="day"))) == [
        (date(2026, 2, 28), SONNET, 2, 3, 332 + 352, 0),
        (date(2026, 3, 9), "acme-unknown-1", 1, 16, 1035, 0),
        (date(2026, 3, 9), SONNET, 2, 12, 392 + 472, 0),
    ]
    assert keyed(store.usage_rows(UsageQuery(group="day", tz="Asia/Kolkata")))[0] == (
        date(2026, 2, 28), SONNET, 1, 1, 332, 0)
    assert_rollups_match_events(store)

    assert store.reprice(new_book) == 0  # nothing stale any more
    assert store.reprice(book, only_stale=False) == 5  # and back
    assert keyed(store.usage_rows(UsageQuery(group="day"))) == before
    assert_ids_unique(store)
    assert_rollups_match_events(store)


def test_everything_together_keeps_ids_unique(store: DuckDBStore, book: PriceBook, tmp_path: Path) -> None:
    for round_ in range(3):
        store.write_batch([ev(f"e{i}", f"2026-03-02T1{i % 10}:00:00Z", output=10 + round_, rank=round_, book=book)
                           for i in range(20)])
    with store.transaction():
        store.write_batch([ev("e1", "2026-03-02T23:00:00Z", rank=99, book=book),
                           ev("late", "2026-03-03T00:00:00Z", book=book)])
    store.reprice(cheaper_book(tmp_path))
    assert one(store, "SELECT count(*), count(DISTINCT id) FROM events") == (21, 21)
    assert one(store, "SELECT sum(output_tokens) FROM events") == (19 * 12 + 10 + 10,)
    assert_rollups_match_events(store)


def test_a_store_held_by_another_process_is_waited_for_then_reported(tmp_path) -> None:
    import subprocess
    import sys
    import time

    from tokenpulse.errors import StoreError

    path = tmp_path / "held.duckdb"
    DuckDBStore(path).close()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time\n"
        f"c = duckdb.connect({str(path)!r})\n"
        "print('held', flush=True)\n"
        "sys.stdin.readline()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(StoreError, match="in use by another process"):
            DuckDBStore(path, lock_wait=0.3)
        assert time.monotonic() - started >= 0.3
    finally:
        holder.communicate("\n")
    DuckDBStore(path, lock_wait=0.3).close()  # free again


def test_an_id_repeated_within_one_write_is_stored_once(store) -> None:
    from datetime import UTC, datetime

    from tokenpulse.columnar import usage_table
    from tokenpulse.events import UsageEvent

    def copy(rank: int, output: int) -> UsageEvent:
        return UsageEvent(id="dup", ts=datetime(2026, 3, 1, 10, tzinfo=UTC), tool="t", model="m",
                          input_tokens=100, output_tokens=output, rank=rank)

    first = store.write_batch([copy(0, 1), copy(5, 50), copy(5, 99), copy(1, 7)])
    assert (first.new, first.updated, first.unchanged) == (1, 0, 3)
    assert store.con.execute("SELECT count(*), sum(output_tokens) FROM events").fetchone() == (1, 50)

    # The same from an Arrow table (what parse workers send), against the stored copy.
    second = store.write_batch(usage_table([copy(9, 70), copy(9, 80), copy(2, 5)]))
    assert (second.new, second.updated, second.unchanged) == (0, 1, 2)
    store.refresh_rollups()
    assert store.con.execute("SELECT count(*), sum(output_tokens) FROM events").fetchone() == (1, 70)
    assert store.con.execute("SELECT sum(requests), sum(output_tokens) FROM usage_hourly").fetchone() == (1, 70)
