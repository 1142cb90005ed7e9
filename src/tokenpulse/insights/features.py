"""Per-person aggregates the detectors read, computed in the store with SQL over [since, until).

The detectors never look at single events in Python: a large organisation has tens of millions of them. Each
function here is one or two aggregate queries that return a row per person (or per person and prompt, session,
or month) — thousands of rows, not millions. The SQL sticks to what DuckDB and PostgreSQL both understand
(plain GROUP BY, FILTER, window functions, `AT TIME ZONE`), though DuckDB is the store that must be fast.

Stored times are naive UTC. "Local" month boundaries (for the threshold detector) use the report's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..store.summaries import naive_utc

CONTEXT_SQL = "(input_tokens + cache_read_tokens + cache_write_tokens)"
"""What a request sent the model: uncached input plus cache reads and writes."""
OUTCOME_TYPES = ("commit", "pull_request", "edit_accepted")
"""What counts as the work producing something (lines alone follow from accepted edits)."""


@dataclass
class PersonFeatures:
    """One person's usage and outcomes over the period."""

    person: str
    requests: int = 0
    ok_requests: int = 0
    failed: int = 0
    """Requests whose status is not `ok` (errors and rate limits)."""
    retried_failures: int = 0
    """Failed requests whose prompt was sent more than once (a retried run)."""
    cost_micros: int = 0
    short_requests: int = 0
    """Successful requests whose context was under `short_context` tokens."""
    short_cost_micros: int = 0
    context_tokens: int = 0
    output_tokens: int = 0
    active_days: int = 0
    commits: int = 0
    pull_requests: int = 0
    edits_accepted: int = 0
    edits_rejected: int = 0
    hashed_requests: int = 0
    """Requests that carry a prompt hash."""
    repeat_copies: int = 0
    """Requests that repeat a prompt hash already sent (in the period): hashed requests - distinct prompts."""
    short_sample_ids: list[str] = field(default_factory=list)
    failed_sample_ids: list[str] = field(default_factory=list)
    """Ids of a few failed requests that were retried."""

    @property
    def baseline_repeats(self) -> float:
        """Mean requests per distinct prompt: about 1 for ordinary work."""
        distinct = self.hashed_requests - self.repeat_copies
        return self.hashed_requests / distinct if distinct > 0 else 1.0

    @property
    def outcomes(self) -> int:
        """Commits, pull requests and accepted edits."""
        return self.commits + self.pull_requests + self.edits_accepted


@dataclass
class Burst:
    """One prompt sent over and over by one person (the runaway-loop signature)."""

    person: str
    prompt_hash: str
    requests: int
    first_ts: datetime
    last_ts: datetime
    cost_micros: int
    mean_context: float
    context_cv: float
    """Standard deviation of the context size over its mean: near 0 when every copy is the same size."""
    session: str | None
    """One session the copies were sent in."""
    baseline: float
    """The person's mean requests per prompt hash over the period (about 1 for ordinary work)."""
    sample_ids: list[str] = field(default_factory=list)


@dataclass
class SessionSpend:
    """A session that produced no commit, pull request or accepted edit, and what it cost."""

    person: str
    session: str
    project: str | None
    requests: int
    cost_micros: int
    first_ts: datetime
    last_ts: datetime
    sample_ids: list[str] = field(default_factory=list)


@dataclass
class MonthSpend:
    """A person's spend on one tool in one local calendar month (within the period), and its late part."""

    person: str
    tool: str
    month: date
    cost_micros: int
    late_cost_micros: int
    """Spend in the month's last `late_days` local days."""
    month_ends_in_period: bool
    """The month's last local day falls before `until`: the month is over, its total is final."""
    late_sample_ids: list[str] = field(default_factory=list)


def _key(column: str) -> str:
    """A 64-bit hash of `column` to group by when only "which values repeat" matters: an integer key keeps a
    hash table of ten million distinct values small (a string key spills, and is three times slower). The
    exact grouping follows on the few rows that pass. (On PostgreSQL this would be `hashtextextended`.)"""
    return f"hash({column})"


def _ids(*ids: str | None) -> list[str]:
    """Sample event ids, without gaps or repeats."""
    return list(dict.fromkeys(i for i in ids if i is not None))


