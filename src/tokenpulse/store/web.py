"""The dashboard's records, the same on both backends (migration 0005): signed-in browser sessions,
one-time sign-in links, the org settings an admin edits, and session shares.

Every secret (a cookie, a link, a share token) is stored only as its SHA-256, so a copy of the store
signs nobody in. Like `governance.py`, the SQL is shared and each backend supplies `_rows`, `_run` and
`_insert_many`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from ..events import TOKEN_FIELDS, OutcomeEvent, UsageEvent
from .summaries import (
    EVENT_MEASURES,
    ROLLUP_MEASURES,
    aware,
    counted_events,
    hour_aligned,
    naive_utc,
    time_bounds,
)

_ROLLUP_NAMES = ("requests", *TOKEN_FIELDS, "cost_micros", "unpriced_requests", "first_ts", "last_ts")
"""The measure columns of `usage_hourly`; ROLLUP_MEASURES sums them (and takes the first and last time)."""
_ROLLUP_PARTS = tuple(f"sum({n})" for n in _ROLLUP_NAMES[:-2]) + ("min(first_ts)", "max(last_ts)")


@dataclass(frozen=True)
class WebSession:
    person: str | None
    actor: str
    role: str
    expires_at: datetime


@dataclass(frozen=True)
class SessionSpan:
    session: str
    owner: str | None
    first_hour: datetime
    """UTC, without a zone, as stored."""
    last_hour: datetime


@dataclass(frozen=True)
class SessionShare:
    session: str
    person: str
    created_at: datetime


class WebTables:
    _rows: Any
    _run: Any
    _insert_many: Any
    transaction: Any
    _iter_usage_where: Any
    _iter_outcomes_where: Any
    _q: Any

    # --- browser sessions and sign-in links -----------------------------------------------------

    def add_web_session(self, digest: str, session: WebSession, now: datetime) -> None:
        self._insert_many("web_sessions", ("id", "person", "actor", "role", "created_at", "expires_at"), [
            (digest, session.person, session.actor, session.role, naive_utc(now), naive_utc(session.expires_at))],
            "ON CONFLICT (id) DO NOTHING")

    def web_session(self, digest: str, now: datetime) -> WebSession | None:
        rows = self._rows("SELECT person, actor, role, expires_at FROM web_sessions WHERE id = ? AND expires_at > ?",
                          [digest, naive_utc(now)])
        return WebSession(rows[0][0], rows[0][1], rows[0][2], aware(rows[0][3])) if rows else None

    def end_web_session(self, digest: str, now: datetime) -> None:
        """Sign out; expired sessions are swept at the same time."""
        self._run("DELETE FROM web_sessions WHERE id = ? OR expires_at <= ?", [digest, naive_utc(now)])

    def add_login_link(self, digest: str, person: str, now: datetime, expires_at: datetime) -> None:
        self._insert_many("login_links", ("id", "person", "created_at", "expires_at", "used_at"), [
            (digest, person, naive_utc(now), naive_utc(expires_at), None)], "ON CONFLICT (id) DO NOTHING")

    def use_login_link(self, digest: str, now: datetime) -> str | None:
        """The person a link signs in, once: a used or expired link gives None."""
        with self.transaction():
            rows = self._rows("SELECT person FROM login_links WHERE id = ? AND used_at IS NULL AND expires_at > ?",
                              [digest, naive_utc(now)])
            if not rows:
                return None
            self._run("UPDATE login_links SET used_at = ? WHERE id = ?", [naive_utc(now), digest])
        return rows[0][0]

    # --- org settings ---------------------------------------------------------------------------

    def org_settings(self) -> dict[str, Any]:
        # Values are stored as {"v": value}: PostgreSQL hands JSON back decoded and DuckDB as text, and a
        # bare JSON string would be ambiguous between the two.
        return {name: (msgspec.json.decode(value) if isinstance(value, str | bytes) else value)["v"]
                for name, value in self._rows("SELECT name, value FROM org_settings ORDER BY name")}

    def set_org_setting(self, name: str, value: Any, by: str, now: datetime) -> None:
        self._insert_many("org_settings", ("name", "value", "updated_at", "updated_by"), [
            (name, msgspec.json.encode({"v": value}).decode(), naive_utc(now), by)],
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, "
            "updated_by = excluded.updated_by")

    # --- session shares -------------------------------------------------------------------------

    def add_share(self, digest: str, session: str, person: str, now: datetime) -> None:
        self._insert_many("session_shares", ("id", "session", "person", "created_at", "revoked_at"), [
            (digest, session, person, naive_utc(now), None)], "ON CONFLICT (id) DO NOTHING")

    def share(self, digest: str) -> SessionShare | None:
        rows = self._rows("SELECT session, person, created_at FROM session_shares WHERE id = ? AND revoked_at IS NULL",
                          [digest])
        return SessionShare(rows[0][0], rows[0][1], aware(rows[0][2])) if rows else None

    def revoke_shares(self, session: str, person: str, now: datetime) -> None:
        self._run("UPDATE session_shares SET revoked_at = ? WHERE session = ? AND person = ? AND revoked_at IS NULL",
                  [naive_utc(now), session, person])

    def shared_sessions(self, person: str) -> set[str]:
        return {r[0] for r in self._rows(
            "SELECT DISTINCT session FROM session_shares WHERE person = ? AND revoked_at IS NULL", [person])}

    # --- one session's requests and outcomes ----------------------------------------------------

    def session_span(self, session: str) -> SessionSpan | None:
        """Whose session it is and the hours it spans (from the summaries), or None when there is no such
        session. Its requests and outcomes are then read from those hours only, which the engine can skip
        to, instead of from every stored event."""
        rows = self._rows("SELECT person, min(hour), max(hour) FROM usage_hourly WHERE session = ? "
                          "GROUP BY person ORDER BY 2 LIMIT 1", [session])
        return SessionSpan(session, rows[0][0], rows[0][1], rows[0][2]) if rows else None

    def session_usage(self, span: SessionSpan) -> list[UsageEvent]:
        return list(self._iter_usage_where(self._q("WHERE ts >= ? AND ts < ? AND session = ? ORDER BY ts, id"),
                                           [span.first_hour, span.last_hour + timedelta(hours=1), span.session]))

    def session_outcomes(self, span: SessionSpan) -> list[OutcomeEvent]:
        """A session's outcomes: within a day of its last request (a commit or PR follows the work)."""
        return list(self._iter_outcomes_where(
            self._q("WHERE ts >= ? AND ts < ? AND session = ? ORDER BY ts, id"),
            [span.first_hour, span.last_hour + timedelta(days=1), span.session]))

    # --- the dashboard's grouped figures ---------------------------------------------------------

    def usage_grouped(self, dims: Sequence[str], *, since: datetime | None, until: datetime | None, tz: str = "UTC",
                      scope: Scope | None = None, person: str | None = None) -> list[dict[str, Any]]:
        """Usage summed by `dims` (any of day, tool, model, person, provider, project, session, team, source,
        confidence; `day` is
        the local date in `tz`, `team` the person's team in the directory), within a viewer's `scope` (None:
        everyone) and optionally for one person. Grouped by team, each row also counts its `people` (the
        people with usage, the unknown person counting as one)."""
        use_rollup = hour_aligned(tz)
        table, time_col = ("usage_hourly", "hour") if use_rollup else (counted_events(since, until), "ts")
        columns = {"day": f"CAST(timezone(?, timezone('UTC', {time_col})) AS DATE)",
                   "model": "model" if use_rollup else "coalesce(priced_model, model)",
                   **{d: d for d in ("tool", "person", "provider", "project", "session", "team", "source",
                                     "confidence")}}
        unknown = [d for d in dims if d not in columns]
        if unknown:
            raise ValueError(f"cannot group usage by {unknown}")
        keys = [columns[d] for d in dims]
        params: list[Any] = [tz] if "day" in dims else []
        where_sql, params_where = _where(time_col, since, until, scope, person)
        measures = ROLLUP_MEASURES if use_rollup else EVENT_MEASURES
        if "team" in dims:
            # Summed per team in the query: tens of rows instead of one per person.
            table = _with_team(table)
            measures += ", count(DISTINCT person) + max(CASE WHEN person IS NULL THEN 1 ELSE 0 END)"
        select_keys = "".join(f"{k} AS k{i}, " for i, k in enumerate(keys))
        group = f"GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
        if use_rollup and "day" in dims and "team" not in dims:
            # Converting every summary row's hour to a local day costs more than the whole sum: sum per
            # hour first (hours are few), then convert those hours and sum them into days.
            inner_keys = "".join(f"{'hour' if d == 'day' else columns[d]} AS k{i}, " for i, d in enumerate(dims))
            sums = ", ".join(f"{m} AS {n}" for m, n in zip(_ROLLUP_PARTS, _ROLLUP_NAMES, strict=True))
            outer_keys = "".join(f"{columns['day'].replace(time_col, f'k{i}') if d == 'day' else f'k{i}'} AS k{i}, "
                                 for i, d in enumerate(dims))
            sql = (f"SELECT {outer_keys}{measures} FROM (SELECT {inner_keys}{sums} FROM {table} {where_sql} {group}) "
                   f"AS per_hour {group}")
        else:
            sql = f"SELECT {select_keys}{measures} FROM {table} {where_sql} {group}"
        rows = self._rows(sql, params + params_where)
        names = ("requests", *TOKEN_FIELDS, "cost_micros", "unpriced_requests", "first_ts", "last_ts",
                 *(("people",) if "team" in dims else ()))
        out = []
        for r in rows:
            item = dict(zip(dims, r[:len(dims)], strict=True))
            for name, value in zip(names, r[len(dims):], strict=True):
                item[name] = aware(value) if name.endswith("_ts") else int(value or 0)
            out.append(item)
        return out

    def outcomes_grouped(self, dims: Sequence[str], *, since: datetime | None, until: datetime | None,
                         scope: Scope | None = None, person: str | None = None) -> list[dict[str, Any]]:
        """Outcome counts by `dims` (person, type, tool, project, session, team: the person's team in the
        directory)."""
        unknown = [d for d in dims if d not in ("person", "type", "tool", "project", "session", "team")]
        if unknown:
            raise ValueError(f"cannot group outcomes by {unknown}")
        where_sql, params = _where("ts", since, until, scope, person)
        keys = ", ".join(dims)
        table = _with_team("outcomes") if "team" in dims else "outcomes"
        rows = self._rows(f"SELECT {keys}, sum(count) FROM {table} {where_sql} GROUP BY {keys}", params)
        return [{**dict(zip(dims, r[:-1], strict=True)), "count": int(r[-1])} for r in rows]


