"""The small tables both backends share, written once: people and aliases, API keys, user prompts,
cumulative counter state and `push` positions.

The SQL here is the same on DuckDB and PostgreSQL (`?` placeholders, which a backend translates);
each backend supplies four primitives: `_q` (placeholders), `_rows`, `_run` and `_insert_many`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ..events import OutcomeEvent, PromptEvent, UsageEvent
from ..keys import ApiKey
from ..people import Person, normalize_identity
from .summaries import aware, naive_utc

SeriesState = dict[str, tuple[int, int, int]]
"""A cumulative counter series -> its last (start_ns, time_ns, value)."""

_PERSON_COLUMNS = ("person", "name", "team", "manager", "role", "updated_at")
_KEY_COLUMNS = ("id", "kind", "team", "person", "name", "created_at", "last_used_at", "revoked_at")
_PROMPT_COLUMNS = ("id", "ts", "tool", "person", "session", "prompt_id", "length", "text")


@dataclass(frozen=True)
class PushPosition:
    """How far `push` got with one server: the (ingested_at, id) of the last usage event and outcome it sent."""

    usage: tuple[datetime, str] | None = None
    outcome: tuple[datetime, str] | None = None


def _now() -> datetime:
    return naive_utc(datetime.now(UTC))


class DirectoryTables:
    # --- what a backend provides ------------------------------------------------------------------

    def _q(self, sql: str) -> str:
        return sql

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    def _insert_many(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]], conflict: str) -> None:
        """INSERT rows, then `conflict` (an `ON CONFLICT …` clause)."""
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _iter_usage_where(self, where_sql: str, params: list[Any]) -> Iterator[UsageEvent]:
        raise NotImplementedError

    def _iter_outcomes_where(self, where_sql: str, params: list[Any]) -> Iterator[OutcomeEvent]:
        raise NotImplementedError

    def _lock_series(self, series: Sequence[str]) -> None:
        """Keep other writers off these counter series until the transaction ends (one writer: nothing)."""

    # --- people and aliases -------------------------------------------------------------------------

    def save_people(self, people: Sequence[Person]) -> int:
        """Add or update people and their aliases, then re-attribute stored usage that arrived under an
        alias. Returns how many stored events changed hands."""
        now = _now()
        people = [replace(p, person=normalize_identity(p.person)) for p in people]
        with self.transaction():
            if people:
                self._insert_many("people", _PERSON_COLUMNS,
                                  [(p.person, p.name, p.team, p.manager, p.role, now) for p in people],
                                  "ON CONFLICT (person) DO UPDATE SET name = excluded.name, team = excluded.team, "
                                  "manager = excluded.manager, role = excluded.role, updated_at = excluded.updated_at")
            aliases = {normalize_identity(a): p.person for p in people for a in p.aliases}
            # A person's own email is never an alias of someone else.
            aliases.update({p.person: p.person for p in people})
            self._insert_many("aliases", ("alias", "person"), sorted(aliases.items()),
                              "ON CONFLICT (alias) DO UPDATE SET person = excluded.person")
            self._run("DELETE FROM aliases WHERE alias = person")
            return self.apply_aliases()

    def apply_aliases(self) -> int:
        """Give events, outcomes and prompts recorded under an alias to the person it belongs to."""
        with self.transaction():
            moved = self._rows("SELECT count(*) FROM events e JOIN aliases a ON e.person = a.alias")[0][0]
            if moved:
                self._run("""INSERT INTO dirty_hours SELECT DISTINCT date_trunc('hour', e.ts)
                             FROM events e JOIN aliases a ON e.person = a.alias ON CONFLICT DO NOTHING""")
            for table in ("events", "outcomes", "prompts"):
                self._run(f"UPDATE {table} SET person = a.person FROM aliases a WHERE {table}.person = a.alias")
            self._move_vendor_days()
        return moved

    def people(self) -> list[Person]:
        aliases: dict[str, list[str]] = {}
        for alias, person in self._rows("SELECT alias, person FROM aliases ORDER BY alias"):
            aliases.setdefault(person, []).append(alias)
        return [Person(*row, aliases=aliases.get(row[0], []))
                for row in self._rows("SELECT person, name, team, manager, role FROM people ORDER BY team, person")]

    def resolve_identity(self, identity: str) -> str:
        """The person an identity (email, `account:…`, `user:…`) belongs to; itself when no alias maps it."""
        rows = self._rows("SELECT person FROM aliases WHERE alias = ?", [identity])
        return rows[0][0] if rows else identity

    def find_person(self, identity: str) -> Person | None:
        person = self.resolve_identity(identity)
        rows = self._rows("SELECT person, name, team, manager, role FROM people WHERE person = ?", [person])
        if not rows:
            return None
        aliases = [a for (a,) in self._rows("SELECT alias FROM aliases WHERE person = ? ORDER BY alias", [person])]
        return Person(*rows[0], aliases=aliases)

    # --- API keys -----------------------------------------------------------------------------------

    def add_key(self, key: ApiKey, secret_hash: str) -> None:
        self._insert_many("api_keys", (*_KEY_COLUMNS, "hash"),
                          [(key.id, key.kind, key.team, key.person, key.name, naive_utc(key.created_at), None, None,
                            secret_hash)], "")

    def api_keys(self) -> list[ApiKey]:
        return [_key(r) for r in self._rows(f"SELECT {', '.join(_KEY_COLUMNS)} FROM api_keys ORDER BY created_at, id")]

    def key_for_hash(self, secret_hash: str) -> ApiKey | None:
        rows = self._rows(f"SELECT {', '.join(_KEY_COLUMNS)} FROM api_keys WHERE hash = ?", [secret_hash])
        return _key(rows[0]) if rows else None

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key by its id; False if there is no such key or it was already revoked."""
        with self.transaction():
            rows = self._rows("SELECT 1 FROM api_keys WHERE id = ? AND revoked_at IS NULL", [key_id])
            if rows:
                self._run("UPDATE api_keys SET revoked_at = ? WHERE id = ?", [_now(), key_id])
        return bool(rows)

    def touch_keys(self, key_ids: Sequence[str], when: datetime) -> None:
        for key_id in key_ids:
            self._run("UPDATE api_keys SET last_used_at = ? WHERE id = ?", [naive_utc(when), key_id])

    # --- prompts ------------------------------------------------------------------------------------

    def write_prompts(self, prompts: Sequence[PromptEvent]) -> None:
        """Store prompts once each (by id), under the person their identity resolves to."""
        if not prompts:
            return
        unique = {p.id: p for p in prompts}
        now = _now()
        with self.transaction():
            self._insert_many("prompts", (*_PROMPT_COLUMNS, "ingested_at"), [
                (p.id, naive_utc(p.ts), p.tool, p.person, p.session, p.prompt_id, p.length, p.text, now)
                for p in unique.values()], "ON CONFLICT (id) DO NOTHING")
            self._run("UPDATE prompts SET person = a.person FROM aliases a WHERE prompts.person = a.alias "
                      "AND prompts.ingested_at = ?", [now])

    def prompts_of(self, person: str, since: datetime | None = None, limit: int = 1000,
                   session: str | None = None) -> list[PromptEvent]:
        """A person's own prompts, newest first (never anyone else's: the caller passes the owner); of one
        session when `session` is given."""
        clause, params = ("AND ts >= ?", [naive_utc(since)]) if since else ("", [])
        if session is not None:
            clause, params = f"{clause} AND session = ?", [*params, session]
        rows = self._rows(f"SELECT {', '.join(_PROMPT_COLUMNS)} FROM prompts WHERE person = ? {clause} "
                          f"ORDER BY ts DESC, id LIMIT {int(limit)}", [person, *params])
        return [PromptEvent(**{**dict(zip(_PROMPT_COLUMNS, r, strict=True)), "ts": aware(r[1])}) for r in rows]

    # --- cumulative counters ------------------------------------------------------------------------

    def series_state(self, series: Sequence[str]) -> SeriesState:
        """The last point of each series (call inside the transaction that saves the next state)."""
        if not series:
            return {}
        wanted = sorted(set(series))
        self._lock_series(wanted)
        state: SeriesState = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ", ".join(["?"] * len(chunk))
            for name, start_ns, time_ns, value in self._rows(
                    f"SELECT series, start_ns, time_ns, value FROM metric_series WHERE series IN ({marks})", chunk):
                state[name] = (start_ns, time_ns, value)
        return state

    def save_series_state(self, state: SeriesState) -> None:
        if state:
            now = _now()
            self._insert_many("metric_series", ("series", "start_ns", "time_ns", "value", "updated_at"),
                              [(k, *v, now) for k, v in sorted(state.items())],
                              "ON CONFLICT (series) DO UPDATE SET start_ns = excluded.start_ns, "
                              "time_ns = excluded.time_ns, value = excluded.value, updated_at = excluded.updated_at")

    # --- push -----------------------------------------------------------------------------------------

    def push_position(self, server: str) -> PushPosition:
        rows = self._rows("SELECT usage_at, usage_id, outcome_at, outcome_id FROM push_state WHERE server = ?",
                          [server])
        if not rows:
            return PushPosition()
        usage_at, usage_id, outcome_at, outcome_id = rows[0]
        return PushPosition(usage=(usage_at, usage_id) if usage_id is not None else None,
                            outcome=(outcome_at, outcome_id) if outcome_id is not None else None)

    def save_push_position(self, server: str, position: PushPosition) -> None:
        usage = position.usage or (None, None)
        outcome = position.outcome or (None, None)
        self._insert_many("push_state", ("server", "usage_at", "usage_id", "outcome_at", "outcome_id", "pushed_at"),
                          [(server, *usage, *outcome, _now())],
                          "ON CONFLICT (server) DO UPDATE SET usage_at = excluded.usage_at, "
                          "usage_id = excluded.usage_id, outcome_at = excluded.outcome_at, "
                          "outcome_id = excluded.outcome_id, pushed_at = excluded.pushed_at")

    def usage_written_after(self, after: tuple[datetime, str] | None, limit: int
                            ) -> tuple[list[UsageEvent], tuple[datetime, str] | None]:
        """Up to `limit` events stored (or replaced) after the position `after`, in write order, and the
        position of the last one."""
        return self._written_after("events", self._iter_usage_where, after, limit)

    def outcomes_written_after(self, after: tuple[datetime, str] | None, limit: int
                               ) -> tuple[list[OutcomeEvent], tuple[datetime, str] | None]:
        return self._written_after("outcomes", self._iter_outcomes_where, after, limit)

    def _written_after(self, table: str, iterate: Any, after: tuple[datetime, str] | None, limit: int
                       ) -> tuple[list[Any], tuple[datetime, str] | None]:
        clause, params = ("WHERE ingested_at > ? OR (ingested_at = ? AND id > ?)",
                          [after[0], after[0], after[1]]) if after else ("", [])
        items = list(iterate(self._q(f"{clause} ORDER BY ingested_at, id LIMIT {int(limit)}"), params))
        if not items:
            return [], after
        last = self._rows(f"SELECT ingested_at FROM {table} WHERE id = ?", [items[-1].id])[0][0]
        return items, (last, items[-1].id)


def _key(row: tuple[Any, ...]) -> ApiKey:
    values = dict(zip(_KEY_COLUMNS, row, strict=True))
    for name in ("created_at", "last_used_at", "revoked_at"):
        values[name] = aware(values[name])
    return ApiKey(**values)
