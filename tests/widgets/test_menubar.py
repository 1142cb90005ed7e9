"""The SwiftBar/xbar plugin output: exact text for a full snapshot, none, a tripped breaker; links; notify URLs."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from tokenpulse.widgets.menubar import notify_url, render

NOW = datetime(2026, 12, 4, 21, 42, tzinfo=UTC)
FULL = {
    "schema": "tokenpulse-snapshot/1", "generated_at": "2026-12-04T21:30:00+00:00", "source": "local",
    "person": "ann@x.io", "tz": "Europe/Berlin",
    "today": {"date": "2026-12-04", "list_usd": "12.34", "effective_usd": "10.49",
              "by_tool": {"claude_code": "11.00", "codex": "1.34"}},
    "week": {"start": "2026-11-30", "list_usd": "61.20", "effective_usd": "52.02",
             "by_tool": {"claude_code": "55.00", "codex": "6.20"}},
    "month": {"month": "2026-12", "list_usd": "190.00", "effective_usd": "161.50",
              "by_tool": {"claude_code": "180.20", "codex": "9.80"}},
    "block": {"start": "2026-12-04T20:00:00+00:00", "end": "2026-12-04T22:30:00+00:00", "cost_usd": "3.10",
              "burn_usd_per_hour": "1.20", "projected_usd": "6.00", "active": True},
    "caps": [{"scope": "person:ann@x.io|tool:claude_code", "period": "month", "limit_usd": "300",
              "spent_usd": "240.5", "used_share": 0.8017},
             {"scope": "person:ann@x.io", "period": "day", "limit_usd": "50", "spent_usd": "12.34",
              "used_share": 0.2468}],
    "expected": [{"tool": "claude_code", "expected_usd": "200", "month_usd": "180.20"}],
    "breaker": {"tripped": False}, "dashboard_url": "http://127.0.0.1:8787/",
}


def snap(**changes) -> dict:
    result = copy.deepcopy(FULL)
    result.update(changes)
    return result


def test_full_snapshot():
    assert render(FULL, NOW) == """\
🟡 $12.34 today · 80% of cap
---
Today: $12.34 list · $10.49 effective
--claude_code: $11.00
--codex: $1.34
This week (from 2026-11-30): $61.20 list · $52.02 effective
--claude_code: $55.00
--codex: $6.20
This month (2026-12): $190.00 list · $161.50 effective
--claude_code: $180.20
--codex: $9.80
---
Cap ann@x.io · claude_code (month): $240.50 of $300 · 80% | color=#b25000
Cap ann@x.io (day): $12.34 of $50 · 24%
---
Expected claude_code: $180.20 of $200 this month · 90%
---
Breaker: not tripped
---
5-hour block: $3.10 · $1.20/h · projected $6.00 · ends 23:30
---
Updated 12 min ago · from local logs
Open my dashboard | href=http://127.0.0.1:8787/people/ann@x.io
Open dashboard | href=http://127.0.0.1:8787/
Refresh | refresh=true
"""


def test_no_snapshot():
    assert render(None, NOW) == "⚪ tokenpulse\n---\nNo data yet\nRun: tokenpulse import\n---\nRefresh | refresh=true\n"


def test_tripped_stale_dark():
    tripped = snap(breaker={"tripped": True, "cause": "spend_rate", "since": "2026-12-04T20:10:00+00:00",
                            "reenable": 'tokenpulse reenable --reason "..."'},
                   generated_at="2026-12-04T19:00:00Z", source="server", block=None, expected=[],
                   caps=[{"scope": "team:payments", "period": "month", "limit_usd": "100", "spent_usd": "104",
                          "used_share": 1.04}])
    assert render(tripped, NOW, dark=True) == """\
