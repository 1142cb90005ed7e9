"""Outcomes per dollar on hand-built spend and outcomes, on both backends: exact counts, the counting rules
(git as the record, AI-assisted lines from trailers and from Claude Code's telemetry), ratios with their
team medians, and the command's stable JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cli_helpers import as_json, ok
from tokenpulse.events import OutcomeEvent, UsageEvent
from tokenpulse.insights.outcomes import outcomes_per_dollar
from tokenpulse.people import Person

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
SINCE, UNTIL = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)


def spend(person: str, usd: int) -> list[UsageEvent]:
    """Requests with a given list cost (vendor-reported cost is kept apart; the list cost is what counts)."""
    return [UsageEvent(id=f"{person}-u{i}", ts=T0 + timedelta(minutes=i), tool="claude_code", person=person,
                       model="claude-sonnet-4-5", input_tokens=1_000, output_tokens=100, cost_micros=1_000_000)
            for i in range(usd)]


def git_commit(person: str, sha: str, added: int, removed: int, ai: bool, day: int = 0) -> list[OutcomeEvent]:
    extra = {"repo": "web", "sha": sha, "ai_assisted": ai}
    ts = T0 + timedelta(days=day)
    return [OutcomeEvent(id=f"git:{sha}:commit", ts=ts, type="commit", person=person, source="git", extra=extra),
            OutcomeEvent(id=f"git:{sha}:lines_added", ts=ts, type="lines_added", count=added, person=person,
                         source="git", extra=extra),
            OutcomeEvent(id=f"git:{sha}:lines_removed", ts=ts, type="lines_removed", count=removed, person=person,
                         source="git", extra=extra)]


def otel(person: str, kind: str, count: int, n: int, tool: str = "claude_code") -> OutcomeEvent:
    return OutcomeEvent(id=f"otel:{person}:{kind}:{n}", ts=T0 + timedelta(hours=n), type=kind, count=count,
                        person=person, tool=tool, source="otlp")


def fill(store) -> None:
    usage = spend("ana@x.com", 200) + spend("ben@x.com", 50) + spend("cy@x.com", 100) + spend("dee@x.com", 10)
    outcomes = [
        # Ana: git is read; one trailered commit (60 lines) and one without (40); Claude Code also reports its
        # own lines (30) and commits (2) — already inside the git record, so not counted again.
        *git_commit("ana@x.com", "a1", 50, 10, ai=True), *git_commit("ana@x.com", "a2", 30, 10, ai=False, day=1),
        otel("ana@x.com", "lines_added", 30, 1), otel("ana@x.com", "commit", 2, 2),
        otel("ana@x.com", "pull_request", 1, 3),
        # Ben: no git; Claude Code's telemetry is all there is, and its lines are the assistant's.
        otel("ben@x.com", "commit", 3, 1), otel("ben@x.com", "lines_added", 80, 2),
        otel("ben@x.com", "lines_removed", 20, 3), otel("ben@x.com", "pull_request", 2, 4),
        # Cy: git without trailers, but Claude Code wrote 70 of the 100 committed lines: 70 count.
        *git_commit("cy@x.com", "c1", 90, 10, ai=False), otel("cy@x.com", "lines_added", 70, 1),
        # Eve: outcomes but no spend — shown, with no ratio.
        *git_commit("eve@x.com", "e1", 5, 0, ai=False),
        # outside the period: not counted
        OutcomeEvent(id="old", ts=SINCE - timedelta(days=3), type="commit", count=9, person="ana@x.com"),
    ]
    store.write_batch(usage, outcomes)
    store.save_people([Person("ana@x.com", team="core"), Person("ben@x.com", team="core"),
                       Person("cy@x.com", team="growth"), Person("dee@x.com", team="growth")])


def test_per_person_counts_follow_the_rules_and_ratios_carry_their_context(any_store) -> None:
    fill(any_store)
    report = outcomes_per_dollar(any_store, "person", since=SINCE, until=UNTIL)
    rows = {r.key: r for r in report.rows}
    assert list(rows) == ["ana@x.com", "ben@x.com", "cy@x.com", "dee@x.com", "eve@x.com"]  # by name, not rank
    ana, ben, cy, dee, eve = rows.values()
    # Ana: commits from git (2, not 2 + 2), the PR from telemetry (git has none), lines from git.
    assert (ana.spend_micros, ana.commits, ana.pull_requests, ana.lines_added, ana.lines_removed) == (
        200_000_000, 2, 1, 80, 20)
    assert (ana.ai_lines, ana.lines_source) == (60, "git")  # max(60 trailered, 30 from telemetry)
    assert ana.commits_per_100usd == 1.0 and ana.prs_per_100usd == 0.5
    assert (ben.commits, ben.pull_requests, ben.lines_changed, ben.ai_lines, ben.lines_source) == (
        3, 2, 100, 100, "telemetry")
    assert ben.commits_per_100usd == 6.0 and ben.ai_share == 1.0
    assert (cy.lines_changed, cy.ai_lines, cy.ai_share) == (100, 70, 0.7)
    # Dee spent and produced nothing recorded; Eve produced without spend: her ratios are None, not infinite.
    assert (dee.commits, dee.commits_per_100usd, dee.ai_share) == (0, 0.0, None)
    assert (eve.spend_micros, eve.commits, eve.commits_per_100usd, eve.team) == (0, 1, None, None)
    # the team median of the per-person ratio sits beside each person's
    assert ana.team_median_commits_per_100usd == ben.team_median_commits_per_100usd == 3.5  # median(1, 6)
    assert cy.team_median_commits_per_100usd == 0.5  # median(1, 0)
    assert eve.team_median_commits_per_100usd is None  # nobody with spend in "no team"

    data = report.to_json()
    json.dumps(data)  # JSON-ready as it is: money as decimal strings
    assert data["rows"][0]["spend_usd"] == "200.000000" and data["rows"][0]["ai_assisted_share"] == 0.6
    assert data["total"]["spend_usd"] == "360.000000" and data["total"]["commits"] == 2 + 3 + 1 + 1


def test_per_team_sums_members_and_a_team_filter_keeps_its_people(any_store) -> None:
    fill(any_store)
    teams = {r.key: r for r in outcomes_per_dollar(any_store, "team", since=SINCE, until=UNTIL).rows}
    assert list(teams) == ["core", "growth", None]
    core = teams["core"]
    assert (core.people, core.spend_micros, core.commits, core.pull_requests, core.lines_changed, core.ai_lines) == (
        2, 250_000_000, 5, 3, 200, 160)
    assert core.commits_per_100usd == 2.0 and core.lines_source == "mixed"
    assert core.team_median_commits_per_100usd == 3.5
    only = outcomes_per_dollar(any_store, "person", since=SINCE, until=UNTIL, team="growth")
    assert [r.key for r in only.rows] == ["cy@x.com", "dee@x.com"] and only.total.spend_micros == 110_000_000


def test_the_command_json_is_stable_when_empty_and_carries_the_rows() -> None:
    empty = as_json(ok("outcomes", "--json", "--no-import", "--tz", "UTC"))
    assert empty == {"outcomes": "person", "timezone": "UTC", "team": None, "by": "person", "since": None,
                     "until": None, "per_usd": 100, "rows": [], "total": empty["total"]}
    assert empty["total"]["spend_usd"] == "0.000000" and empty["total"]["commits_per_100usd"] is None


def test_the_command_on_a_store(tmp_path) -> None:
    from tokenpulse.store.duckdb import DuckDBStore

    db = tmp_path / "tp.duckdb"
    store = DuckDBStore(db)
    fill(store)
    store.close()
    data = as_json(ok("--db", db, "outcomes", "--by", "team", "--json", "--no-import", "--tz", "UTC",
                      "--since", "2026-11-01", "--until", "2026-11-30"))
    assert [r["key"] for r in data["rows"]] == ["core", "growth", None]
    assert data["rows"][0]["commits_per_100usd"] == 2 and data["rows"][0]["spend_usd"] == "250.000000"
    table = ok("--db", db, "outcomes", "--no-import", "--tz", "UTC").stdout
    assert "ana@x.com" in table and "3.5" in table
    assert ok("--db", db, "outcomes", "--csv", "--no-import", "--tz", "UTC").stdout.splitlines()[0].startswith(
        "key,team,people,spend_usd")


def test_the_command_refuses_filters_outcomes_cannot_honour() -> None:
    from cli_helpers import tp

    result = tp("outcomes", "--tool", "codex", "--no-import")
    assert result.exit_code == 2 and "no --tool or --project filter" in result.stderr
