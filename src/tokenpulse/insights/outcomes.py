"""Outcomes per dollar: what the spend produced, per person and per team — always with its context.

A ratio alone ("3 commits per $100") invites ranking and gaming; every ratio here comes with the spend and
the counts it was computed from and with the median of the same ratio in the person's team, so a reader
sees "few commits per dollar" next to "on a team where that is normal" or "on $4 of spend".

Counting rules (so that no change is counted twice when two sources report it):

- **Git is the record when it is there.** Claude Code's telemetry counts the commits and lines it made,
  and the same commits arrive again from `tokenpulse import git`. So for each person and kind of outcome
  (commits, pull requests, lines), the git outcomes are used when the person has any of that kind in the
  period; otherwise the other sources' (OpenTelemetry, NDJSON imports).
- **AI-assisted lines.** Git lines count as AI-assisted when their commit carries an assistant marker
  (`extra.ai_assisted`, set by the git source from trailers). Lines that an AI tool's own telemetry reports
  (`lines_added` / `lines_removed` from `AI_LINE_TOOLS`) are AI-assisted by definition: the assistant
  wrote them. With git as the record, a person's AI-assisted lines are the larger of the two counts
  (lines Claude Code wrote and committed without a trailer still count; lines in a trailered commit are
  not counted twice), capped at the lines changed. Without git lines, the lines changed are the telemetry
  lines and the AI-assisted ones those from `AI_LINE_TOOLS` (or marked `ai_assisted`).
- Ratios per $100 of list spend are None when the spend is 0 (no division by nothing, no infinite score).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..money import micros_to_decimal_usd

AI_LINE_TOOLS = frozenset({"claude_code", "gemini_cli"})
"""Tools whose telemetry line counts are lines the assistant itself wrote (Claude Code's
`lines_of_code.count`, Gemini CLI's `lines.changed`)."""
KINDS = ("commit", "pull_request", "lines_added", "lines_removed")
PER_USD = 100
"""Ratios are per this many dollars of list spend: large enough to read as whole numbers."""
BY = ("person", "team")


@dataclass
class _Counts:
    """One person's outcome counts from one side (git, or everything else)."""

    commits: int = 0
    pull_requests: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    ai_lines: int = 0
    """Lines marked AI-assisted (git trailers) or reported by an AI tool's telemetry."""
    seen: set[str] = field(default_factory=set)
    """The outcome kinds this side reported at all (a zero count still says "git was read")."""

    @property
    def lines(self) -> int:
        return self.lines_added + self.lines_removed


@dataclass
class OutcomeRow:
    """One person's or team's spend and outcomes over the period, with the ratios and their context."""

    key: str | None
    team: str | None
    people: int = 1
    spend_micros: int = 0
    requests: int = 0
    commits: int = 0
    pull_requests: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    ai_lines: int = 0
    lines_source: str | None = None
    """`git`, `telemetry`, `mixed` (a team whose people differ) or None (no lines)."""
    team_median_commits_per_100usd: float | None = None
    """The median of the per-person ratio in this row's team (people with spend only)."""
    team_median_prs_per_100usd: float | None = None

    @property
    def lines_changed(self) -> int:
        return self.lines_added + self.lines_removed

    @property
    def ai_share(self) -> float | None:
        return self.ai_lines / self.lines_changed if self.lines_changed else None

    @property
    def commits_per_100usd(self) -> float | None:
        return _per_100(self.commits, self.spend_micros)

    @property
    def prs_per_100usd(self) -> float | None:
        return _per_100(self.pull_requests, self.spend_micros)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "team": self.team, "people": self.people, "spend_usd": _usd(self.spend_micros),
                "requests": self.requests, "commits": self.commits, "pull_requests": self.pull_requests,
                "lines_added": self.lines_added, "lines_removed": self.lines_removed,
                "lines_changed": self.lines_changed, "ai_assisted_lines": self.ai_lines,
                "ai_assisted_share": _round(self.ai_share), "lines_source": self.lines_source,
                "commits_per_100usd": _round(self.commits_per_100usd),
                "prs_per_100usd": _round(self.prs_per_100usd),
                "team_median_commits_per_100usd": _round(self.team_median_commits_per_100usd),
                "team_median_prs_per_100usd": _round(self.team_median_prs_per_100usd)}


@dataclass
class OutcomeReport:
    by: str
    since: datetime | None
    until: datetime | None
    rows: list[OutcomeRow]
    total: OutcomeRow
    """The whole selection (the org, or the one team asked for)."""

    def to_json(self) -> dict[str, Any]:
        return {"by": self.by, "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None, "per_usd": PER_USD,
                "rows": [r.to_json() for r in self.rows], "total": self.total.to_json()}


