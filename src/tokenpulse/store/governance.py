"""Governance records, the same on both backends: circuit-breaker incidents, budget overrides and the audit
log (migration 0003), and the conversation queue (0004). Live counters are not here; they live in memory
or Redis.

Like `directory.py`, the SQL is shared and each backend supplies `_rows`, `_run` and `_insert_many`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from .summaries import aware, counted_events, naive_utc, time_bounds
from .web import narrow


@dataclass
class Incident:
    """One trip of a person's circuit breaker, with the evidence and how it ended."""

    person: str
    day: str
    cause: str
    tripped_at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
    shadow: bool = False
    reenabled_at: datetime | None = None
    reenabled_by: str | None = None
    reenable_reason: str | None = None
    id: str = field(default_factory=lambda: _new_id())

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "person": self.person, "day": self.day, "cause": self.cause,
                "evidence": self.evidence, "shadow": self.shadow, "tripped_at": self.tripped_at.isoformat(),
                "reenabled_at": self.reenabled_at.isoformat() if self.reenabled_at else None,
                "reenabled_by": self.reenabled_by, "reenable_reason": self.reenable_reason}


@dataclass
class OverrideRecord:
    scope: str
    period: str
    raise_micros: int
    reason: str
    granted_by: str
    granted_at: datetime
    id: str = field(default_factory=lambda: _new_id())


@dataclass
class AuditEntry:
    ts: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: _new_id())

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "ts": self.ts.isoformat(), "actor": self.actor, "action": self.action,
                "subject": self.subject, "detail": self.detail}


def _new_id() -> str:
    """Ids that sort in the order they were made (within a process), so entries of the same second keep it."""
    return f"{time.time_ns():016x}{secrets.token_hex(4)}"


@dataclass
class ConversationItem:
    """One check-in a leader should have, with why and the evidence, and where it stands."""

    period: str
    person: str
    reasons: list[str]
    evidence: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    team: str | None = None
    status: str = "open"
    notes: str | None = None
    scheduled_for: str | None = None
    updated_by: str | None = None
    id: str = ""

    def __post_init__(self) -> None:
        self.id = self.id or f"{self.period}:{self.person}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "period": self.period, "person": self.person, "team": self.team,
                "reasons": self.reasons, "status": self.status, "notes": self.notes,
                "scheduled_for": self.scheduled_for, "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat(), "updated_by": self.updated_by, "evidence": self.evidence}


_CONVERSATION_COLUMNS = ("id", "period", "person", "team", "reasons", "evidence", "status", "notes", "scheduled_for",
                         "created_at", "updated_at", "updated_by")
_INCIDENT_COLUMNS = ("id", "person", "day", "cause", "evidence", "shadow", "tripped_at", "reenabled_at",
                     "reenabled_by", "reenable_reason")


def conversation_rows(items: Sequence[ConversationItem]) -> list[tuple[Any, ...]]:
    """Items as rows of `_CONVERSATION_COLUMNS`."""
    return [(i.id, i.period, i.person, i.team, _json(i.reasons), _json(i.evidence), i.status, i.notes,
             i.scheduled_for, naive_utc(i.created_at), naive_utc(i.updated_at), i.updated_by) for i in items]


def _json(value: dict[str, Any]) -> str:
    return msgspec.json.encode(value).decode()


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else list(value)


def _dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else dict(value)


