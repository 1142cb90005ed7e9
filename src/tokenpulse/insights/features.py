"""Per-person aggregates the detectors read, computed in the store with SQL over [since, until).

The detectors never look at single events in Python: a large organisation has tens of millions of them. Each
function here is one aggregate query that returns a row per person (or per person and prompt, session, or
month) — thousands of rows, not millions. To stay fast at that size they read as little as they can:

- one pass over `events` for the per-request figures (status, context size) per person;
- the hourly summaries (`usage_hourly`) for whatever needs no per-request detail: spend per session and per
  local month (when the period's bounds fall on whole UTC hours, as they do in every whole-hour zone);
- repeated prompts are found without grouping every request by its prompt: a count per hash bucket first
  (a prompt sent `min_burst` times fills its bucket at least that full), then the exact grouping on the few
  requests in full buckets, which names the people with bursts;
- what only the candidates need (their bursts and usual repeats per prompt, whether a failing person's
  failures were retried, sample event ids of sessions and months) is read afterwards for them alone, in
  one pass (`details`).

The SQL runs on DuckDB and PostgreSQL (`?` placeholders are rewritten for psycopg; the one function they name
differently, the 64-bit string hash, is picked per backend). Stored times are naive UTC; local months use the
report's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..store.summaries import aware, counted_events, hour_aligned, naive_utc

CONTEXT_SQL = "(input_tokens + cache_read_tokens + cache_write_tokens)"
"""What a request sent the model: uncached input plus cache reads and writes."""
OUTCOME_TYPES = ("commit", "pull_request", "edit_accepted")
"""What counts as the work producing something (lines alone follow from accepted edits)."""
MONTH_COVERAGE_GRACE_DAYS = 7
"""Data that starts within a month's first week covers the month (an organisation's first events rarely fall
on the 1st); data that starts later leaves the month partial, and it is not judged."""
BUCKET_MASK = (1 << 20) - 1
"""Prompt hashes are counted in 2^20 buckets to find the repeated ones: about ten requests a bucket at ten
million, so a bucket holding a burst stands out, and a table of a million counters stays in cache (grouping
by the hash itself makes ten million groups and is three times slower). Exact either way: the buckets only
choose which requests are grouped exactly."""


@dataclass
class PersonFeatures:
    """One person's usage and outcomes over the period."""

    person: str
    requests: int = 0
    ok_requests: int = 0
    failed: int = 0
    """Requests whose status is not `ok` (errors and rate limits)."""
    retried_failures: int = 0
    """Failed requests whose prompt was sent more than once (a retried run); counted by `details` for the
    people it is asked about (those with enough failures for it to matter), else 0."""
    cost_micros: int = 0
    short_requests: int = 0
    """Successful requests whose context was under `short_context` tokens."""
    short_cost_micros: int = 0
    context_tokens: int = 0
    output_tokens: int = 0
    commits: int = 0
    pull_requests: int = 0
    edits_accepted: int = 0
    edits_rejected: int = 0
    short_sample_ids: list[str] = field(default_factory=list)
    """The first and last short requests' ids."""
    failed_sample_ids: list[str] = field(default_factory=list)
    """Ids of two failed requests that were retried (filled with `retried_failures`)."""

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
    baseline: float = 1.0
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
    """Filled by `details` for the sessions shown in a flag."""


@dataclass
class MonthSpend:
    """A person's spend on one tool in one local calendar month the period judges (`judged_months`: over,
    and covered by the data from its first day), and its late part."""

    person: str
    tool: str
    month: date
    cost_micros: int
    late_cost_micros: int
    """Spend in the month's last `late_days` local days."""
    late_start: datetime | None = None
    """When the late days begin and the month ends (naive UTC), to look up sample events of a flagged month."""
    late_end: datetime | None = None
    team: str | None = None
    team_total_micros: int = 0
    """What the person's team (the person included) spent on the tool that month..."""
    team_people: int = 0
    """...and how many of them used it."""
    late_sample_ids: list[str] = field(default_factory=list)
    """Filled by `details` for flagged months."""


# --- the two backends -----------------------------------------------------------------------------------


def _is_postgres(con: Any) -> bool:
    return type(con).__module__.startswith("psycopg")


