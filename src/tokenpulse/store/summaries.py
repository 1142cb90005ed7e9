"""The SQL both backends share: hourly summaries and the report query over them.

DuckDB and PostgreSQL agree on everything used here (`timezone()`, `date_trunc`, `FILTER`,
positional `GROUP BY`); they differ in the parameter placeholder and the list aggregate, which the
caller passes in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from ..events import TOKEN_FIELDS
from . import UsageQuery, UsageRow

_TOKEN_SUMS = ", ".join(f"sum({name})" for name in TOKEN_FIELDS)
# A summary row's measures from events: requests, tokens, cost, unpriced requests, first and last time.
EVENT_MEASURES = (f"count(*), {_TOKEN_SUMS}, coalesce(sum(cost_micros), 0), "
                  "count(*) FILTER (WHERE cost_micros IS NULL), min(ts), max(ts)")
# The same from hourly summary rows.
ROLLUP_MEASURES = (f"sum(requests), {_TOKEN_SUMS}, sum(cost_micros), sum(unpriced_requests), "
                   "min(first_ts), max(last_ts)")
# Which events count in totals (`counted_table`): a vendor's own figures always do; another source's event
# does unless a vendor reported usage for its person, tool and UTC day (`vendor_days`, whose figures then
# stand for it); and a local copy (logs, OpenTelemetry, imports) of a request the gateway metered does not:
# the gateway's figure, read from the upstream's answer, is the better one. Either way the event stays
# stored, labelled. (A LEFT JOIN on `vendor_days`: DuckDB runs a correlated NOT EXISTS ten times slower.)


def counted_table(lo: str, hi: str) -> str:
    """The events that count, as a table named `events`; `lo` and `hi` are SQL bounds of the times the caller
    reads (a gateway copy of a request is looked for within an hour of them)."""
    return f"""(SELECT e.* FROM events e
        LEFT JOIN vendor_days v ON v.person = e.person AND v.tool = e.tool AND v.day = CAST(e.ts AS DATE)
        WHERE (e.source = 'vendor_api' OR v.day IS NULL)
          AND NOT (e.source NOT IN ('gateway', 'vendor_api') AND e.request_id IS NOT NULL AND e.request_id IN (
              SELECT g.request_id FROM events g WHERE g.source = 'gateway' AND g.request_id IS NOT NULL
                AND g.ts >= {lo} - INTERVAL '1 hour' AND g.ts < {hi} + INTERVAL '1 hour'))) AS events"""


def _timestamp(ts: datetime | None, default: str) -> str:
    return f"TIMESTAMP '{naive_utc(ts).isoformat(sep=' ')}'" if ts is not None else f"TIMESTAMP '{default}'"


def counted_events(since: datetime | None, until: datetime | None) -> str:
    """`counted_table` for a caller reading [since, until) (either unbounded; the caller still bounds `ts`)."""
    return counted_table(_timestamp(since, "1970-01-01 00:00:00"), _timestamp(until, "9999-01-01 00:00:00"))


# The summaries of the hours listed in `dirty_hours` (the columns of `usage_hourly`, in order), rebuilt from
# the events that count in those hours (after deleting the old ones).
_DIRTY_FROM = "(SELECT min(hour) FROM dirty_hours)"
_DIRTY_UNTIL = "(SELECT max(hour) FROM dirty_hours) + INTERVAL '1 hour'"
REBUILD_DIRTY_HOURS = f"""
    INSERT INTO usage_hourly
    SELECT date_trunc('hour', ts) AS hour, person, tool, provider, coalesce(priced_model, model) AS model,
           project, session, source, confidence, {EVENT_MEASURES}
    FROM {counted_table(_DIRTY_FROM, _DIRTY_UNTIL)}
    WHERE ts >= {_DIRTY_FROM} AND ts < {_DIRTY_UNTIL}
      AND date_trunc('hour', ts) IN (SELECT hour FROM dirty_hours)
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"""


def naive_utc(ts: datetime | None) -> datetime | None:
    """Stored times are UTC without a zone."""
    return None if ts is None else ts.astimezone(UTC).replace(tzinfo=None)


def aware(ts: datetime | None) -> datetime | None:
    return None if ts is None else ts.replace(tzinfo=UTC)


def time_bounds(column: str, since: datetime | None, until: datetime | None,
                placeholder: str = "?") -> tuple[list[str], list[Any]]:
    """`column >= since AND column < until` clauses (either may be absent), with their parameters."""
    clauses, params = [], []
    if since is not None:
        clauses.append(f"{column} >= {placeholder}")
        params.append(naive_utc(since))
    if until is not None:
        clauses.append(f"{column} < {placeholder}")
        params.append(naive_utc(until))
    return clauses, params


def people_bounds(since: datetime | None, until: datetime | None, people: Sequence[str] | None,
                  placeholder: str = "?") -> tuple[list[str], list[Any]]:
    """`time_bounds` on `ts`, and only these people's events when `people` is given (an empty list: none)."""
    clauses, params = time_bounds("ts", since, until, placeholder)
    if people is not None:
        clauses.append(f"person IN ({', '.join([placeholder] * len(people))})" if people else "FALSE")
        params.extend(people)
    return clauses, params


