"""Depth metrics on hand-built usage: exact figures, and the ranking by cost per million tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cli_helpers import as_json, ok, tp
from tokenpulse.events import UsageEvent
from tokenpulse.insights.depth import MIN_REQUESTS, depth_from_store
from tokenpulse.people import Person

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def usage(person: str, n: int, model: str, tool: str, input_tokens: int, cache_read: int, output: int,
          book, start: int = 0) -> list[UsageEvent]:
    events = []
    for i in range(n):
        event = UsageEvent(id=f"{person}-{start + i}", ts=T0 + timedelta(minutes=start + i), tool=tool,
                           person=person, model=model, input_tokens=input_tokens, cache_read_tokens=cache_read,
                           output_tokens=output)
        book.price(event)
        events.append(event)
    return events


def test_depth_figures_per_person_team_tool_and_model(store, book) -> None:
    deep = usage("dee@example.com", 25, "claude-opus-4-5", "claude_code", 2_000, 150_000, 4_000, book)
    busy = usage("bux@example.com", 400, "claude-haiku-4-5", "claude_code", 300, 0, 50, book)
    few = usage("fay@example.com", MIN_REQUESTS - 1, "claude-opus-4-5", "claude_code", 5_000, 0, 9_000, book)
    store.write_batch(deep + busy + few)
    store.save_people([Person("dee@example.com", team="core"), Person("bux@example.com", team="growth"),
                       Person("fay@example.com", team="core")])

    rows = depth_from_store(store, "person")
    # Ranked by cost per million tokens; Fay has too few requests to be ranked and comes last.
    assert [r.key for r in rows] == ["bux@example.com", "dee@example.com", "fay@example.com"]
    b, d = rows[0], rows[1]
    assert (d.requests, d.mean_context, d.tokens) == (25, 152_000, 25 * 156_000)
    assert d.cost_micros == sum(e.cost_micros for e in deep)
    # opus-4-5: $5 in, $25 out, $0.50 cache read per MTok -> per request 0.01 + 0.1 + 0.075 = $0.185
    assert d.cost_per_request_micros == 185_000
    assert d.cost_per_mtok_micros == (25 * 185_000 * 1_000_000 * 2 + d.tokens) // (2 * d.tokens) == 1_185_897
    assert round(d.cache_read_share, 4) == round(150_000 / 152_000, 4)
    # haiku-4-5: $1 in, $5 out -> $0.00055 a request, $1.57 per MTok: cheap tokens, tiny contexts
    assert (b.mean_context, b.cost_per_request_micros, b.cost_per_mtok_micros, b.cache_read_share) == (
        300, 550, 1_571_429, 0.0)
    # Per token, cached deep work is cheaper than busywork; per request it is 300 times dearer, on a context
    # 500 times larger: the figures tell the two apart where a token count would not.
    assert b.cost_per_mtok_micros > d.cost_per_mtok_micros
    assert d.cost_per_request_micros > 300 * b.cost_per_request_micros and d.mean_context > 500 * b.mean_context

    teams = {r.key: (r.requests, r.cost_micros) for r in depth_from_store(store, "team")}
    assert teams == {"core": (25 + MIN_REQUESTS - 1, d.cost_micros + rows[2].cost_micros),
                     "growth": (400, b.cost_micros)}
    assert [r.key for r in depth_from_store(store, "model")] == ["claude-opus-4-5", "claude-haiku-4-5"]
    assert [r.key for r in depth_from_store(store, "tool")] == ["claude_code"]


def test_the_command_prints_a_stable_json_shape_also_when_empty() -> None:
    empty = as_json(ok("depth", "--by", "team", "--json", "--no-import", "--tz", "UTC"))
    assert empty == {"depth": "team", "timezone": "UTC", "since": None, "until": None, "rows": []}


def test_the_command_on_imported_events(tmp_path, book) -> None:
    from tokenpulse.events import write_ndjson

    events = usage("dee@example.com", 3, "claude-opus-4-5", "claude_code", 2_000, 150_000, 4_000, book)
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"".join(write_ndjson(events)))
    ok("import", "--format", "ndjson", str(path))
    data = as_json(ok("depth", "--json", "--no-import", "--tz", "UTC", "--since", "2026-11-03", "--until", "2026-11-03"))
    [row] = data["rows"]
    assert (row["key"], row["requests"], row["cost_per_request_usd"], row["ranked"]) == (
        "dee@example.com", 3, Decimal("0.185"), False)
    assert data["since"] == "2026-11-03T00:00:00+00:00" and data["until"] == "2026-11-04T00:00:00+00:00"


def test_depth_over_time_per_day_and_week_for_the_org_and_one_key(any_store, book) -> None:
    from datetime import date

    from tokenpulse.insights.depth import depth_over_time

    # Dee's deep work on Tue 3 Nov and Mon 9 Nov; Bux's busywork on Tue 3 Nov only, with another tool.
    deep = usage("dee@example.com", 25, "claude-opus-4-5", "claude_code", 2_000, 150_000, 4_000, book)
    later = [UsageEvent(id=f"late-{i}", ts=T0 + timedelta(days=6, minutes=i), tool="claude_code",
                        person="dee@example.com", model="claude-opus-4-5", input_tokens=2_000,
                        cache_read_tokens=150_000, output_tokens=4_000) for i in range(5)]
    for e in later:
        book.price(e)
    busy = usage("bux@example.com", 400, "claude-haiku-4-5", "codex", 300, 0, 50, book)
    any_store.write_batch(deep + later + busy)
    any_store.save_people([Person("dee@example.com", team="core"), Person("bux@example.com", team="growth")])

    org = depth_over_time(any_store, "day", tz="UTC")
    assert [(p, d.requests) for p, d in org.points] == [(date(2026, 11, 3), 425), (date(2026, 11, 9), 5)]
    assert org.points[0][1].cost_micros == sum(e.cost_micros for e in deep + busy)
    weeks = depth_over_time(any_store, "week", tz="UTC")  # weeks start on Monday: 2 Nov and 9 Nov
    assert [(p, d.requests) for p, d in weeks.points] == [(date(2026, 11, 2), 425), (date(2026, 11, 9), 5)]
    sunday = depth_over_time(any_store, "week", tz="UTC", week_start=6)  # 1 Nov and 8 Nov
    assert [p for p, _ in sunday.points] == [date(2026, 11, 1), date(2026, 11, 8)]

    dee = depth_over_time(any_store, "day", by="person", key="dee@example.com", tz="UTC")
    assert [(p, d.requests, d.mean_context, d.cost_per_request_micros) for p, d in dee.points] == [
        (date(2026, 11, 3), 25, 152_000, 185_000), (date(2026, 11, 9), 5, 152_000, 185_000)]
    assert [d.requests for _, d in depth_over_time(any_store, "day", by="team", key="growth", tz="UTC").points] == [400]
    assert [d.requests for _, d in depth_over_time(any_store, "day", by="tool", key="codex", tz="UTC").points] == [400]
    opus = depth_over_time(any_store, "week", by="model", key="claude-opus-4-5", tz="UTC")
    assert [d.requests for _, d in opus.points] == [25, 5]
    assert depth_over_time(any_store, "day", by="team", key="nobody", tz="UTC").points == []
    # bounds: only Monday 9 Nov
    assert [p for p, _ in depth_over_time(any_store, "day", since=T0 + timedelta(days=2), tz="UTC").points] == [
        date(2026, 11, 9)]

    data = dee.to_json()
    json.dumps(data)
    assert data["points"][0] == {**data["points"][0], "period": "2026-11-03", "requests": 25,
                                 "cost_per_request_usd": "0.185000", "mean_context_tokens": 152_000}


def test_depth_over_time_command(tmp_path, book) -> None:
    from tokenpulse.store.duckdb import DuckDBStore

    empty = as_json(ok("depth", "--over", "week", "--json", "--no-import", "--tz", "UTC"))
    assert empty == {"depth": None, "timezone": "UTC", "since": None, "until": None, "over": "week", "by": None,
                     "key": None, "points": []}
    db = tmp_path / "tp.duckdb"
    store = DuckDBStore(db)
    store.write_batch(usage("dee@example.com", 3, "claude-opus-4-5", "claude_code", 2_000, 150_000, 4_000, book)
                      + usage("bux@example.com", 4, "claude-haiku-4-5", "claude_code", 300, 0, 50, book))
    store.close()
    data = as_json(ok("--db", db, "depth", "--over", "day", "--by", "person", "--key", "dee@example.com", "--json",
                      "--no-import", "--tz", "UTC"))
    assert (data["by"], data["key"]) == ("person", "dee@example.com")
    assert [(p["period"], p["requests"], p["cost_usd"]) for p in data["points"]] == [("2026-11-03", 3, "0.555000")]
    table = ok("--db", db, "depth", "--over", "week", "--no-import", "--tz", "UTC").stdout
    assert "2026-11-02" in table and "7" in table
    csv_lines = ok("--db", db, "depth", "--over", "day", "--csv", "--no-import", "--tz", "UTC").stdout.splitlines()
    assert csv_lines[0].startswith("period,requests") and csv_lines[1].startswith("2026-11-03,7,")
    failed = tp("--db", db, "depth", "--key", "x", "--no-import")
    assert failed.exit_code == 2 and "--key goes with --over" in failed.stderr