def _hash(con: Any, *text_sql: str) -> str:
    """A 64-bit hash of text expressions (DuckDB's `hash`, PostgreSQL's `hashtextextended` of them joined)."""
    if _is_postgres(con):
        joined = text_sql[0] if len(text_sql) == 1 else f"concat_ws(chr(31), {', '.join(text_sql)})"
        return f"hashtextextended({joined}, 0)"
    return f"hash({', '.join(text_sql)})"


def _rows(con: Any, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    if _is_postgres(con):
        sql = sql.replace("?", "%s")
    return con.execute(sql, list(params)).fetchall()


def _ids(*ids: str | None) -> list[str]:
    """Sample event ids, without gaps or repeats."""
    return list(dict.fromkeys(i for i in ids if i is not None))


def _bounds(since: datetime, until: datetime) -> list[datetime | None]:
    return [naive_utc(since), naive_utc(until)]


def _on_hours(*moments: datetime) -> bool:
    return all(m.minute == 0 and m.second == 0 and m.microsecond == 0 for m in moments)


# --- per person -----------------------------------------------------------------------------------------


def person_features(con: Any, since: datetime, until: datetime, short_context: int) -> dict[str, PersonFeatures]:
    """Usage totals per person (one pass over the events that count, as totals do: `summaries.counted_table`) and
    their outcomes. Of the long text columns, which cost most to read, only the id is read: for the first and
    last short request (reading them here costs less than looking them up later for the flagged)."""
    bounds = _bounds(since, until)
    short = f"status = 'ok' AND {CONTEXT_SQL} < ?"
    people: dict[str, PersonFeatures] = {}
    usage = _rows(con, f"""
        SELECT person, count(*), count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE status <> 'ok'),
               coalesce(sum(cost_micros), 0), count(*) FILTER (WHERE {short}),
               coalesce(sum(cost_micros) FILTER (WHERE {short}), 0),
               coalesce(sum({CONTEXT_SQL}), 0), coalesce(sum(output_tokens), 0),
               min(id) FILTER (WHERE {short}), max(id) FILTER (WHERE {short})
        FROM {counted_events(since, until)} WHERE ts >= ? AND ts < ? AND person IS NOT NULL GROUP BY person""",
        [short_context] * 4 + bounds)
    for person, requests, ok, failed, cost, n_short, short_cost, ctx, output, first, last in usage:
        people[person] = PersonFeatures(
            person, requests=int(requests), ok_requests=int(ok), failed=int(failed), cost_micros=int(cost),
            short_requests=int(n_short), short_cost_micros=int(short_cost), context_tokens=int(ctx),
            output_tokens=int(output), short_sample_ids=_ids(first, last))
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
    return people


def burst_prompts(con: Any, since: datetime, until: datetime, min_burst: int) -> list[tuple[str, str]]:
    """(person, prompt hash) for each prompt a person sent at least `min_burst` times (`details` reads them).

    The candidates are the requests in hash buckets holding `min_burst` or more requests; only their person
    and prompt columns are then grouped exactly."""
    bounds = _bounds(since, until)
    bucket = f"({_hash(con, 'prompt_hash')} & {BUCKET_MASK})"
    rows = _rows(con, f"""
        WITH heavy AS (
            SELECT {bucket} AS b FROM events WHERE ts >= ? AND ts < ? AND prompt_hash IS NOT NULL
            GROUP BY 1 HAVING count(*) >= ?
        )
        SELECT person, prompt_hash FROM events
        WHERE ts >= ? AND ts < ? AND person IS NOT NULL AND prompt_hash IS NOT NULL
          AND {bucket} IN (SELECT b FROM heavy)
        GROUP BY person, prompt_hash HAVING count(*) >= ?""", [*bounds, min_burst, *bounds, min_burst])
    return sorted((r[0], r[1]) for r in rows)


# --- from the hourly summaries (or the events, when the bounds cut hours) --------------------------------


def _usage_source(since: datetime, until: datetime, tz: str = "UTC") -> tuple[str, str, str, str, str]:
    """(table, time column, requests, first time, last time): the hourly summaries when [since, until) and
    the zone's days fall on whole UTC hours, else the events."""
    if _on_hours(since, until) and hour_aligned(tz):
        return "usage_hourly", "hour", "sum(requests)", "first_ts", "last_ts"
    return counted_events(since, until), "ts", "count(*)", "ts", "ts"


def sessions_without_outcome(con: Any, since: datetime, until: datetime, min_cost_micros: int) -> list[SessionSpend]:
    """Sessions costing at least `min_cost_micros` with no commit, pull request or accepted edit (in the
    period) recorded against the same person and session.

    Sessions are matched on a 64-bit hash of (person, session): an integer key keeps the hash tables of a
    million sessions small (string keys make this three times slower). The figures are then summed exactly
    for the few sessions left."""
    types = ", ".join(f"'{t}'" for t in OUTCOME_TYPES)
    table, time_col, requests, first, last = _usage_source(since, until)
    key = _hash(con, "person", "session")
    bounds = _bounds(since, until)
    rows = _rows(con, f"""
        WITH costly AS (
            SELECT {key} AS k FROM {table}
            WHERE {time_col} >= ? AND {time_col} < ? AND person IS NOT NULL AND session IS NOT NULL
            GROUP BY 1 HAVING sum(cost_micros) >= ?
        ), productive AS (
            SELECT DISTINCT {key} AS k FROM outcomes
            WHERE ts >= ? AND ts < ? AND person IS NOT NULL AND session IS NOT NULL AND type IN ({types})
              AND count > 0 AND {key} IN (SELECT k FROM costly)
        ), empty AS (SELECT k FROM costly WHERE k NOT IN (SELECT k FROM productive))
        SELECT person, session, min(project), {requests}, sum(cost_micros), min({first}), max({last})
        FROM {table}
        WHERE {time_col} >= ? AND {time_col} < ? AND person IS NOT NULL AND {key} IN (SELECT k FROM empty)
        GROUP BY person, session HAVING sum(cost_micros) >= ?""",
        [*bounds, min_cost_micros, *bounds, *bounds, min_cost_micros])
    return [SessionSpend(r[0], r[1], r[2], int(r[3]), int(r[4]), r[5], r[6]) for r in rows]


def judged_months(since: datetime, until: datetime, tz: str, data_start: datetime | None) -> list[date]:
    """The local calendar months a period judges: those that end in [since, until) (over, so their total is
    final) and whose first week the stored data reaches (`data_start`: the earliest event). A month that
    began before `since` is judged on its whole spend, read from before `since`. A month the data only
    reaches later (the store's first, partial month) is not judged: its total is a tail of the month, and its
    "late share" is inflated."""
    if data_start is None:
        return []
    covered_from = _local_date(data_start, tz) - timedelta(days=MONTH_COVERAGE_GRACE_DAYS)
    since_local, until_local = _local_date(since, tz), _local_date(until, tz)
    month = date(covered_from.year, covered_from.month, 1)
    month = month if month >= covered_from else _next_month(month)
    months = []
    while _next_month(month) <= until_local:
        if _next_month(month) > since_local:
            months.append(month)
        month = _next_month(month)
    return months


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def monthly_spend(con: Any, since: datetime, until: datetime, tz: str, late_days: int,
                  min_late_share: float) -> tuple[list[MonthSpend], dict[str, float]]:
    """Spend per person, tool and local month the period judges (`judged_months`), with how much of it fell
    in the month's last `late_days` days — only the months where that is at least `min_late_share` (the
    few that can be calibration), each with its team's total and headcount that month (from the people
    directory, for the team average); and each tool's average monthly spend per person, in micro-USD.

    The tens of thousands of other person-months stay in the store: only their sums come out."""
    data_start = _rows(con, "SELECT min(ts) FROM events", [])[0][0]  # from the column's statistics / index
    months = judged_months(since, until, tz, aware(data_start) if data_start is not None else None)
    if not months:
        return [], {}
    start, end = _local_midnight(months[0], tz), _local_midnight(_next_month(months[-1]), tz)
    table, time_col, *_ = _usage_source(start, end, tz)
    local = f"{time_col}" if tz == "UTC" else f"timezone(?, timezone('UTC', {time_col}))"
    tz_params = [] if tz == "UTC" else [tz]
    late = f"lts >= month + INTERVAL '1 month' - INTERVAL '{int(late_days)} days'"
    rows = _rows(con, f"""
        WITH m AS MATERIALIZED (
            SELECT e.person, tool, CAST(month AS DATE) AS month, sum(cost_micros) AS cost,
                   coalesce(sum(cost_micros) FILTER (WHERE {late}), 0) AS late, min(p.team) AS team
            FROM (SELECT person, tool, cost_micros, {local} AS lts, date_trunc('month', {local}) AS month
                  FROM {table} WHERE {time_col} >= ? AND {time_col} < ? AND person IS NOT NULL
                    AND cost_micros IS NOT NULL) e
            LEFT JOIN people p ON p.person = e.person
            GROUP BY e.person, tool, month HAVING sum(cost_micros) > 0
        ), teams AS (
            SELECT team, tool, month, sum(cost) AS total, count(*) AS n FROM m WHERE team IS NOT NULL
            GROUP BY team, tool, month
        )
        SELECT 'month', m.person, m.tool, m.month, m.cost, m.late, m.team, t.total, t.n
        FROM m LEFT JOIN teams t ON t.team = m.team AND t.tool = m.tool AND t.month = m.month
        WHERE m.late >= ? * m.cost
        UNION ALL
        SELECT 'tool', NULL, tool, NULL, sum(cost), NULL, NULL, NULL, count(*) FROM m GROUP BY tool""",
        [*tz_params, *tz_params, *_bounds(start, end), min_late_share])
    # The late days' bounds, once per month.
    windows = {m: (naive_utc(_local_midnight(_next_month(m) - timedelta(days=late_days), tz)),
                   naive_utc(_local_midnight(_next_month(m), tz))) for m in months}
    out, averages = [], {}
    for kind, person, tool, month, cost, late_cost, team, team_total, team_people in rows:
        if kind == "tool":
            averages[tool] = int(cost) / int(team_people)  # (a tool's row: all its person-months, and how many)
        else:
            out.append(MonthSpend(person, tool, month, int(cost), int(late_cost), *windows[month], team=team,
                                  team_total_micros=int(team_total or 0), team_people=int(team_people or 0)))
    out.sort(key=lambda m: (m.person, m.tool, m.month))
    return out, averages


def _local_date(ts: datetime, tz: str) -> date:
    """The local calendar day `ts` falls on (an exclusive `until` at local midnight on the 1st: the 1st, so
    the month before counts as over)."""
    from zoneinfo import ZoneInfo

    return ts.astimezone(ZoneInfo(tz)).date()


def _local_midnight(day: date, tz: str) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))


