"""5-hour blocks: windows starting at the UTC hour of the first request, half-open, with gap rows for
long pauses and burn rate and projection for the active block (against an injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from report_helpers import ev

from tokenpulse.cli.render import render_report
from tokenpulse.reports import ReportOptions, build_report

LONG_AGO = datetime(2026, 4, 1, tzinfo=UTC)


def blocks(report_json):
    return [(r["start"], r["end"], r["gap"], r["total_tokens"]) for r in report_json["rows"]]


def test_windows_are_five_hours_from_the_utc_hour_of_the_first_request_and_half_open(load, report) -> None:
    load([
        ev("a", "2026-03-02T10:17:00Z", input_tokens=1),      # opens [10:00, 15:00)
        ev("b", "2026-03-02T14:59:59Z", input_tokens=10),     # still inside
        ev("c", "2026-03-02T15:00:00Z", input_tokens=100),    # exactly at the end: opens [15:00, 20:00)
        ev("d", "2026-03-02T16:40:00Z", input_tokens=1000),
        ev("e", "2026-03-02T20:00:00Z", input_tokens=10000),  # exactly 5 h after 15:00: opens [20:00, 01:00)
    ])
    r = report("blocks", now=LONG_AGO)
    assert blocks(r) == [
        ("2026-03-02T10:00:00+00:00", "2026-03-02T15:00:00+00:00", False, 11),
        ("2026-03-02T15:00:00+00:00", "2026-03-02T20:00:00+00:00", False, 1100),
        ("2026-03-02T20:00:00+00:00", "2026-03-03T01:00:00+00:00", False, 10000),
    ]
    first, second, third = r["rows"]
    assert first["key"] == first["start"]
    assert (first["first_activity"], first["last_activity"]) == ("2026-03-02T10:17:00+00:00", "2026-03-02T14:59:59+00:00")
    assert all(row["active"] is False and row["projection"] is None for row in r["rows"])
    # Second block: 1100 tokens and 3300 micro-USD (1100 input tokens at $3/MTok) over the
    # 100 minutes from 15:00 to 16:40: 11 tokens a minute, 1980 micro-USD an hour.
    assert second["burn_rate"] == {"tokens_per_minute": Decimal("11.00"), "cost_per_hour_usd": Decimal("0.00198")}
    # A block with one request has no duration, so no rate.
    assert third["burn_rate"] is None
    assert r["totals"]["total_tokens"] == 11111


def test_blocks_start_on_the_utc_hour_in_any_time_zone(load, report) -> None:
    load([ev("a", "2026-03-02T10:17:00Z", input_tokens=1)])
    # Kolkata is UTC+05:30: the block still starts at 10:00Z, which is 15:30 there.
    (row,) = report("blocks", tz="Asia/Kolkata", now=LONG_AGO)["rows"]
    assert (row["start"], row["end"]) == ("2026-03-02T15:30:00+05:30", "2026-03-02T20:30:00+05:30")
    assert row["first_activity"] == "2026-03-02T15:47:00+05:30"
    (row,) = report("blocks", tz="Europe/Berlin", now=LONG_AGO)["rows"]
    assert (row["key"], row["end"]) == ("2026-03-02T11:00:00+01:00", "2026-03-02T16:00:00+01:00")


def test_pauses_longer_than_five_hours_show_as_gaps(load, report) -> None:
    load([
        ev("a", "2026-03-02T10:00:00Z", input_tokens=1),
        ev("b", "2026-03-02T16:30:00Z", input_tokens=10),    # 6 h 30 after a: a gap from 15:00 (a + 5 h) to 16:30
        ev("c", "2026-03-02T21:00:00Z", input_tokens=100),   # 4 h 30 after b: a new block, no gap
        ev("d", "2026-03-03T02:00:00Z", input_tokens=1000),  # exactly 5 h after c: a new block, no gap
    ])
    r = report("blocks", now=LONG_AGO)
    assert blocks(r) == [
        ("2026-03-02T10:00:00+00:00", "2026-03-02T15:00:00+00:00", False, 1),
        ("2026-03-02T15:00:00+00:00", "2026-03-02T16:30:00+00:00", True, 0),
        ("2026-03-02T16:00:00+00:00", "2026-03-02T21:00:00+00:00", False, 10),
        ("2026-03-02T21:00:00+00:00", "2026-03-03T02:00:00+00:00", False, 100),
        ("2026-03-03T02:00:00+00:00", "2026-03-03T07:00:00+00:00", False, 1000),
    ]
    gap = r["rows"][1]
    assert gap["models"] == [] and gap["requests"] == 0 and gap["cost_usd"] == 0
    assert (gap["first_activity"], gap["last_activity"], gap["burn_rate"], gap["active"]) == (None, None, None, False)
    assert r["totals"]["total_tokens"] == 1111
    desc = report("blocks", now=LONG_AGO, order="desc")
    assert blocks(desc) == blocks(r)[::-1]


def test_active_block_burn_rate_and_projection(load, report) -> None:
    # Two requests an hour apart in the block [10:00, 15:00), 5000 input tokens each
    # (15000 micro-USD each at $3/MTok). At 12:00 the block is active with 180 minutes left.
    load([
        ev("earlier", "2026-03-02T05:30:00Z", input_tokens=7),
        ev("a", "2026-03-02T10:17:00Z", input_tokens=5000),
        ev("b", "2026-03-02T11:17:00Z", input_tokens=5000),
    ])
    r = report("blocks", now=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    done, active = r["rows"]
    assert (done["active"], done["projection"]) == (False, None)
    assert active["active"] is True
    assert active["total_tokens"] == 10000 and active["cost_usd"] == Decimal("0.03")
    assert active["burn_rate"] == {
        "tokens_per_minute": Decimal("166.67"),      # 10000 tokens / 60 minutes
        "cost_per_hour_usd": Decimal("0.03"),        # 30000 micro-USD / 60 minutes x 60
    }
    assert active["projection"] == {
        "remaining_minutes": 180,
        "total_tokens": 40000,                       # 10000 + 10000 / 60 x 180
        "cost_usd": Decimal("0.12"),                 # 30000 + 30000 / 60 x 180 micro-USD
    }


def test_a_block_is_active_only_until_its_window_ends(load, report) -> None:
    load([ev("a", "2026-03-02T10:17:00Z", input_tokens=5000), ev("b", "2026-03-02T11:17:00Z", input_tokens=5000)])
    just_before = report("blocks", now=datetime(2026, 3, 2, 14, 59, 30, tzinfo=UTC))["rows"][0]
    assert just_before["active"] is True
    assert just_before["projection"]["remaining_minutes"] == 0  # 30 seconds
    at_end = report("blocks", now=datetime(2026, 3, 2, 15, 0, tzinfo=UTC))["rows"][0]
    assert (at_end["active"], at_end["projection"]) == (False, None)
    assert at_end["burn_rate"] is not None  # finished blocks keep their rate


def test_active_block_with_a_single_request_projects_nothing_extra(load, report) -> None:
    load([ev("a", "2026-03-02T10:17:00Z", input_tokens=5000)])
    (row,) = report("blocks", now=datetime(2026, 3, 2, 10, 30, tzinfo=UTC))["rows"]
    assert row["active"] is True
    assert row["burn_rate"] is None
    assert row["projection"] == {"remaining_minutes": 270, "total_tokens": 5000, "cost_usd": Decimal("0.015")}


def test_active_block_in_the_table(load, store, capsys) -> None:
    load([ev("a", "2026-03-02T10:17:00Z", input_tokens=5000), ev("b", "2026-03-02T11:17:00Z", input_tokens=5000)])
    options = ReportOptions(kind="blocks", now=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    render_report(build_report(store, options), "table")
    out = capsys.readouterr().out
    assert "2026-03-02 10:00" in out
    assert "active, 3h 00m left" in out
    assert ("Active block: burn rate 166.67 tokens/min, $0.03/h; projected by 15:00: 40,000 tokens, $0.12."
            in " ".join(out.split()))