class GovernanceTables:
    _rows: Any
    _run: Any
    _insert_many: Any
    transaction: Any
    refresh_rollups: Any

    # --- incidents ------------------------------------------------------------------------------

    def record_incident(self, incident: Incident) -> None:
        self._insert_many("incidents", _INCIDENT_COLUMNS, [(
            incident.id, incident.person, incident.day, incident.cause, _json(incident.evidence), incident.shadow,
            naive_utc(incident.tripped_at), naive_utc(incident.reenabled_at), incident.reenabled_by,
            incident.reenable_reason)], "ON CONFLICT (id) DO NOTHING")

    def close_incident(self, person: str, day: str, by: str, reason: str, at: datetime) -> Incident | None:
        """Mark the person's open (not shadow) incident of that day re-enabled; returns it, or None."""
        with self.transaction():
            open_ = self.incidents(person=person, day=day, open_only=True)
            if not open_:
                return None
            incident = open_[-1]
            self._run("UPDATE incidents SET reenabled_at = ?, reenabled_by = ?, reenable_reason = ? WHERE id = ?",
                      [naive_utc(at), by, reason, incident.id])
        incident.reenabled_at, incident.reenabled_by, incident.reenable_reason = at, by, reason
        return incident

    def incidents(self, person: str | None = None, day: str | None = None, open_only: bool = False,
                  limit: int = 1000) -> list[Incident]:
        where, params = ["1 = 1"], []
        if person is not None:
            where.append("person = ?")
            params.append(person)
        if day is not None:
            where.append("day = ?")
            params.append(day)
        if open_only:
            where.append("reenabled_at IS NULL AND NOT shadow")
        rows = self._rows(f"SELECT {', '.join(_INCIDENT_COLUMNS)} FROM incidents WHERE {' AND '.join(where)} "
                          f"ORDER BY tripped_at, id LIMIT {int(limit)}", params)
        return [Incident(id=r[0], person=r[1], day=r[2], cause=r[3], evidence=_dict(r[4]), shadow=bool(r[5]),
                         tripped_at=aware(r[6]), reenabled_at=aware(r[7]) if r[7] else None, reenabled_by=r[8],
                         reenable_reason=r[9]) for r in rows]

    # --- overrides ------------------------------------------------------------------------------

    def add_override(self, override: OverrideRecord) -> None:
        self._insert_many("overrides", ("id", "scope", "period", "raise_micros", "reason", "granted_by", "granted_at"),
                          [(override.id, override.scope, override.period, override.raise_micros, override.reason,
                            override.granted_by, naive_utc(override.granted_at))], "ON CONFLICT (id) DO NOTHING")

    def overrides_for(self, period: str, scopes: Sequence[str] | None = None) -> list[OverrideRecord]:
        """The overrides of one period, of the given scopes (None: of every scope)."""
        if scopes is not None and not scopes:
            return []
        where = f" AND scope IN ({', '.join('?' for _ in scopes)})" if scopes is not None else ""
        rows = self._rows(f"""SELECT id, scope, period, raise_micros, reason, granted_by, granted_at FROM overrides
                              WHERE period = ?{where} ORDER BY granted_at, id""", [period, *(scopes or ())])
        return [OverrideRecord(id=r[0], scope=r[1], period=r[2], raise_micros=r[3], reason=r[4], granted_by=r[5],
                               granted_at=aware(r[6])) for r in rows]

    # --- audit log ------------------------------------------------------------------------------

    def audit(self, entry: AuditEntry) -> None:
        self._insert_many("audit_log", ("id", "ts", "actor", "action", "subject", "detail"),
                          [(entry.id, naive_utc(entry.ts), entry.actor, entry.action, entry.subject,
                            _json(entry.detail))], "ON CONFLICT (id) DO NOTHING")

    def audit_log(self, subject: str | None = None, limit: int = 1000, newest_first: bool = False
                  ) -> list[AuditEntry]:
        """Entries about `subject` (None: all), oldest first, or the `limit` newest first."""
        where, params = ("WHERE subject = ?", [subject]) if subject is not None else ("", [])
        order = "ts DESC, id DESC" if newest_first else "ts, id"
        rows = self._rows(f"SELECT id, ts, actor, action, subject, detail FROM audit_log {where} "
                          f"ORDER BY {order} LIMIT {int(limit)}", params)
        return [AuditEntry(id=r[0], ts=aware(r[1]), actor=r[2], action=r[3], subject=r[4], detail=_dict(r[5]))
                for r in rows]

    # --- the conversation queue -----------------------------------------------------------------

    def save_conversations(self, items: Sequence[ConversationItem]) -> None:
        """Insert new items; for items already there, refresh the reasons and evidence and keep where they stand
        (one upsert, however many items)."""
        self._insert_many("conversations", _CONVERSATION_COLUMNS, conversation_rows(items),
            "ON CONFLICT (id) DO UPDATE SET reasons = excluded.reasons, evidence = excluded.evidence, "
            "team = excluded.team")

    def conversations(self, period: str | None = None, status: str | None = None, person: str | None = None,
                      item_id: str | None = None, *, scope: Any = None, people: Sequence[str] | None = None,
                      limit: int | None = None, offset: int = 0) -> list[ConversationItem]:
        """Items by period, status, person or id; `scope` (a `store.web.Scope`) and `people` narrow them to
        whom a viewer may see, and `limit`/`offset` page through them (newest period first, then status and
        person)."""
        where, params = self._conversation_filter(period, status, person, item_id, scope, people)
        page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        rows = self._rows(f"SELECT {', '.join(_CONVERSATION_COLUMNS)} FROM conversations WHERE {where} "
                          f"ORDER BY period DESC, status, person{page}", params)
        return [ConversationItem(id=r[0], period=r[1], person=r[2], team=r[3], reasons=_list(r[4]),
                                 evidence=_dict(r[5]), status=r[6], notes=r[7], scheduled_for=r[8],
                                 created_at=aware(r[9]), updated_at=aware(r[10]), updated_by=r[11]) for r in rows]

    def conversation_counts(self, period: str | None = None, *, scope: Any = None) -> dict[str, int]:
        """How many items there are in each status (nothing else is read)."""
        where, params = self._conversation_filter(period, None, None, None, scope, None)
        return {status: int(n) for status, n in self._rows(
            f"SELECT status, count(*) FROM conversations WHERE {where} GROUP BY status ORDER BY status", params)}

    @staticmethod
    def _conversation_filter(period: str | None, status: str | None, person: str | None, item_id: str | None,
                             scope: Any, people: Sequence[str] | None) -> tuple[str, list[Any]]:
        where, params = ["1 = 1"], []
        for column, value in (("period", period), ("status", status), ("person", person), ("id", item_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        narrow(where, params, scope)
        if people is not None:
            where.append(f"person IN ({', '.join('?' for _ in people)})" if people else "FALSE")
            params.extend(people)
        return " AND ".join(where), params

    def update_conversation(self, item: ConversationItem) -> None:
        self._run("UPDATE conversations SET status = ?, notes = ?, scheduled_for = ?, updated_at = ?, updated_by = ? "
                  "WHERE id = ?", [item.status, item.notes, item.scheduled_for, naive_utc(item.updated_at),
                                   item.updated_by, item.id])

    def outcome_counts(self, since: datetime | None, until: datetime | None,
                       people: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
        """Outcome counts per person and type over [since, until) (of `people` only, when given)."""
        clauses: list[str] = []
        params: list[Any] = []
        if people is not None:
            clauses.append("person IN (SELECT unnest(CAST(? AS VARCHAR[])))")
            params.append(list(people))
        _add_bounds(clauses, params, since, until)
        where = f"WHERE person IS NOT NULL{''.join(' AND ' + c for c in clauses)}"
        counts: dict[str, dict[str, int]] = {}
        for person, kind, total in self._rows(f"SELECT person, type, sum(count) FROM outcomes {where} GROUP BY 1, 2",
                                              params):
            counts.setdefault(person, {})[kind] = int(total)
        return counts

    def outcome_lines(self, since: datetime | None, until: datetime | None, kinds: Sequence[str], *,
                      scope: Any = None) -> list[tuple[str, str, bool, bool, str | None, int]]:
        """Outcome counts of `kinds` over [since, until) per (person, type, from git, marked AI-assisted, tool):
        what outcomes-per-dollar needs to keep git and telemetry apart (`extra.ai_assisted` is set by the git
        source from commit trailers). `scope` (a `store.web.Scope`): only those people's."""
        if not kinds:
            return []
        clauses, params = ["person IS NOT NULL", f"type IN ({', '.join('?' for _ in kinds)})"], list(kinds)
        narrow(clauses, params, scope)
        _add_bounds(clauses, params, since, until)
        # `->>` reads a JSON member as text on both backends (DuckDB JSON, PostgreSQL JSONB).
        rows = self._rows(f"""SELECT person, type, source = 'git', coalesce(extra->>'ai_assisted', 'false') = 'true',
                                     tool, sum(count)
                              FROM outcomes WHERE {' AND '.join(clauses)} GROUP BY 1, 2, 3, 4, 5""", params)
        return [(r[0], r[1], bool(r[2]), bool(r[3]), r[4], int(r[5])) for r in rows]

    def outcome_totals(self, since: datetime | None, until: datetime | None, ai_tools: Sequence[str], *,
                       scope: Any = None, by: str = "person") -> list[dict[str, Any]]:
        """Commits, pull requests, lines and AI-assisted lines per person (or per team of the directory, `by`),
        under the counting rules of `insights.outcomes` worked out per person in SQL (one pass, however many
        people): for each kind, git is the record when the person has git outcomes of it; lines changed are
        git's lines if git reported any, and AI-assisted lines then the larger of git's marked lines and the
        AI tools' own telemetry lines (`ai_tools`), capped at the lines changed. `tests/web/test_data.py`
        checks it against the Python rules."""
        clauses, params = ["person IS NOT NULL",
                           "type IN ('commit', 'pull_request', 'lines_added', 'lines_removed')"], []
        _add_bounds(clauses, params, since, until)
        narrow(clauses, params, scope)
        tools = ", ".join("?" for _ in ai_tools) or "NULL"
        ai = (f"(coalesce(extra->>'ai_assisted', 'false') = 'true' OR (source <> 'git' AND tool IN ({tools})))")

        def side(kind: str, git: bool) -> str:
            return f"coalesce(sum(n) FILTER (WHERE {'' if git else 'NOT '}git AND type = '{kind}'), 0)"

        lines_git = f"({side('lines_added', True)} + {side('lines_removed', True)})"
        per_person = f"""
            WITH o AS (
                SELECT person, type, source = 'git' AS git, sum(count) AS n,
                       sum(count) FILTER (WHERE type IN ('lines_added', 'lines_removed') AND {ai}) AS ai
                FROM outcomes WHERE {' AND '.join(clauses)} GROUP BY 1, 2, 3)
            SELECT person,
                   CASE WHEN bool_or(git AND type = 'commit') THEN {side('commit', True)}
                        ELSE {side('commit', False)} END AS commits,
                   CASE WHEN bool_or(git AND type = 'pull_request') THEN {side('pull_request', True)}
                        ELSE {side('pull_request', False)} END AS pull_requests,
                   bool_or(git AND type IN ('lines_added', 'lines_removed')) AS git_lines,
                   {side('lines_added', True)} AS added_git, {side('lines_added', False)} AS added_other,
                   {side('lines_removed', True)} AS removed_git, {side('lines_removed', False)} AS removed_other,
                   {lines_git} AS lines_git,
                   coalesce(sum(ai) FILTER (WHERE git), 0) AS ai_git, coalesce(sum(ai) FILTER (WHERE NOT git), 0) AS ai_other
            FROM o GROUP BY person"""
        picked = """
            SELECT person, commits, pull_requests,
                   CASE WHEN git_lines THEN added_git ELSE added_other END AS lines_added,
                   CASE WHEN git_lines THEN removed_git ELSE removed_other END AS lines_removed,
                   CASE WHEN git_lines THEN least(lines_git, greatest(ai_git, ai_other)) ELSE ai_other END AS ai_lines
            FROM per_person"""
        measures = "commits, pull_requests, lines_added, lines_removed, ai_lines"
        if by == "team":
            sql = (f"WITH per_person AS ({per_person}), picked AS ({picked}) "
                   f"SELECT p.team, {', '.join(f'sum({m})' for m in measures.split(', '))} "
                   "FROM picked LEFT JOIN people p USING (person) GROUP BY 1")
        elif by == "person":
            sql = f"WITH per_person AS ({per_person}) {picked}"
        else:
            raise ValueError(f"outcome totals are by person or team, not {by!r}")
        rows = self._rows(sql, [*ai_tools, *params])
        return [{by: r[0], **{m: int(v or 0) for m, v in zip(measures.split(", "), r[1:], strict=True)}}
                for r in rows]

    def spend_breakdown(self, since: datetime, until: datetime,
                        people: Sequence[str] | None = None) -> list[tuple[Any, ...]]:
        """Usage per (person, tool, model) over [since, until), for `people` only when given: (person, tool,
        model, requests, input, output, cache read, cache write tokens, cost micros, unpriced requests).

        Read from the hourly summaries when both bounds fall on whole UTC hours (as the bounds of local days
        do in every whole-hour zone), else from the events. What the conversation queue's evidence needs,
        for thousands of people, in one grouped query."""
        table, time_col, model, requests, unpriced = self._usage_table(since, until)
        only = "" if people is None else "AND person IN (SELECT unnest(CAST(? AS VARCHAR[])))"
        rows = self._rows(f"""
            SELECT person, tool, {model}, {requests}, sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
                   sum(cache_write_tokens), coalesce(sum(cost_micros), 0), {unpriced}
            FROM {table} WHERE {time_col} >= ? AND {time_col} < ? AND person IS NOT NULL {only}
            GROUP BY 1, 2, 3""", [naive_utc(since), naive_utc(until), *([list(people)] if people is not None else [])])
        return [(r[0], r[1], r[2], *(int(v) for v in r[3:])) for r in rows]

    def spend_per_person(self, since: datetime, until: datetime) -> dict[str, int]:
        """List spend (micro-USD) per person over [since, until), from the hourly summaries where they fit."""
        table, time_col, *_ = self._usage_table(since, until)
        rows = self._rows(f"""SELECT person, coalesce(sum(cost_micros), 0) FROM {table}
                              WHERE {time_col} >= ? AND {time_col} < ? AND person IS NOT NULL GROUP BY 1""",
                          [naive_utc(since), naive_utc(until)])
        return {person: int(micros) for person, micros in rows}

    def _usage_table(self, since: datetime, until: datetime) -> tuple[str, str, str, str, str]:
        """(table, time column, model, requests, unpriced requests) to sum usage over [since, until) from: the
        hourly summaries (brought up to date) when both bounds fall on whole UTC hours, else the events."""
        if all(t.minute == 0 and t.second == 0 and t.microsecond == 0 for t in (since, until)):
            self.refresh_rollups()
            return "usage_hourly", "hour", "model", "sum(requests)", "sum(unpriced_requests)"
        return (counted_events(since, until), "ts", "coalesce(priced_model, model)", "count(*)",
                "count(*) FILTER (WHERE cost_micros IS NULL)")

    def person_teams(self) -> dict[str, str | None]:
        """Each person's team, from the people directory: what the insights group by, without building a
        `Person` for each of tens of thousands of people."""
        return dict(self._rows("SELECT person, team FROM people"))


def _add_bounds(clauses: list[str], params: list[Any], since: datetime | None, until: datetime | None) -> None:
    """`ts` within [since, until) (either may be open)."""
    bounded, values = time_bounds("ts", since, until)
    clauses.extend(bounded)
    params.extend(values)