# --- evidence for the flagged few -------------------------------------------------------------------------


def details(con: Any, since: datetime, until: datetime, bursts: Sequence[tuple[str, str]],
            retry_people: Sequence[PersonFeatures], sessions: Sequence[SessionSpend],
            months: Sequence[MonthSpend]) -> list[Burst]:
    """One pass over the events of the people concerned, for what deciding or showing the candidates needs.
    Returns the `bursts` ((person, prompt hash) pairs from `burst_prompts`) with their figures and the
    owner's mean requests per prompt as baseline; sets, for `retry_people`, how many failed requests were
    sent again with the same prompt (`retried_failures`) and two of them; and the first and last event ids
    of each session and of each month's late days."""
    retry = list(retry_people)
    owners = sorted({p for p, _ in bursts})
    # One target row per thing to look up: (kind, index, person, prompt, session, tool, from, to).
    targets: list[tuple[str, int, str, str | None, str | None, str | None, datetime | None, datetime | None]] = []
    targets += [("burst", i, p, h, None, None, None, None) for i, (p, h) in enumerate(bursts)]
    targets += [("baseline", i, p, None, None, None, None, None) for i, p in enumerate(owners)]
    targets += [("retry", i, f.person, None, None, None, None, None) for i, f in enumerate(retry)]
    targets += [("session", i, s.person, None, s.session, None, None, None) for i, s in enumerate(sessions)]
    targets += [("month", i, m.person, None, None, m.tool, m.late_start, m.late_end) for i, m in enumerate(months)]
    if not targets:
        return []
    columns = [list(c) for c in zip(*targets, strict=True)]
    # `g` is per target, and per prompt for the retry targets (was a failed prompt sent again?); prompts are
    # keyed by their 64-bit hash (an integer groups and counts several times faster than a string), and each
    # aggregate looks only at the rows of the kinds that need it. Then one row per target.
    prompt_key = _hash(con, "prompt_hash")
    rows = _rows(con, f"""
        WITH t AS (SELECT unnest(CAST(? AS VARCHAR[])) AS kind, unnest(CAST(? AS INTEGER[])) AS i,
                          unnest(CAST(? AS VARCHAR[])) AS person, unnest(CAST(? AS VARCHAR[])) AS prompt,
                          unnest(CAST(? AS VARCHAR[])) AS session, unnest(CAST(? AS VARCHAR[])) AS tool,
                          unnest(CAST(? AS TIMESTAMP[])) AS lo, unnest(CAST(? AS TIMESTAMP[])) AS hi),
        j AS (
            SELECT t.kind, t.i, e.prompt_hash, e.status <> 'ok' AS failed, e.id, e.ts, e.cost_micros,
                   {CONTEXT_SQL} AS ctx, e.session
            FROM events e JOIN t ON e.person = t.person
            WHERE e.ts >= ? AND e.ts < ?
              AND (t.kind IN ('baseline', 'retry') OR (t.kind = 'burst' AND e.prompt_hash = t.prompt)
                   OR (t.kind = 'session' AND e.session = t.session)
                   OR (t.kind = 'month' AND e.tool = t.tool AND e.ts >= t.lo AND e.ts < t.hi))
        ),
        g AS (
            SELECT kind, i, CASE WHEN kind = 'retry' AND prompt_hash IS NOT NULL THEN {prompt_key} END AS p,
                   count(*) AS n,
                   count(prompt_hash) FILTER (WHERE kind = 'baseline') AS hashed,
                   count(DISTINCT {prompt_key}) FILTER (WHERE kind = 'baseline' AND prompt_hash IS NOT NULL) AS prompts,
                   count(*) FILTER (WHERE failed AND kind = 'retry') AS failures,
                   min(id) FILTER (WHERE failed AND kind = 'retry') AS failed_lo,
                   max(id) FILTER (WHERE failed AND kind = 'retry') AS failed_hi,
                   min(id) FILTER (WHERE kind <> 'retry') AS lo, max(id) FILTER (WHERE kind <> 'retry') AS hi,
                   min(ts) FILTER (WHERE kind = 'burst') AS first_ts, max(ts) FILTER (WHERE kind = 'burst') AS last_ts,
                   sum(cost_micros) FILTER (WHERE kind = 'burst') AS cost,
                   avg(ctx) FILTER (WHERE kind = 'burst') AS ctx_mean,
                   stddev_pop(ctx) FILTER (WHERE kind = 'burst') AS ctx_sd,
                   min(session) FILTER (WHERE kind = 'burst') AS session
            FROM j GROUP BY 1, 2, 3
        )
        SELECT kind, i, sum(n), sum(hashed), max(prompts),
               coalesce(sum(failures) FILTER (WHERE p IS NOT NULL AND n > 1), 0),
               min(failed_lo) FILTER (WHERE p IS NOT NULL AND n > 1),
               max(failed_hi) FILTER (WHERE p IS NOT NULL AND n > 1), min(lo), max(hi),
               min(first_ts), max(last_ts), sum(cost), max(ctx_mean), max(ctx_sd), min(session)
        FROM g GROUP BY kind, i""", [*columns, *_bounds(since, until)])
    out: list[Burst] = []
    baselines = {}
    for kind, i, n, hashed, prompts, retried, failed_lo, failed_hi, lo, hi, first_ts, last_ts, cost, ctx_mean, ctx_sd, \
            session in rows:
        if kind == "burst":
            person, prompt = bursts[i]
            mean = float(ctx_mean or 0)
            out.append(Burst(person=person, prompt_hash=prompt, requests=int(n), first_ts=first_ts, last_ts=last_ts,
                             cost_micros=int(cost or 0), mean_context=mean,
                             context_cv=float(ctx_sd or 0) / mean if mean else 0.0, session=session,
                             sample_ids=_ids(lo, hi)))
        elif kind == "baseline":
            baselines[owners[i]] = int(hashed) / int(prompts) if prompts else 1.0
        elif kind == "retry":
            retry[i].retried_failures = int(retried)
            retry[i].failed_sample_ids = _ids(failed_lo, failed_hi)
        elif kind == "session":
            sessions[i].sample_ids = _ids(lo, hi)
        else:
            months[i].late_sample_ids = _ids(lo, hi)
    for b in out:
        b.baseline = baselines.get(b.person, 1.0)
    out.sort(key=lambda b: (b.person, b.first_ts))
    return out