def where(clauses: list[str], params: list[Any]) -> tuple[str, list[Any]]:
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


@lru_cache(maxsize=64)
def hour_aligned(tz: str) -> bool:
    """Whether the zone's UTC offset has been a whole number of hours since 2000 (and is planned to be).

    Hourly summaries can only be regrouped into local days when day boundaries fall on UTC hours."""
    zone = ZoneInfo(tz)
    moment = datetime(2000, 1, 1, tzinfo=UTC)
    end = datetime(2040, 1, 1, tzinfo=UTC)
    while moment < end:
        offset = moment.astimezone(zone).utcoffset()
        if offset is not None and offset.total_seconds() % 3600:
            return False
        moment += timedelta(days=15)
    return True


def usage_sql(query: UsageQuery, placeholder: str, list_agg: str) -> tuple[str, list[Any]]:
    """The report query: usage summed per group key, provider and model (see `usage_row` for the columns)."""
    # Hourly summaries serve any zone whose day boundaries fall on UTC hours; a +05:30 zone needs the
    # events themselves for local days and for date bounds.
    unbounded = query.since is None and query.until is None
    use_rollup = hour_aligned(query.tz) or (unbounded and query.group not in ("day", "week", "month"))
    table, time_col = ("usage_hourly", "hour") if use_rollup else (counted_events(query.since, query.until), "ts")
    local = f"timezone({placeholder}, timezone('UTC', {time_col}))"
    params: list[Any] = []
    if query.group in ("day", "week", "month"):
        shift = (7 - query.week_start) % 7 if query.group == "week" else 0
        truncated = {"day": local, "month": f"date_trunc('month', {local})",
                     "week": f"date_trunc('week', {local} + INTERVAL '{shift} days') - INTERVAL '{shift} days'"}
        key = f"CAST({truncated[query.group]} AS DATE)"
        params.append(query.tz)
    elif query.group == "hour":
        key = time_col if use_rollup else "date_trunc('hour', ts)"
    elif query.group == "person_tool":
        key = "coalesce(person, '') || chr(31) || tool"
    else:  # session, person, tool, project: a column of both tables
        key = query.group
    measures = ROLLUP_MEASURES if use_rollup else EVENT_MEASURES
    model = "model" if use_rollup else "coalesce(priced_model, model)"
    clauses, filter_params = time_bounds(time_col, query.since, query.until, placeholder)
    for column, values in (("tool", query.tools), ("project", query.projects), ("person", query.people)):
        if values:
            clauses.append(f"{column} IN ({', '.join([placeholder] * len(values))})")
            filter_params.extend(values)
    where_sql, filter_params = where(clauses, filter_params)
    sql = f"""
        SELECT {key} AS k, provider, {model} AS m, max(project), {measures}, {list_agg}(DISTINCT tool ORDER BY tool)
        FROM {table} {where_sql}
        GROUP BY 1, 2, 3
        ORDER BY 1 NULLS FIRST, 2 NULLS FIRST, 3 NULLS FIRST"""
    return sql, params + filter_params


def usage_row(r: tuple[Any, ...]) -> UsageRow:
    """One row of `usage_sql`'s result."""
    end = 5 + len(TOKEN_FIELDS)
    return UsageRow(
        key=aware(r[0]) if isinstance(r[0], datetime) else r[0], provider=r[1], model=r[2], project=r[3],
        requests=int(r[4]), **{name: int(value) for name, value in zip(TOKEN_FIELDS, r[5:end], strict=True)},
        cost_micros=int(r[end]), unpriced_requests=int(r[end + 1]), first_ts=aware(r[end + 2]),
        last_ts=aware(r[end + 3]), tools=list(r[end + 4]),
    )
