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
# Hourly summary rows (the columns of `usage_hourly`, in order) from the events in some hours.
ROLLUP_SELECT = f"""
    SELECT date_trunc('hour', ts) AS hour, person, tool, provider, coalesce(priced_model, model) AS model,
           project, session, source, confidence, {EVENT_MEASURES}
    FROM events
"""
ROLLUP_GROUP_BY = "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
# Whether an event counts in totals (`counted`): a vendor's own figures always do; another source's event does
# unless a vendor reported usage for its person, tool and UTC day (`vendor_days`, whose figures then stand for
# it), and a local copy (logs, OpenTelemetry, imports) of a request the gateway metered does not: the gateway's
# figure, read from the upstream's answer, is the better one. Either way the event stays stored, labelled.
_VENDOR_RULE = """(source = 'vendor_api' OR NOT EXISTS (
    SELECT 1 FROM vendor_days v
    WHERE v.person = events.person AND v.tool = events.tool AND v.day = CAST(events.ts AS DATE)))"""


def counted(lo: str, hi: str) -> str:
    """The condition on `events` rows that count; `lo` and `hi` are SQL bounds of their times (a gateway copy
    of a request is looked for within an hour of them)."""
    return f"""({_VENDOR_RULE} AND NOT (source NOT IN ('gateway', 'vendor_api') AND request_id IS NOT NULL
        AND request_id IN (SELECT g.request_id FROM events g WHERE g.source = 'gateway' AND g.request_id IS NOT NULL
                           AND g.ts >= {lo} - INTERVAL '1 hour' AND g.ts < {hi} + INTERVAL '1 hour')))"""


def _timestamp(ts: datetime | None, default: str) -> str:
    return f"TIMESTAMP '{naive_utc(ts).isoformat(sep=' ')}'" if ts is not None else f"TIMESTAMP '{default}'"


def counted_within(since: datetime | None, until: datetime | None) -> str:
    """`counted` for events in [since, until) (either unbounded)."""
    return counted(_timestamp(since, "1970-01-01 00:00:00"), _timestamp(until, "9999-01-01 00:00:00"))


def counted_events(since: datetime | None, until: datetime | None) -> str:
    """The events that count in [since, until) as a table named `events`, for the queries that sum events
    rather than the hourly summaries (the caller still bounds `ts`)."""
    return f"(SELECT * FROM events WHERE {counted_within(since, until)}) AS events"


# The summaries of the hours listed in `dirty_hours`, rebuilt from their events (after deleting the old ones).
REBUILD_DIRTY_HOURS = f"""
    INSERT INTO usage_hourly {ROLLUP_SELECT}
    WHERE ts >= (SELECT min(hour) FROM dirty_hours)
      AND ts < (SELECT max(hour) FROM dirty_hours) + INTERVAL '1 hour'
      AND date_trunc('hour', ts) IN (SELECT hour FROM dirty_hours)
      AND {counted("(SELECT min(hour) FROM dirty_hours)", "(SELECT max(hour) FROM dirty_hours) + INTERVAL '1 hour'")}
    {ROLLUP_GROUP_BY}"""


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
                  placeholder: str = "?", *, counted_only: bool = False) -> tuple[list[str], list[Any]]:
    """`time_bounds` on `ts`, and only these people's events when `people` is given (an empty list: none);
    `counted_only`: only the events totals count (`counted`)."""
    clauses, params = time_bounds("ts", since, until, placeholder)
    if counted_only:
        clauses.append(counted_within(since, until))
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
