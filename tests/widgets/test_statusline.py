"""The Claude Code statusline: exact lines for real and hand-written stdin, with and without a snapshot.

Data: tests/data/statusline/statusline-test.json is a byte copy of ccusage's
`apps/ccusage/test/statusline-test.json` (Claude Code 1.0.88 stdin); the other files are hand-written
from the statusline schema in Claude Code's documentation (rate_limits, current_usage, nulls, wrong
types, garbage bytes).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tokenpulse.widgets import statusline
from tokenpulse.widgets.statusline import render

DATA = Path(__file__).parent.parent / "data" / "statusline"
NOW = datetime(2026, 12, 4, 21, 45, tzinfo=UTC)  # 22:45 in Berlin
Y, R, D, X = "\x1b[33m", "\x1b[31m", "\x1b[2m", "\x1b[0m"

SNAPSHOT = {
    "schema": "tokenpulse-snapshot/1", "generated_at": "2026-12-04T21:30:00+00:00", "source": "local",
    "person": "ann@x.io", "tz": "Europe/Berlin",
    "today": {"date": "2026-12-04", "list_usd": "12.34", "effective_usd": "10.49",
              "by_tool": {"claude_code": "11.00", "codex": "1.34"}},
    "week": {"start": "2026-11-30", "list_usd": "61.20", "effective_usd": "52.02", "by_tool": {}},
    "month": {"month": "2026-12", "list_usd": "190.00", "effective_usd": "161.50",
              "by_tool": {"claude_code": "180.20", "codex": "9.80"}},
    "block": None,
    "caps": [{"scope": "person:ann@x.io|tool:claude_code", "period": "month", "limit_usd": "300",
              "spent_usd": "120.00", "used_share": 0.4}],
    "expected": [{"tool": "claude_code", "expected_usd": "200", "month_usd": "180.20"}],
    "breaker": None, "dashboard_url": "http://127.0.0.1:8787",
}


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def snap(**changes) -> dict:
    result = copy.deepcopy(SNAPSHOT)
    result.update(changes)
    return result


def test_real_sample_without_snapshot():
    line = render(sample("statusline-test.json"), None, NOW, color=False)
    assert line == "Sonnet 4 · session $0.06 · ctx 21% · no data yet: run tokenpulse import"


def test_real_sample_without_snapshot_coloured():
    line = render(sample("statusline-test.json"), None, NOW)
    assert line == f"Sonnet 4 · session $0.06 · ctx 21% · {D}no data yet: run tokenpulse import{X}"


def test_real_sample_with_snapshot():
    line = render(sample("statusline-test.json"), SNAPSHOT, NOW, color=False)
    assert line == "Sonnet 4 · session $0.06 · today $12.34 · month $190.00 (40% of $300 cap) · ctx 21%"
    assert render(sample("statusline-test.json"), SNAPSHOT, NOW) == line  # nothing to colour


def test_rate_limits_and_used_percentage():
    line = render(sample("rate-limits.json"), SNAPSHOT, NOW, color=False)
    assert line == ("Opus 4.5 · session $1.23 · today $12.34 · month $190.00 (40% of $300 cap) · ctx 8% "
                    "· 5h 23% resets in 1h20m · 7d 41%")


def test_current_usage_and_a_rate_limit_over_100_with_a_past_reset():
    line = render(sample("current-usage.json"), SNAPSHOT, NOW)
    assert line == (f"claude-sonnet-4-5 · session $0.00 · today $12.34 · month $190.00 (40% of $300 cap) "
                    f"· {Y}ctx 81%{X} · {R}5h 105%{X}")


def test_nulls_everywhere():
    assert render(sample("nulls.json"), SNAPSHOT, NOW, color=False) == \
        "today $12.34 · month $190.00 (40% of $300 cap)"


def test_wrong_types_are_left_out():
    assert render(sample("wrong-types.json"), None, NOW, color=False) == "no data yet: run tokenpulse import"


def test_missing_fields():
    assert render(sample("minimal.json"), None, NOW, color=False) == "Haiku · no data yet: run tokenpulse import"
    assert render(b"{}", SNAPSHOT, NOW, color=False) == "today $12.34 · month $190.00 (40% of $300 cap)"


@pytest.mark.parametrize(("stdin", "line"), [
    (b"", "tokenpulse: no statusline input"),
    (b"  \n", "tokenpulse: no statusline input"),
    (sample("garbage.bin"), "tokenpulse: statusline input is not JSON"),
    (b"\xff\xfe{}", "tokenpulse: statusline input is not JSON"),
    (b'{"model": ', "tokenpulse: statusline input is not JSON"),
    (b"[" * 100_000, "tokenpulse: statusline input is not JSON"),
    (b"[1, 2]", "tokenpulse: statusline input is not a JSON object"),
    (b'"Sonnet"', "tokenpulse: statusline input is not a JSON object"),
    (b"null", "tokenpulse: statusline input is not a JSON object"),
    (None, "tokenpulse: no statusline input"),
])
def test_bad_stdin_gives_the_fallback_line(stdin, line):
    assert render(stdin, SNAPSHOT, NOW) == line


def test_bom_and_str_input_are_read():
    raw = sample("minimal.json")
    assert render(b"\xef\xbb\xbf" + raw, None, NOW, color=False).startswith("Haiku · ")
    assert render(raw.decode(), None, NOW, color=False).startswith("Haiku · ")


def test_unexpected_failure_never_raises(monkeypatch):
    def boom(*args):
        raise KeyError("x")
    monkeypatch.setattr(statusline, "_spend", boom)
    assert render(b"{}", SNAPSHOT, NOW) == "tokenpulse: statusline error (KeyError)"


def test_near_a_cap():
    near = snap(caps=[{"scope": "person:ann@x.io", "period": "month", "limit_usd": "300", "spent_usd": "240.5",
                       "used_share": 0.8017}])
    stdin = sample("statusline-test.json")
    assert render(stdin, near, NOW, color=False) == \
        "Sonnet 4 · session $0.06 · today $12.34 · month $190.00 (80% of $300 cap) · ctx 21%"
    assert render(stdin, near, NOW) == \
        f"Sonnet 4 · session $0.06 · today $12.34 · {Y}month $190.00 (80% of $300 cap){X} · ctx 21%"


def test_over_a_cap_and_a_day_cap():
    over = snap(caps=[
        {"scope": "person:ann@x.io", "period": "month", "limit_usd": "150.50", "spent_usd": "190"},  # no share
        {"scope": "person:ann@x.io|tool:claude_code", "period": "day", "limit_usd": "15", "spent_usd": "12.34",
         "used_share": 0.8227},
        {"scope": "person:ann@x.io|tool:codex", "period": "day", "limit_usd": "15", "used_share": 0.1},
    ])
    assert render(b"{}", over, NOW) == (f"today $12.34 · {R}month $190.00 (126% of $150.50 cap){X} "
                                        f"· {Y}day cap 82% of $15{X}")


def test_expected_when_there_is_no_cap():
    expected = snap(caps=[], expected=[{"tool": "claude_code", "expected_usd": "200", "month_usd": "180.20"},
                                       {"tool": "codex", "expected_usd": "50", "month_usd": "9.80"},
                                       {"tool": "cursor", "expected_usd": None, "month_usd": "3"}])
    assert render(b"{}", expected, NOW, color=False) == "today $12.34 · month $190.00 (76% of $250 expected)"


def test_tripped_breaker():
    trip = snap(breaker={"tripped": True, "cause": "spend_rate", "since": "2026-12-04T21:10:00+00:00",
                         "reenable": 'tokenpulse reenable --reason "..."'})
    stdin = sample("statusline-test.json")
    assert render(stdin, trip, NOW, color=False) == (
        "Sonnet 4 · session $0.06 · today $12.34 · month $190.00 (40% of $300 cap) · ctx 21% "
        '· ⛔ tripped (spend_rate): tokenpulse reenable --reason "..."')
    assert render(b"{}", snap(breaker={"tripped": True}), NOW) == \
        f"today $12.34 · month $190.00 (40% of $300 cap) · {R}⛔ tripped: tokenpulse reenable{X}"
    assert render(b"{}", snap(breaker={"tripped": False}), NOW, color=False) == \
        "today $12.34 · month $190.00 (40% of $300 cap)"


def test_stale_snapshot():
    two_hours = snap(generated_at=(NOW - timedelta(hours=2, minutes=5)).isoformat())
    assert render(b"{}", two_hours, NOW, color=False) == "today $12.34 · month $190.00 (40% of $300 cap) · stale 2h"
    assert render(b"{}", two_hours, NOW) == f"today $12.34 · month $190.00 (40% of $300 cap) · {D}stale 2h{X}"
    fresh = snap(generated_at=(NOW - timedelta(minutes=30)).isoformat())
    assert render(b"{}", fresh, NOW, color=False) == "today $12.34 · month $190.00 (40% of $300 cap)"
    assert render(b"{}", snap(generated_at="2026-12-04T21:14:00Z"), NOW, color=False).endswith(" · stale 31m")
    assert render(b"{}", snap(generated_at=None), NOW, color=False).endswith(" · stale (age unknown)")


def test_yesterdays_snapshot_does_not_show_today():
    old = snap(generated_at="2026-12-02T21:30:00+00:00", today={"date": "2026-12-02", "list_usd": "99"})
    assert render(b"{}", old, NOW, color=False) == "month $190.00 (40% of $300 cap) · stale 2d"


def test_snapshot_day_is_taken_in_its_time_zone():
    late = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)  # already 5 December in Berlin
    line = render(b"{}", snap(generated_at="2026-12-04T23:20:00+00:00"), late, color=False)
    assert line == "month $190.00 (40% of $300 cap)"


def test_snapshot_with_wrong_types_and_no_keys():
    assert render(b"{}", {}, NOW, color=False) == "stale (age unknown)"
    assert render(b"{}", [], NOW, color=False) == "no data yet: run tokenpulse import"
    broken = {"generated_at": 5, "today": "x", "month": {"list_usd": "lots"}, "caps": {"a": 1},
              "expected": "none", "breaker": "tripped", "tz": "No/Such_Zone"}
    assert render(b"{}", broken, NOW, color=False) == "stale (age unknown)"
    bad_caps = snap(caps=[None, 3, {"limit_usd": "0", "spent_usd": "5"}, {"used_share": "0.9", "period": "month"}])
    assert render(b"{}", bad_caps, NOW, color=False) == "today $12.34 · month $190.00 (90% of cap)"


def test_effective_is_used_when_list_is_absent():
    only = snap(today={"date": "2026-12-04", "effective_usd": "10.49"}, month={"list_usd": None,
                                                                                "effective_usd": "1234.5"})
    assert render(b"{}", only, NOW, color=False) == "today $10.49 · month $1,234.50 (40% of $300 cap)"


def test_control_characters_in_names_are_dropped():
    stdin = b'{"model": {"display_name": "Opus\\u001b[31m 4"}}'
    assert render(stdin, None, NOW, color=False) == "Opus[31m 4 · no data yet: run tokenpulse import"


def test_import_is_light():
    code = ("import sys, tokenpulse.widgets.statusline, tokenpulse.widgets.menubar; "
            "heavy = {'click', 'rich', 'duckdb', 'pyarrow', 'msgspec', 'typing', 'tokenpulse.cli', "
            "'tokenpulse.store', 'tokenpulse.money'}; print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