🔴 tripped · stale 2h
---
Today: $12.34 list · $10.49 effective
--claude_code: $11.00
--codex: $1.34
This week (from 2026-11-30): $61.20 list · $52.02 effective
--claude_code: $55.00
--codex: $6.20
This month (2026-12): $190.00 list · $161.50 effective
--claude_code: $180.20
--codex: $9.80
---
Cap team payments (month): $104.00 of $100 · 104% | color=#ff6961
---
Breaker: tripped (spend_rate) since 21:10 | color=#ff6961
Re-enable: tokenpulse reenable --reason "..."
---
Stale: updated 2 h 42 min ago · from server | color=#ffb340
--Run: tokenpulse import
Open my dashboard | href=http://127.0.0.1:8787/people/ann@x.io
Open dashboard | href=http://127.0.0.1:8787/
Refresh | refresh=true
"""


def test_titles():
    assert render(snap(caps=[]), NOW).splitlines()[0] == "🟢 $12.34 today"
    over = snap(caps=[{"period": "month", "limit_usd": "10", "spent_usd": "12.5"}])
    assert render(over, NOW).splitlines()[0] == "🔴 $12.34 today · 125% of cap"
    yesterday = snap(caps=[], today={"date": "2026-12-03", "list_usd": "5"}, generated_at="2026-12-04T21:40:00Z")
    lines = render(yesterday, NOW).splitlines()
    assert lines[0] == "🟢 tokenpulse"
    assert lines[2] == "Day 2026-12-03: $5.00 list"


def test_links_only_with_a_dashboard_url():
    assert "href=" not in render(snap(dashboard_url=None), NOW)
    assert "href=" not in render(snap(dashboard_url="javascript:alert(1)"), NOW)
    links = [line for line in render(snap(person="a b|c@x.io", dashboard_url="https://dash.example/tp"), NOW)
             .splitlines() if "href=" in line]
    assert links == ["Open my dashboard | href=https://dash.example/tp/people/a%20b%7Cc@x.io",
                     "Open dashboard | href=https://dash.example/tp/"]
    no_person = render(snap(person=None), NOW)
    assert "Open my dashboard" not in no_person and "Open dashboard | href=http://127.0.0.1:8787/" in no_person


def test_text_never_contains_a_parameter_bar():
    odd = snap(today={"date": "2026-12-04", "list_usd": "1", "by_tool": {"--x|y": "1"}},
               breaker={"tripped": True, "cause": "a|b", "reenable": "run | this"})
    for line in render(odd, NOW).splitlines():
        text = line.split(" | ")[0]
        assert "|" not in text, line


def test_malformed_snapshot_never_raises():
    broken = {"generated_at": "yesterday", "today": [], "week": {"list_usd": True}, "caps": "x", "expected": [None],
              "breaker": [], "block": {"cost_usd": None, "end": 3}, "dashboard_url": 5, "tz": 9}
    assert render(broken, NOW) == ("🟢 tokenpulse · stale age unknown\n---\n"
                                   "Data age unknown: run tokenpulse import | color=#b25000\n"
                                   "Refresh | refresh=true\n")


def test_notify_url_is_percent_encoded():
    url = notify_url("Cap at 80% & more", "ann@x.io · claude_code: $240.50 of $300\nsee #caps", "tokenpulse.15m.sh")
    assert url == ("swiftbar://notify?plugin=tokenpulse.15m.sh&title=Cap%20at%2080%25%20%26%20more"
                   "&body=ann%40x.io%20%C2%B7%20claude_code%3A%20%24240.50%20of%20%24300%0Asee%20%23caps")
    query = parse_qs(urlsplit(url).query)
    assert query["body"] == ["ann@x.io · claude_code: $240.50 of $300\nsee #caps"]
    assert notify_url("t", "b") == "swiftbar://notify?plugin=tokenpulse.15m.sh&title=t&body=b"
    with_link = notify_url("t", "b", href="http://127.0.0.1:8787/people/ann@x.io?x=1&y=2")
    assert parse_qs(urlsplit(with_link).query)["href"] == ["http://127.0.0.1:8787/people/ann@x.io?x=1&y=2"]