def _usd(micros: int) -> str:
    return str(micros_to_decimal_usd(micros))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _per_100(count: int, micros: int) -> float | None:
    return count * PER_USD * 1_000_000 / micros if micros > 0 else None


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _sides(lines: Iterable[tuple[str, str, bool, bool, str | None, int]]) -> dict[str, tuple[_Counts, _Counts]]:
    """Each person's git side and other side, from `store.outcome_lines`."""
    sides: dict[str, tuple[_Counts, _Counts]] = {}
    for person, kind, from_git, ai, tool, count in lines:
        git, other = sides.setdefault(person, (_Counts(), _Counts()))
        side = git if from_git else other
        side.seen.add(kind)
        if kind == "commit":
            side.commits += count
        elif kind == "pull_request":
            side.pull_requests += count
        else:
            setattr(side, kind, getattr(side, kind) + count)
            if ai or (not from_git and tool in AI_LINE_TOOLS):
                side.ai_lines += count
    return sides


def _person_row(person: str, team: str | None, spend: int, requests: int, git: _Counts, other: _Counts) -> OutcomeRow:
    """Apply the counting rules (module docstring) to one person's two sides."""
    def pick(kinds: tuple[str, ...]) -> _Counts:
        return git if git.seen & set(kinds) else other

    row = OutcomeRow(person, team, spend_micros=spend, requests=requests,
                     commits=pick(("commit",)).commits, pull_requests=pick(("pull_request",)).pull_requests)
    lines = pick(("lines_added", "lines_removed"))
    row.lines_added, row.lines_removed = lines.lines_added, lines.lines_removed
    if lines is git:
        row.ai_lines = min(git.lines, max(git.ai_lines, other.ai_lines))
        row.lines_source = "git"
    elif other.lines:
        row.ai_lines = other.ai_lines
        row.lines_source = "telemetry"
    return row


def _sum_rows(key: str | None, team: str | None, rows: list[OutcomeRow]) -> OutcomeRow:
    total = OutcomeRow(key, team, people=len(rows))
    for r in rows:
        total.spend_micros += r.spend_micros
        total.requests += r.requests
        total.commits += r.commits
        total.pull_requests += r.pull_requests
        total.lines_added += r.lines_added
        total.lines_removed += r.lines_removed
        total.ai_lines += r.ai_lines
    sources = {r.lines_source for r in rows if r.lines_source}
    total.lines_source = sources.pop() if len(sources) == 1 else ("mixed" if sources else None)
    total.team_median_commits_per_100usd = _median(r.commits_per_100usd for r in rows)
    total.team_median_prs_per_100usd = _median(r.prs_per_100usd for r in rows)
    return total


def _spend(store: Any, since: datetime | None, until: datetime | None, tz: str) -> tuple[dict[str, int],
                                                                                       dict[str, int]]:
    """List spend and requests per person (from the hourly summaries where the zone allows)."""
    from ..store import UsageQuery

    spend: dict[str, int] = {}
    requests: dict[str, int] = {}
    for row in store.usage_rows(UsageQuery(group="person", tz=tz, since=since, until=until)):
        if row.key is not None:
            spend[str(row.key)] = spend.get(str(row.key), 0) + row.cost_micros
            requests[str(row.key)] = requests.get(str(row.key), 0) + row.requests
    return spend, requests


def outcomes_per_dollar(store: Any, by: str = "person", *, since: datetime | None = None,
                        until: datetime | None = None, tz: str = "UTC", team: str | None = None) -> OutcomeReport:
    """Spend and outcomes per person or team over [since, until) (people with spend or outcomes in it),
    with commits and pull requests per $100 and the share of changed lines that were AI-assisted.
    `team` keeps only that team's people. Rows are sorted by key (never by a ratio: this is not a podium)."""
    if by not in BY:
        raise ValueError(f"outcomes are by one of {', '.join(BY)}, not {by!r}")
    teams = store.person_teams()
    spend, requests = _spend(store, since, until, tz)
    sides = _sides(store.outcome_lines(since, until, KINDS))
    people = sorted(set(spend) | set(sides))
    if team is not None:
        people = [p for p in people if teams.get(p) == team]
    rows = [_person_row(p, teams.get(p), spend.get(p, 0), requests.get(p, 0), *sides.get(p, (_Counts(), _Counts())))
            for p in people]
    per_team: dict[str | None, list[OutcomeRow]] = {}
    for r in rows:
        per_team.setdefault(r.team, []).append(r)
    team_rows = {t: _sum_rows(t, t, members) for t, members in per_team.items()}
    for r in rows:
        median = team_rows[r.team]
        r.team_median_commits_per_100usd = median.team_median_commits_per_100usd
        r.team_median_prs_per_100usd = median.team_median_prs_per_100usd
    out = rows if by == "person" else sorted(team_rows.values(), key=lambda r: (r.key is None, r.key or ""))
    return OutcomeReport(by, since, until, out, _sum_rows(team, team, rows))