def _where(time_col: str, since: datetime | None, until: datetime | None, scope: Scope | None,
           person: str | None) -> tuple[str, list[Any]]:
    """The WHERE clause of the grouped figures: the time bounds, one person, a viewer's scope."""
    clauses, params = time_bounds(time_col, since, until)
    if person is not None:
        clauses.append("person = ?")
        params.append(person)
    narrow(clauses, params, scope)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def _with_team(table: str) -> str:
    """`table` with each row's team from the directory (NULL for people not in it)."""
    inner = table.removesuffix(" AS events")  # the events that count are a subquery: aliased `t` here
    return f"(SELECT t.*, p.team FROM {inner} t LEFT JOIN people p ON p.person = t.person) AS with_team"


@dataclass(frozen=True)
class Scope:
    """Whose usage a viewer's pages cover: everyone in `teams`, plus `people` by name."""

    teams: tuple[str, ...] = ()
    people: tuple[str, ...] = ()

    def sql(self) -> tuple[str, list[Any]]:
        parts, params = [], []
        if self.teams:
            parts.append(f"person IN (SELECT person FROM people WHERE team IN ({', '.join('?' for _ in self.teams)}))")
            params.extend(self.teams)
        if self.people:
            parts.append(f"person IN ({', '.join('?' for _ in self.people)})")
            params.extend(self.people)
        return ("(" + " OR ".join(parts) + ")" if parts else "FALSE"), params


def narrow(clauses: list[str], params: list[Any], scope: Scope | None) -> None:
    """Add the condition that keeps only the people of a viewer's `scope` (None: everyone)."""
    if scope is not None:
        scope_sql, scope_params = scope.sql()
        clauses.append(scope_sql)
        params.extend(scope_params)
