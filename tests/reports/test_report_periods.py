"""Grouping usage into local days, weeks, months and sessions, with filters and ordering.

Every event's `input_tokens` is a distinct power of ten, so a row's `total_tokens` says exactly which
events landed in it (e.g. 11110 = the events marked 10, 100, 1000 and 10000).
"""

from __future__ import annotations

from datetime import date

import pytest
from report_helpers import ev, keyed

from tokenpulse.errors import ConfigError
from tokenpulse.reports import local_bounds


def test_daily_new_york_across_the_spring_dst_change(load, report) -> None:
    # 2026-03-08 in New York: EST (UTC-5) until 02:00 local = 07:00Z, then EDT (UTC-4); a 23-hour day
    # running from 05:00Z on the 8th to 04:00Z on the 9th.
    load([
        ev("a", "2026-03-08T04:59:59Z", input_tokens=1),       # 23:59:59 EST on the 7th
        ev("b", "2026-03-08T05:00:00Z", input_tokens=10),      # 00:00:00 EST on the 8th
        ev("c", "2026-03-08T06:59:59Z", input_tokens=100),     # 01:59:59 EST, just before the jump
        ev("d", "2026-03-08T07:00:00Z", input_tokens=1000),    # 03:00:00 EDT
        ev("e", "2026-03-09T03:59:59Z", input_tokens=10000),   # 23:59:59 EDT on the 8th
        ev("f", "2026-03-09T04:00:00Z", input_tokens=100000),  # 00:00:00 EDT on the 9th
    ])
    assert keyed(report("daily", tz="America/New_York")) == [
        ("2026-03-07", 1), ("2026-03-08", 11110), ("2026-03-09", 100000)]
    # The same events by UTC date.
    assert keyed(report("daily", tz="UTC")) == [("2026-03-08", 1111), ("2026-03-09", 110000)]


def test_daily_berlin_across_the_autumn_dst_change(load, report) -> None:
    # 2026-10-25 in Berlin: CEST (UTC+2) until 03:00 local = 01:00Z, then CET (UTC+1); 02:00-03:00
    # local happens twice and the day lasts 25 hours, from 22:00Z on the 24th to 23:00Z on the 25th.
    load([
        ev("a", "2026-10-24T21:59:59Z", input_tokens=1),       # 23:59:59 CEST on the 24th
        ev("b", "2026-10-24T22:00:00Z", input_tokens=10),      # 00:00:00 CEST on the 25th
        ev("c", "2026-10-25T00:30:00Z", input_tokens=100),     # 02:30 CEST (first time round)
        ev("d", "2026-10-25T01:30:00Z", input_tokens=1000),    # 02:30 CET (second time round)
        ev("e", "2026-10-25T22:59:59Z", input_tokens=10000),   # 23:59:59 CET on the 25th
        ev("f", "2026-10-25T23:00:00Z", input_tokens=100000),  # 00:00:00 CET on the 26th
    ])
    assert keyed(report("daily", tz="Europe/Berlin")) == [
        ("2026-10-24", 1), ("2026-10-25", 11110), ("2026-10-26", 100000)]
    assert report("daily", tz="Europe/Berlin")["meta"]["timezone"] == "Europe/Berlin"


def test_daily_in_a_half_hour_zone_is_exact_at_midnight(load, report) -> None:
    # Asia/Kolkata is UTC+05:30: local midnight falls at hh:30Z, inside a UTC hour, so these
    # events share UTC hours and still must go to different local days.
    load([
        ev("a", "2026-03-01T18:29:59Z", input_tokens=1),       # 23:59:59 IST on the 1st
        ev("b", "2026-03-01T18:30:00Z", input_tokens=10),      # 00:00:00 IST on the 2nd
        ev("c", "2026-03-02T18:29:59.999Z", input_tokens=100),  # 23:59:59.999 IST on the 2nd
        ev("d", "2026-03-02T18:30:00Z", input_tokens=1000),    # 00:00:00 IST on the 3rd
    ])
    assert keyed(report("daily", tz="Asia/Kolkata")) == [
        ("2026-03-01", 1), ("2026-03-02", 110), ("2026-03-03", 1000)]
    only_2nd = report("daily", tz="Asia/Kolkata", since=date(2026, 3, 2), until=date(2026, 3, 2))
    assert keyed(only_2nd) == [("2026-03-02", 110)]
    assert only_2nd["totals"]["input_tokens"] == 110
    # Sunday the 1st (local) belongs to the week of Monday 2026-02-23; the rest to the week of the 2nd.
    assert keyed(report("weekly", tz="Asia/Kolkata")) == [("2026-02-23", 1), ("2026-03-02", 1110)]