def _rows(con: Any, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    return con.execute(sql, list(params)).fetchall()


def _bounds(since: datetime, until: datetime) -> list[datetime | None]:
    return [naive_utc(since), naive_utc(until)]


def person_features(con: Any, since: datetime, until: datetime, short_context: int,
                    min_burst: int) -> tuple[dict[str, PersonFeatures], list[Burst]]:
    """Usage and outcome totals per person, and the prompt bursts of at least `min_burst` requests.

    Scans: events per person; repeated prompt hashes, then the events that carry them per (person, prompt
    hash), for both the retry counts and the bursts; outcomes per person."""
    bounds = _bounds(since, until)
    people: dict[str, PersonFeatures] = {}
    usage = _rows(con, f"""
        SELECT person, count(*), count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status <> 'ok'),
               coalesce(sum(cost_micros), 0),
               count(*) FILTER (WHERE status = 'ok' AND {CONTEXT_SQL} < ?),
               coalesce(sum(cost_micros) FILTER (WHERE status = 'ok' AND {CONTEXT_SQL} < ?), 0),
               coalesce(sum({CONTEXT_SQL}), 0), coalesce(sum(output_tokens), 0),
               count(DISTINCT CAST(ts AS DATE)), count(prompt_hash),
               min(id) FILTER (WHERE status = 'ok' AND {CONTEXT_SQL} < ?),
               max(id) FILTER (WHERE status = 'ok' AND {CONTEXT_SQL} < ?)
        FROM events WHERE ts >= ? AND ts < ? AND person IS NOT NULL GROUP BY person""",
        [short_context] * 4 + bounds)
    for person, requests, ok, failed, cost, short, short_cost, ctx, output, days, hashed, first, last in usage:
        people[person] = PersonFeatures(
            person, requests=int(requests), ok_requests=int(ok), failed=int(failed), cost_micros=int(cost),
            short_requests=int(short), short_cost_micros=int(short_cost), context_tokens=int(ctx),
            output_tokens=int(output), active_days=int(days), hashed_requests=int(hashed),
            short_sample_ids=_ids(first, last))
    # Prompts sent more than once, with the failed requests among them, and their shape. Finding the repeated
    # hashes first (by hash alone: a small key, a cheap aggregate) leaves the detailed aggregate only the few
    # events that repeat, instead of a group per request.
    rows = _rows(con, f"""
        WITH repeated AS (
            SELECT {_key("prompt_hash")} AS k FROM events WHERE ts >= ? AND ts < ? AND prompt_hash IS NOT NULL
            GROUP BY {_key("prompt_hash")} HAVING count(*) > 1
        )
        SELECT e.person, e.prompt_hash, count(*) AS n, count(*) FILTER (WHERE status <> 'ok'),
               min(ts), max(ts), coalesce(sum(cost_micros), 0), avg({CONTEXT_SQL}),
               coalesce(stddev_pop({CONTEXT_SQL}), 0), min(session), min(id), max(id),
               min(id) FILTER (WHERE status <> 'ok')
        FROM events e JOIN repeated r ON r.k = {_key("e.prompt_hash")}
        WHERE ts >= ? AND ts < ? AND e.person IS NOT NULL
        GROUP BY e.person, e.prompt_hash HAVING count(*) > 1""", [*bounds, *bounds])
    bursts = []
    for person, prompt, n, failed, first_ts, last_ts, cost, ctx_mean, ctx_sd, session, lo, hi, failed_id in rows:
        f = people.get(person)
        if f is None:
            continue
        f.repeat_copies += int(n) - 1
        f.retried_failures += int(failed)
        if failed_id is not None and len(f.failed_sample_ids) < 3:
            f.failed_sample_ids.append(failed_id)
        if n >= min_burst:
            bursts.append(Burst(person=person, prompt_hash=prompt, requests=int(n), first_ts=first_ts,
                                last_ts=last_ts, cost_micros=int(cost), mean_context=float(ctx_mean or 0),
                                context_cv=float(ctx_sd or 0) / float(ctx_mean) if ctx_mean else 0.0,
                                session=session, baseline=0.0, sample_ids=_ids(lo, hi)))
    for b in bursts:
        b.baseline = people[b.person].baseline_repeats
    bursts.sort(key=lambda b: (b.person, b.first_ts))
    outcomes = _rows(con, """
        SELECT person,
               coalesce(sum(count) FILTER (WHERE type = 'commit'), 0),
               coalesce(sum(count) FILTER (WHERE type = 'pull_request'), 0),
               coalesce(sum(count) FILTER (WHERE type = 'edit_accepted'), 0),
               coalesce(sum(count) FILTER (WHERE type = 'edit_rejected'), 0)
        FROM outcomes WHERE ts >= ? AND ts < ? AND person IS NOT NULL GROUP BY person""", bounds)
    for person, commits, prs, accepted, rejected in outcomes:
        f = people.setdefault(person, PersonFeatures(person))
        f.commits, f.pull_requests, f.edits_accepted, f.edits_rejected = (int(commits), int(prs), int(accepted),
                                                                          int(rejected))
    return people, bursts


def sessions_without_outcome(con: Any, since: datetime, until: datetime, min_cost_micros: int) -> list[SessionSpend]:
    """Sessions costing at least `min_cost_micros` with no commit, pull request or accepted edit (in the
    period) recorded against the same person and session."""
    types = ", ".join(f"'{t}'" for t in OUTCOME_TYPES)
    bounds = _bounds(since, until)
    key = _key("person, session")
    rows = _rows(con, f"""
        WITH costly AS (
            SELECT {key} AS k FROM events
            WHERE ts >= ? AND ts < ? AND person IS NOT NULL AND session IS NOT NULL
            GROUP BY {key} HAVING coalesce(sum(cost_micros), 0) >= ?
        ), productive AS (
            SELECT DISTINCT {key} AS k FROM outcomes
            WHERE ts >= ? AND ts < ? AND session IS NOT NULL AND type IN ({types}) AND count > 0
        ), empty AS (SELECT k FROM costly WHERE k NOT IN (SELECT k FROM productive))
        SELECT person, session, min(project), count(*), coalesce(sum(cost_micros), 0), min(ts), max(ts),
               min(id), max(id)
        FROM events WHERE ts >= ? AND ts < ? AND person IS NOT NULL AND {key} IN (SELECT k FROM empty)
        GROUP BY person, session HAVING coalesce(sum(cost_micros), 0) >= ?""",
        [*bounds, min_cost_micros, *bounds, *bounds, min_cost_micros])
    return [SessionSpend(r[0], r[1], r[2], int(r[3]), int(r[4]), r[5], r[6], _ids(r[7], r[8])) for r in rows]


def monthly_spend(con: Any, since: datetime, until: datetime, tz: str, late_days: int,
                  tools: Sequence[str] | None = None, min_cost_micros: int = 0) -> list[MonthSpend]:
    """Spend per person, tool and local month (only `tools`, when given, and months of at least
    `min_cost_micros`), and how much of it fell in the month's last `late_days` days."""
    local = "ts" if tz == "UTC" else "timezone(?, timezone('UTC', ts))"
    tz_params = [] if tz == "UTC" else [tz]
    only = "" if tools is None else "AND tool IN (SELECT unnest(?))"
    late = f"lts >= month + INTERVAL '1 month' - INTERVAL '{int(late_days)} days'"
    rows = _rows(con, f"""
        SELECT person, tool, CAST(month AS DATE), sum(cost_micros), coalesce(sum(cost_micros) FILTER (WHERE {late}), 0),
               min(id) FILTER (WHERE {late}), max(id) FILTER (WHERE {late})
        FROM (SELECT id, person, tool, cost_micros, {local} AS lts, date_trunc('month', {local}) AS month
              FROM events WHERE ts >= ? AND ts < ? AND person IS NOT NULL AND cost_micros IS NOT NULL {only}) e
        GROUP BY person, tool, month HAVING sum(cost_micros) >= ?""",
        [*tz_params, *tz_params, *_bounds(since, until), *([list(tools)] if tools is not None else []),
         min_cost_micros])
    until_local = _local_date(until, tz)
    out = []
    for person, tool, month, cost, late_cost, lo, hi in rows:
        next_month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        out.append(MonthSpend(person, tool, month, int(cost), int(late_cost), next_month <= until_local,
                              _ids(lo, hi)))
    out.sort(key=lambda m: (m.person, m.tool, m.month))
    return out


def _local_date(ts: datetime, tz: str) -> date:
    """The local calendar day `ts` falls on (an exclusive `until` at local midnight on the 1st: the 1st, so
    the month before counts as over)."""
    from zoneinfo import ZoneInfo

    return ts.astimezone(ZoneInfo(tz)).date()
