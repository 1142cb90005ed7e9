"""The store contract, run against every backend: the embedded DuckDB file and PostgreSQL.

Everything here goes through the `Store` protocol only, so both backends must give the same answers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from canonical_lines import sonnet_price_file
from tokenpulse.columnar import usage_table
from tokenpulse.events import OutcomeEvent, UsageEvent
from tokenpulse.ingest import run_import
from tokenpulse.pricing import PriceBook, load_price_book
from tokenpulse.reports import ReportOptions, build_report
from tokenpulse.sources import Root
from tokenpulse.store import FileState, IngestError, UsageQuery


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def usage(id: str, ts: str, *, tokens: int = 100, output: int = 10, rank: int = 0, model: str = "claude-sonnet-4-5",
          tool: str = "claude_code", project: str | None = "alpha", session: str | None = "s1",
          book: PriceBook | None = None, **fields) -> UsageEvent:
    event = UsageEvent(id=id, ts=at(ts), tool=tool, provider="anthropic", model=model, input_tokens=tokens,
                       output_tokens=output, project=project, session=session, rank=rank, source="import",
                       confidence="metered", **fields)
    if book is not None:
        book.price(event)
    return event


def totals(store, group: str = "day", tz: str = "UTC", **query) -> list[tuple]:
    return [(r.key, r.model, r.requests, r.input_tokens, r.output_tokens, r.cost_micros, r.unpriced_requests)
            for r in store.usage_rows(UsageQuery(group=group, tz=tz, **query))]


# --- writes -------------------------------------------------------------------------------------------


def test_writes_are_idempotent_and_the_higher_rank_wins(any_store, book) -> None:
    s = any_store
    first = s.write_batch([usage("a", "2026-03-01T10:00:00", output=1, rank=1, book=book),
                           usage("b", "2026-03-01T11:00:00", book=book)])
    assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    again = s.write_batch([usage("a", "2026-03-01T10:00:00", output=1, rank=1, book=book)])
    assert (again.new, again.updated, again.unchanged) == (0, 0, 1)
    lower = s.write_batch([usage("a", "2026-03-01T10:00:00", output=999, rank=0, book=book)])
    assert (lower.new, lower.updated, lower.unchanged) == (0, 0, 1)
    # The final copy of a response (more output, higher rank) replaces the placeholder, even an hour later.
    final = s.write_batch([usage("a", "2026-03-01T12:30:00", output=50, rank=9, book=book)])
    assert (final.new, final.updated, final.unchanged) == (1 - 1, 1, 0)
    assert s.counts()["events"] == 2
    hours = totals(s, "hour")
    assert [(k.hour, req, out) for k, _, req, _, out, _, _ in hours] == [(11, 1, 10), (12, 1, 50)]


def test_an_id_repeated_within_a_write_counts_once(any_store, book) -> None:
    s = any_store
    result = s.write_batch([usage("x", "2026-03-01T10:00:00", output=1, rank=1),
                            usage("x", "2026-03-01T10:00:01", output=40, rank=5),
                            usage("x", "2026-03-01T10:00:02", output=40, rank=5)])
    assert (result.new, result.unchanged) == (1, 2)
    assert [e.output_tokens for e in s.iter_usage()] == [40]
    arrow = usage_table([usage("y", "2026-03-01T10:00:00", rank=1), usage("y", "2026-03-01T10:00:00", rank=2,
                                                                         output=77)])
    s.write_batch(arrow)
    assert sorted((e.id, e.output_tokens) for e in s.iter_usage()) == [("x", 40), ("y", 77)]


def test_events_round_trip_with_every_field(any_store, book) -> None:
    event = usage("full", "2026-03-01T10:00:00.123456", tokens=7, output=9, book=book, person="ana@example.com",
                  cache_read_tokens=1000, cache_write_tokens=300, cache_write_1h_tokens=100, reasoning_tokens=4,
                  web_search_requests=2, request_id="req_1", status="error", duration_ms=1234, prompt_hash="ab12",
                  speed="fast", service_tier="standard", inference_geo="us", reported_cost_micros=4321,
                  extra={"agent_id": "a1", "nested": {"n": 1}})
    any_store.write_batch([event])
    (back,) = list(any_store.iter_usage())
    assert back == event


def test_outcomes_are_kept_once(any_store) -> None:
    s = any_store
    outcome = OutcomeEvent(id="o1", ts=at("2026-03-01T10:00:00"), type="commit", count=2, person="ana@example.com",
                           tool="claude_code", session="s1", project="alpha", source="otlp", extra={"sha": "abc"})
    assert s.write_batch([], outcomes=[outcome]).outcomes_new == 1
    assert s.write_batch([], outcomes=[outcome]).outcomes_new == 0
    assert list(s.iter_outcomes()) == [outcome]


def test_read_positions_and_errors(any_store) -> None:
    s = any_store
    state = FileState(path="/logs/a.jsonl", format="codex", device=1, inode=2, size=300, mtime_ns=4, offset=250,
                      lines=7, head_hash="h", tail_open=True, parser_state={"totals": [1, 2, 3, 4, 5], "model": "m"})
    s.write_batch([], file_states=[state], errors=[IngestError("/logs/a.jsonl", 3, "bad JSON")])
    assert s.file_states() == {"/logs/a.jsonl": state}
    moved = FileState(**{**state.__dict__, "offset": 300, "lines": 8})
    s.write_batch([], file_states=[moved])
    assert s.file_states()["/logs/a.jsonl"].offset == 300
    s.write_batch([], forget_files=["/logs/a.jsonl"])
    assert s.file_states() == {}
    assert s.recent_errors() == [IngestError("/logs/a.jsonl", 3, "bad JSON")]


def test_a_failed_transaction_leaves_nothing_behind(any_store, book) -> None:
    s = any_store
    with pytest.raises(RuntimeError), s.transaction():
        s.write_batch([usage("t1", "2026-03-01T10:00:00", book=book)])
        raise RuntimeError("something failed half-way")
    assert s.counts()["events"] == 0 and totals(s) == []


# --- reads --------------------------------------------------------------------------------------------


@pytest.fixture
def day_edges(any_store, book):
    """Requests around midnights, an unpriced model, two tools and projects."""
    any_store.write_batch([
        usage("e1", "2026-03-07T23:30:00", book=book),                   # Sat 23:30 UTC; Sun 00:30 in Berlin
        usage("e2", "2026-03-08T04:45:00", book=book, tool="codex", project="beta", session="s2"),  # NY: 23:45 Sat
        usage("e3", "2026-03-08T18:29:00", book=book),                   # Kolkata: 23:59 Sun
        usage("e4", "2026-03-08T18:30:00", book=book, model="acme-9"),   # Kolkata: 00:00 Mon; unpriced
        usage("e5", "2026-04-01T00:00:00", book=book, project="beta"),
    ])
    return any_store


@pytest.mark.parametrize(("tz", "expected"), [
    ("UTC", [(date(2026, 3, 7), 1), (date(2026, 3, 8), 3), (date(2026, 4, 1), 1)]),
    ("Europe/Berlin", [(date(2026, 3, 8), 4), (date(2026, 4, 1), 1)]),
    ("America/New_York", [(date(2026, 3, 7), 2), (date(2026, 3, 8), 2), (date(2026, 3, 31), 1)]),
    ("Asia/Kolkata", [(date(2026, 3, 8), 3), (date(2026, 3, 9), 1), (date(2026, 4, 1), 1)]),
])
def test_days_in_a_time_zone(day_edges, tz, expected) -> None:
    rows = day_edges.usage_rows(UsageQuery(group="day", tz=tz))
    per_day: dict[date, int] = {}
    for r in rows:
        per_day[r.key] = per_day.get(r.key, 0) + r.requests
    assert sorted(per_day.items()) == expected


def test_weeks_months_sessions_and_filters(day_edges) -> None:
    s = day_edges
    weeks: dict[date, int] = {}
    for r in s.usage_rows(UsageQuery(group="week", tz="UTC")):
        weeks[r.key] = weeks.get(r.key, 0) + r.requests
    assert weeks == {date(2026, 3, 2): 4, date(2026, 3, 30): 1}  # ISO weeks start on Monday
    sunday_weeks = {r.key for r in s.usage_rows(UsageQuery(group="week", tz="UTC", week_start=6))}
    assert min(sunday_weeks) == date(2026, 3, 1)
    months = sorted({r.key for r in s.usage_rows(UsageQuery(group="month", tz="UTC"))})
    assert months == [date(2026, 3, 1), date(2026, 4, 1)]
    sessions = {r.key for r in s.usage_rows(UsageQuery(group="session", tz="UTC"))}
    assert sessions == {"s1", "s2"}
    assert sum(r.requests for r in s.usage_rows(UsageQuery(group="day", tz="UTC", tools=("codex",)))) == 1
    assert sum(r.requests for r in s.usage_rows(UsageQuery(group="day", tz="UTC", projects=("beta",)))) == 2
    bounded = s.usage_rows(UsageQuery(group="day", tz="Asia/Kolkata",
                                      since=datetime(2026, 3, 9, tzinfo=UTC) - timedelta(hours=5, minutes=30),
                                      until=datetime(2026, 3, 10, tzinfo=UTC) - timedelta(hours=5, minutes=30)))
    assert [(r.key, r.model, r.requests, r.unpriced_requests, r.cost_micros) for r in bounded] == [
        (date(2026, 3, 9), "acme-9", 1, 1, 0)]


def test_reports_are_the_same_on_every_backend(day_edges) -> None:
    report = build_report(day_edges, ReportOptions(kind="daily", tz="Europe/Berlin")).to_json()
    # 5 requests of 100 in / 10 out; 4 priced at Sonnet 4.5 ($3, $15): 4 × (300 + 150) µ$ = 1800 µ$.
    assert report["totals"]["requests"] == 5
    assert str(report["totals"]["cost_usd"]) == "0.001800"
    assert report["totals"]["unpriced"] == [{"model": "acme-9", "requests": 1, "tokens": 110}]


def test_reprice_follows_a_new_price_book(any_store, book, tmp_path) -> None:
    s = any_store
    s.write_batch([usage("p1", "2026-03-01T10:00:00", book=book), usage("p2", "2026-03-01T11:00:00", book=book)])
    assert s.stale_price_versions(book.version) == 0
    cheaper = load_price_book([sonnet_price_file(tmp_path, input="4", output="20")])
    assert s.stale_price_versions(cheaper.version) == 2
    assert s.reprice(cheaper) == 2
    assert s.stale_price_versions(cheaper.version) == 0
    # 100 × 4 + 10 × 20 = 600 µ$ each.
    assert sum(r.cost_micros for r in s.usage_rows(UsageQuery(group="day", tz="UTC"))) == 1200


def test_an_incremental_import_gives_the_same_store_on_every_backend(any_store, book, data: Path) -> None:
    roots = [Root(data / "claude" / "projects", "claude_code"), Root(data / "codex" / "sessions", "codex")]
    first = run_import(any_store, book, roots)
    assert (first.written.new, first.partial) == (47, False)
    again = run_import(any_store, book, roots)
    assert (again.files_read, again.written.new) == (0, 0)
    report = build_report(any_store, ReportOptions(kind="daily", tz="UTC")).to_json()
    assert report["totals"]["total_tokens"] == 2_423_023
    # Claude 10,739 + 2,787 + 371,094 + 856,355 µ$ and Codex 890,153 µ$ (worked out in tests/sources).
    assert str(report["totals"]["cost_usd"]) == "2.131128"


def test_a_match_window_still_finds_nearby_copies(any_store, book) -> None:
    """The collector looks for earlier copies near each batch's time: resends and better copies are found."""
    s = any_store
    window = timedelta(days=1)
    s.write_batch([usage("old", "2026-01-05T08:00:00", book=book)], match_window=window)
    s.write_batch([usage("a", "2026-03-01T10:00:00", output=1, rank=1, book=book)], match_window=window)
    again = s.write_batch([usage("a", "2026-03-01T10:00:00", output=1, rank=1, book=book),
                           usage("b", "2026-03-01T10:05:00", book=book)], match_window=window)
    assert (again.new, again.updated, again.unchanged) == (1, 0, 1)
    final = s.write_batch([usage("a", "2026-03-01T10:00:40", output=50, rank=9, book=book)], match_window=window)
    assert (final.new, final.updated, final.unchanged) == (0, 1, 0)
    assert sorted((e.id, e.output_tokens) for e in s.iter_usage()) == [("a", 50), ("b", 10), ("old", 10)]
    assert [r.requests for r in s.usage_rows(UsageQuery(group="month"))] == [1, 2]