def test_session_and_block_reports_in_a_half_hour_zone_respect_since_until_exactly(load, report) -> None:
    # Same instants as above, one session per local day. --since/--until 2026-03-02 in Kolkata is
    # [2026-03-01T18:30Z, 2026-03-02T18:30Z): only b and c are inside.
    load([
        ev("a", "2026-03-01T18:29:59Z", input_tokens=1, session="day-1"),
        ev("b", "2026-03-01T18:30:00Z", input_tokens=10, session="day-2"),
        ev("c", "2026-03-02T18:29:59.999Z", input_tokens=100, session="day-2"),
        ev("d", "2026-03-02T18:30:00Z", input_tokens=1000, session="day-3"),
    ])
    one_day = {"tz": "Asia/Kolkata", "since": date(2026, 3, 2), "until": date(2026, 3, 2)}
    sessions = report("session", **one_day)
    assert keyed(sessions) == [("day-2", 110)]
    assert sessions["totals"]["input_tokens"] == 110
    blocks = report("blocks", **one_day)
    assert [(r["start"], r["total_tokens"]) for r in blocks["rows"] if not r["gap"]] == [
        ("2026-03-01T23:30:00+05:30", 10),   # the UTC hour of b (18:00Z), shown in IST
        ("2026-03-02T23:30:00+05:30", 100),
    ]
    assert blocks["totals"]["input_tokens"] == 110


def test_since_and_until_are_inclusive_local_dates(load, report) -> None:
    load([
        ev("a", "2026-03-01T04:59:59Z", input_tokens=1),      # 2026-02-28 23:59:59 EST
        ev("b", "2026-03-01T05:00:00Z", input_tokens=10),     # 2026-03-01 00:00:00 EST
        ev("c", "2026-03-02T04:59:59Z", input_tokens=100),    # 2026-03-01 23:59:59 EST
        ev("d", "2026-03-02T05:00:00Z", input_tokens=1000),   # 2026-03-02 00:00:00 EST
        ev("e", "2026-03-03T05:00:00Z", input_tokens=10000),  # 2026-03-03 00:00:00 EST
    ])
    ny = "America/New_York"
    assert keyed(report("daily", tz=ny, since=date(2026, 3, 1), until=date(2026, 3, 1))) == [("2026-03-01", 110)]
    assert keyed(report("daily", tz=ny, since=date(2026, 3, 1), until=date(2026, 3, 2))) == [
        ("2026-03-01", 110), ("2026-03-02", 1000)]
    assert keyed(report("daily", tz=ny, since=date(2026, 3, 2))) == [("2026-03-02", 1000), ("2026-03-03", 10000)]
    assert keyed(report("daily", tz=ny, until=date(2026, 2, 28))) == [("2026-02-28", 1)]
    # A monthly report limited to some days sums only those days.
    limited = report("monthly", tz=ny, since=date(2026, 3, 1), until=date(2026, 3, 1))
    assert keyed(limited) == [("2026-03", 110)]
    assert limited["meta"]["since"] == "2026-03-01" and limited["meta"]["until"] == "2026-03-01"


def test_local_bounds_are_half_open_instants() -> None:
    start, end = local_bounds("America/New_York", date(2026, 3, 8), date(2026, 3, 8))
    assert start.isoformat() == "2026-03-08T00:00:00-05:00"
    assert end.isoformat() == "2026-03-09T00:00:00-04:00"  # 23 hours later: the DST day
    assert local_bounds("UTC", None, None) == (None, None)
    with pytest.raises(ConfigError, match="before --since"):
        local_bounds("UTC", date(2026, 3, 2), date(2026, 3, 1))


def test_weeks_start_on_monday_by_default_and_on_sunday_when_asked(load, report) -> None:
    # 2026-03-01 and 2026-03-08 are Sundays; 2026-03-02 is a Monday, 2026-03-07 a Saturday.
    load([
        ev("sun", "2026-03-01T12:00:00Z", input_tokens=1),
        ev("mon", "2026-03-02T12:00:00Z", input_tokens=10),
        ev("sat", "2026-03-07T12:00:00Z", input_tokens=100),
        ev("sun2", "2026-03-08T12:00:00Z", input_tokens=1000),
    ])
    assert keyed(report("weekly")) == [("2026-02-23", 1), ("2026-03-02", 1110)]
    assert keyed(report("weekly", week_start=6)) == [("2026-03-01", 111), ("2026-03-08", 1000)]


def test_weeks_follow_the_local_date(load, report) -> None:
    # 2026-03-09T03:00Z is Monday in UTC but Sunday 2026-03-08 23:00 EDT in New York.
    load([ev("late-sunday", "2026-03-09T03:00:00Z", input_tokens=5)])
    assert keyed(report("weekly", tz="UTC")) == [("2026-03-09", 5)]
    assert keyed(report("weekly", tz="America/New_York")) == [("2026-03-02", 5)]
    assert keyed(report("weekly", tz="America/New_York", week_start=6)) == [("2026-03-08", 5)]


def test_months_follow_the_local_date(load, report) -> None:
    load([
        ev("a", "2026-01-31T22:59:59Z", input_tokens=1),     # 2026-01-31 23:59:59 CET
        ev("b", "2026-01-31T23:00:00Z", input_tokens=10),    # 2026-02-01 00:00:00 CET
        ev("c", "2026-03-31T21:59:59Z", input_tokens=100),   # 2026-03-31 23:59:59 CEST (DST since the 29th)
        ev("d", "2026-03-31T22:00:00Z", input_tokens=1000),  # 2026-04-01 00:00:00 CEST
    ])
    assert keyed(report("monthly", tz="Europe/Berlin")) == [
        ("2026-01", 1), ("2026-02", 10), ("2026-03", 100), ("2026-04", 1000)]
    assert keyed(report("monthly", tz="UTC")) == [("2026-01", 11), ("2026-03", 1100)]


def test_tool_and_project_filters(load, report) -> None:
    load([
        ev("cc-alpha", "2026-03-02T10:00:00Z", project="alpha", input_tokens=1),
        ev("codex-alpha", "2026-03-02T11:00:00Z", tool="codex", provider="openai", model="gpt-5",
           project="alpha", input_tokens=10),
        ev("cc-beta", "2026-03-02T12:00:00Z", project="beta", input_tokens=100),
        ev("cc-none", "2026-03-02T13:00:00Z", input_tokens=1000),
    ])
    assert keyed(report("daily")) == [("2026-03-02", 1111)]
    assert keyed(report("daily", tools=("codex",))) == [("2026-03-02", 10)]
    assert keyed(report("daily", projects=("alpha",))) == [("2026-03-02", 11)]
    assert keyed(report("daily", tools=("claude_code",), projects=("alpha", "beta"))) == [("2026-03-02", 101)]
    assert keyed(report("daily", tools=("claude_code", "codex"))) == [("2026-03-02", 1111)]
    nothing = report("daily", tools=("cursor",))
    assert nothing["rows"] == [] and nothing["totals"]["total_tokens"] == 0
    filtered = report("daily", tools=("codex",), projects=("alpha",))
    assert filtered["meta"]["tools"] == ["codex"] and filtered["meta"]["projects"] == ["alpha"]
    assert filtered["rows"][0]["models"] == ["gpt-5"]


def test_order_desc_reverses_rows_and_keeps_totals(load, report) -> None:
    load([ev(f"e{d}", f"2026-03-0{d}T12:00:00Z", input_tokens=10 ** d) for d in (1, 2, 3)])
    asc = report("daily")
    desc = report("daily", order="desc")
    assert keyed(asc) == [("2026-03-01", 10), ("2026-03-02", 100), ("2026-03-03", 1000)]
    assert keyed(desc) == [("2026-03-03", 1000), ("2026-03-02", 100), ("2026-03-01", 10)]
    assert desc["totals"] == asc["totals"]


def test_session_report(load, report) -> None:
    load([
        ev("old-1", "2026-03-01T10:00:00Z", session="s-old", project="alpha", input_tokens=1),
        ev("old-2", "2026-03-01T11:00:00Z", session="s-old", project="alpha", tool="codex",
           provider="openai", model="gpt-5", input_tokens=10),
        ev("new-1", "2026-03-01T09:00:00Z", session="s-new", project="beta", input_tokens=100),
        ev("new-2", "2026-03-02T08:00:00Z", session="s-new", project="beta", input_tokens=1000),
        ev("loose", "2026-03-01T12:00:00Z", input_tokens=10000),
    ])
    r = report("session", tz="Europe/Berlin")
    # Most recent activity last: s-old (11:00Z), the session-less request (12:00Z), s-new (next day).
    assert keyed(r) == [("s-old", 11), ("(none)", 10000), ("s-new", 1100)]
    old, loose, new = r["rows"]
    assert old["project"] == "alpha"
    assert old["tools"] == ["claude_code", "codex"]
    assert old["models"] == ["claude-sonnet-4-5", "gpt-5"]
    assert old["requests"] == 2
    assert old["first_activity"] == "2026-03-01T11:00:00+01:00"
    assert old["last_activity"] == "2026-03-01T12:00:00+01:00"
    assert new["project"] == "beta"
    assert (new["first_activity"], new["last_activity"]) == ("2026-03-01T10:00:00+01:00", "2026-03-02T09:00:00+01:00")
    assert loose["project"] is None
    assert keyed(report("session", order="desc")) == [("s-new", 1100), ("(none)", 10000), ("s-old", 11)]
    # A session is one row whatever the time zone or the days it spans.
    assert keyed(report("session", tz="Pacific/Kiritimati")) == keyed(r)


def test_unknown_time_zone_is_a_config_error(report) -> None:
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus_Mons'"):
        report("daily", tz="Mars/Olympus_Mons")
