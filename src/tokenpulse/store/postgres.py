"""The server store: PostgreSQL, for many writers and a whole organisation.

The same contract as the DuckDB store (see `tokenpulse.store.Store`), with PostgreSQL's own means:
batches arrive by COPY into a temporary table and are merged with `INSERT … ON CONFLICT (id) DO
UPDATE … WHERE excluded.rank > events.rank` against a real primary key; migrations take an advisory
lock so that several replicas starting at once apply each one once.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ..errors import StoreError
from ..events import OutcomeEvent, UsageEvent, extra_json
from ..pricing import PriceBook
from . import FileState, IngestError, UsageQuery, UsageRow, WriteResult
from .directory import DirectoryTables
from .governance import GovernanceTables
from .migrate import Migration, apply_all
from .summaries import (
    REBUILD_DIRTY_HOURS,
    aware,
    counted_events,
    naive_utc,
    people_bounds,
    usage_row,
    usage_sql,
    where,
)
from .vendors import VendorTables
from .web import WebTables

BACKEND = "postgres"
_MIGRATION_LOCK = 0x70C5E  # advisory lock key: one migrator at a time
_USAGE_FIELDS: tuple[str, ...] = UsageEvent.__struct_fields__
_OUTCOME_FIELDS = ("id", "ts", "person", "tool", "type", "count", "session", "project", "source", "extra")
_FILE_FIELDS = ("path", "format", "device", "inode", "size", "mtime_ns", "offset", "lines", "head_hash",
                "tail_open", "parser_state")


def _columns(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


class PostgresStore(VendorTables, WebTables, GovernanceTables, DirectoryTables):
    def __init__(self, url: str, *, read_only: bool = False):
        self.path = redact(url)
        try:
            self.con = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {self.path}: {exc}".strip()) from None
        self.con.execute("SET TIME ZONE 'UTC'")
        self._depth = 0
        if not read_only:
            try:
                self._migrate()
            except BaseException:
                self.con.close()
                raise

    # --- schema -----------------------------------------------------------------------------------

    def _migrate(self) -> None:
        con = self.con
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATION_LOCK])
            con.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)""")
            applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}

            def run(migration: Migration) -> None:
                try:
                    with con.transaction():
                        con.execute(migration.sql)
                        con.execute("INSERT INTO schema_migrations VALUES (%s, %s, %s)",
                                    [migration.version, migration.name, naive_utc(datetime.now(UTC))])
                except psycopg.Error as exc:
                    raise StoreError(f"migration {migration.version:04d}_{migration.name} failed on "
                                     f"{self.path}: {exc}") from None

            apply_all(BACKEND, applied, self.path, run)

    def schema_version(self) -> int:
        return self.con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction around the block; nested blocks join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            with self.con.transaction():
                yield
        finally:
            self._depth = 0

    @contextmanager
    def background_work(self, processes: int) -> Iterator[None]:
        yield  # the server has its own cores

    @contextmanager
    def analysis_memory(self) -> Iterator[None]:
        """Nothing to do: the server manages its own memory (see `DuckDBStore.analysis_memory`)."""
        yield

    def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL settles its own log."""

    # --- incremental import state -------------------------------------------------------------------

    def file_states(self) -> dict[str, FileState]:
        rows = self.con.execute(f"SELECT {_columns(_FILE_FIELDS)} FROM source_files").fetchall()
        return {r[0]: FileState(*r[:10], parser_state=r[10]) for r in rows}

    # --- writes -----------------------------------------------------------------------------------

    def write_batch(
        self,
        usage: Sequence[UsageEvent] | Any,
        outcomes: Sequence[OutcomeEvent] = (),
        file_states: Sequence[FileState] = (),
        forget_files: Sequence[str] = (),
        errors: Sequence[IngestError] = (),
        match_window: timedelta | None = None,
    ) -> WriteResult:
        """See `Store.write_batch`; `match_window` is not needed here (the primary key finds every copy)."""
        result = WriteResult()
        now = naive_utc(datetime.now(UTC))
        con = self.con
        with self.transaction():
            if len(usage):
                self._merge_usage(_unique_table(usage, result), now, result)
            if outcomes:
                result.outcomes_new = self._insert_outcomes(outcomes, now)
            if forget_files:
                con.execute("DELETE FROM source_files WHERE path = ANY(%s)", [list(forget_files)])
            if file_states:
                with con.cursor() as cur:
                    cur.executemany(
                        f"""INSERT INTO source_files ({_columns(_FILE_FIELDS)}, updated_at)
                            VALUES ({", ".join(["%s"] * (len(_FILE_FIELDS) + 1))})
                            ON CONFLICT (path) DO UPDATE SET
                            {", ".join(f'"{c}" = excluded."{c}"' for c in _FILE_FIELDS[1:])},
                            updated_at = excluded.updated_at""",
                        [(s.path, s.format, s.device, s.inode, s.size, s.mtime_ns, s.offset, s.lines, s.head_hash,
                          s.tail_open, Jsonb(s.parser_state) if s.parser_state else None, now)
                         for s in file_states])
            if errors:
                with con.cursor() as cur:
                    cur.executemany("""INSERT INTO ingest_errors VALUES (%s, %s, %s, %s)
                                       ON CONFLICT (path, line) DO UPDATE SET message = excluded.message,
                                       seen_at = excluded.seen_at""",
                                    [(e.path, e.line, e.message, now) for e in errors])
        return result

    def _merge_usage(self, batch: Any, now: datetime, result: WriteResult) -> None:
        """COPY the batch in (as CSV written by Arrow), insert the ids not stored yet, and replace stored
        copies that rank lower (`batch` has each id once)."""
        import pyarrow as pa
        import pyarrow.csv as arrow_csv

        con = self.con
        con.execute("CREATE TEMP TABLE IF NOT EXISTS batch_in (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        batch = batch.append_column("ingested_at", pa.array([now] * batch.num_rows, pa.timestamp("us")))
        data = io.BytesIO()
        arrow_csv.write_csv(batch, data, arrow_csv.WriteOptions(include_header=False))
        with con.cursor() as cur, cur.copy(f"COPY batch_in ({_columns(batch.column_names)}) FROM STDIN (FORMAT csv)"
                                          ) as copy:
            copy.write(data.getbuffer())
        con.execute("UPDATE batch_in b SET person = a.person FROM aliases a WHERE b.person = a.alias")
        # Usually every id is new: one statement inserts them and marks their hours.
        (inserted,) = con.execute("""
            WITH written AS (
                INSERT INTO events SELECT * FROM batch_in ON CONFLICT (id) DO NOTHING RETURNING ts, source),
            hours AS (
                INSERT INTO dirty_hours SELECT DISTINCT date_trunc('hour', ts) FROM written
                UNION SELECT date_trunc('hour', ts) + step * INTERVAL '1 hour'  -- beside a gateway request, the
                      FROM written, (VALUES (-1), (1)) AS s(step)           -- hours its local copy may fall in
                      WHERE source = 'gateway'
                ON CONFLICT DO NOTHING)
            SELECT count(*) FROM written""").fetchone()
        updated = self._replace_lower_ranked() if inserted < batch.num_rows else 0
        con.execute("TRUNCATE batch_in")
        result.new += inserted
        result.updated += updated
        result.unchanged += batch.num_rows - inserted - updated

    def _replace_lower_ranked(self) -> int:
        """Replace stored copies of `batch_in`'s ids that rank lower; returns how many. (The rare case: a more
        complete copy of something already stored.)"""
        con = self.con
        con.execute("ANALYZE batch_in")  # statistics, so that the join looks ids up in the primary key
        replaced = con.execute("""SELECT b.id, e.ts FROM batch_in b JOIN events e USING (id)
                                  WHERE b.rank > e.rank FOR UPDATE OF e""").fetchall()
        if not replaced:
            return 0
        ids = [row[0] for row in replaced]
        assignments = ", ".join(f'"{c}" = b."{c}"' for c in (*_USAGE_FIELDS[1:], "ingested_at"))
        # The hours the old copies left and the new ones arrive in both need their summaries rebuilt.
        con.execute("""INSERT INTO dirty_hours
                       SELECT DISTINCT date_trunc('hour', ts) FROM unnest(%s::timestamp[]) AS t(ts)
                       UNION SELECT DISTINCT date_trunc('hour', ts) FROM batch_in WHERE id = ANY(%s)
                       ON CONFLICT DO NOTHING""", [[row[1] for row in replaced], ids])
        con.execute(f"UPDATE events SET {assignments} FROM batch_in b WHERE events.id = b.id AND b.id = ANY(%s)",
                    [ids])
        return len(replaced)

    def _insert_outcomes(self, outcomes: Sequence[OutcomeEvent], now: datetime) -> int:
        """Insert outcomes not stored yet (by id), under the person their identity resolves to."""
        con = self.con
        unique = {o.id: o for o in outcomes}
        con.execute("CREATE TEMP TABLE IF NOT EXISTS outcomes_in (LIKE outcomes) ON COMMIT DELETE ROWS")
        with con.cursor() as cur, cur.copy(f"COPY outcomes_in ({_columns(_OUTCOME_FIELDS)}, ingested_at) "
                                           "FROM STDIN") as copy:
            for o in unique.values():
                copy.write_row((o.id, naive_utc(o.ts), o.person, o.tool, o.type, o.count, o.session, o.project,
                                o.source, extra_json(o.extra), now))
        con.execute("UPDATE outcomes_in o SET person = a.person FROM aliases a WHERE o.person = a.alias")
        cur = con.execute("INSERT INTO outcomes SELECT * FROM outcomes_in ON CONFLICT (id) DO NOTHING")
        added = cur.rowcount
        con.execute("TRUNCATE outcomes_in")
        return added

    # --- what the shared tables (`store.directory`) need ------------------------------------------

    def _q(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(self._q(sql), list(params)).fetchall()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.con.execute(self._q(sql), list(params))

    def _insert_many(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]], conflict: str) -> None:
        if rows:
            with self.con.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} ({_columns(columns)}) "
                                f"VALUES ({', '.join(['%s'] * len(columns))}) {conflict}", rows)

    def _lock_series(self, series: Sequence[str]) -> None:
        """Two collector replicas must not both turn the same counter point into an increment."""
        for name in series:  # sorted by the caller: locks are always taken in the same order
            self.con.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])

    def refresh_rollups(self) -> None:
        con = self.con
        if not con.execute("SELECT 1 FROM dirty_hours LIMIT 1").fetchone():
            return
        with self.transaction():
            # Hours being rebuilt are locked, so two writers never rebuild the same hour at once.
            con.execute("SELECT hour FROM dirty_hours ORDER BY hour FOR UPDATE")
            con.execute("DELETE FROM usage_hourly WHERE hour IN (SELECT hour FROM dirty_hours)")
            con.execute(REBUILD_DIRTY_HOURS)
            con.execute("DELETE FROM dirty_hours")

    # --- reads ------------------------------------------------------------------------------------

    def usage_rows(self, query: UsageQuery) -> list[UsageRow]:
        self.refresh_rollups()
        sql, params = usage_sql(query, placeholder="%s", list_agg="array_agg")
        return [usage_row(r) for r in self.con.execute(sql, params).fetchall()]

    def iter_usage(self, since: datetime | None = None, until: datetime | None = None,
                   people: Sequence[str] | None = None, *, counted_only: bool = False) -> Iterator[UsageEvent]:
        where_sql, params = where(*people_bounds(since, until, people, "%s"))
        table = counted_events(since, until) if counted_only else "events"
        return self._iter_usage_where(f"{where_sql} ORDER BY ts, id", params, table)

    def _iter_usage_where(self, where_sql: str, params: list[Any], table: str = "events") -> Iterator[UsageEvent]:
        """Events streamed in chunks (the connection is busy until the iteration ends)."""
        with self.con.cursor() as cur:
            for r in cur.stream(f"SELECT {_columns(_USAGE_FIELDS)} FROM {table} {where_sql}", params, size=10_000):
                values = dict(zip(_USAGE_FIELDS, r, strict=True))
                values["ts"] = aware(values["ts"])
                yield UsageEvent(**values)

    def iter_outcomes(self, since: datetime | None = None, until: datetime | None = None,
                      people: Sequence[str] | None = None) -> Iterator[OutcomeEvent]:
        where_sql, params = where(*people_bounds(since, until, people, "%s"))
        return self._iter_outcomes_where(f"{where_sql} ORDER BY ts, id", params)

    def _iter_outcomes_where(self, where_sql: str, params: list[Any]) -> Iterator[OutcomeEvent]:
        rows = self.con.execute(f"SELECT {_columns(_OUTCOME_FIELDS)} FROM outcomes {where_sql}", params).fetchall()
        for r in rows:
            values = dict(zip(_OUTCOME_FIELDS, r, strict=True))
            values["ts"] = aware(values["ts"])
            yield OutcomeEvent(**values)

    def stale_price_versions(self, version: str) -> int:
        return self.con.execute(
            "SELECT count(*) FROM events WHERE price_version IS DISTINCT FROM %s", [version]).fetchone()[0]

    def reprice(self, book: PriceBook, only_stale: bool = True, batch: int = 50_000) -> int:
        """Recompute list costs with `book`, in batches; returns how many events were re-priced."""
        stale = "price_version IS DISTINCT FROM %s" if only_stale else "TRUE"
        done = 0
        after = ""
        con = self.con
        while True:
            events = list(self._iter_usage_where(
                f"WHERE {stale} AND id > %s ORDER BY id LIMIT {batch}",
                ([book.version] if only_stale else []) + [after]))
            if not events:
                break
            for event in events:
                book.price(event)
            with self.transaction():
                con.execute("""CREATE TEMP TABLE IF NOT EXISTS repriced (id TEXT, cost_micros BIGINT,
                               priced_model TEXT, price_version TEXT, provider TEXT) ON COMMIT DELETE ROWS""")
                with con.cursor() as cur, cur.copy("COPY repriced FROM STDIN") as copy:
                    for e in events:
                        copy.write_row((e.id, e.cost_micros, e.priced_model, e.price_version, e.provider))
                con.execute("""INSERT INTO dirty_hours SELECT DISTINCT date_trunc('hour', e.ts)
                               FROM events e JOIN repriced r USING (id) ON CONFLICT DO NOTHING""")
                con.execute("""UPDATE events SET cost_micros = r.cost_micros, priced_model = r.priced_model,
                                      price_version = r.price_version, provider = r.provider
                               FROM repriced r WHERE events.id = r.id""")
            done += len(events)
            after = events[-1].id
        self.refresh_rollups()
        return done

    def recent_errors(self, limit: int = 50) -> list[IngestError]:
        rows = self.con.execute(
            "SELECT path, line, message FROM ingest_errors ORDER BY seen_at DESC, path, line LIMIT %s",
            [limit]).fetchall()
        return [IngestError(*r) for r in rows]

    def counts(self) -> dict[str, int]:
        return {
            table: self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("events", "outcomes", "source_files", "ingest_errors")
        }


def _unique_table(usage: Sequence[UsageEvent] | Any, result: WriteResult) -> Any:
    """The batch as Arrow (`tokenpulse.columnar` form) with each id once: its highest-ranked copy, the first
    on a tie (PostgreSQL refuses to update one row twice in a statement)."""
    from ..columnar import usage_table

    table = usage if hasattr(usage, "num_rows") else usage_table(list(usage))
    ids = table.column("id").to_pylist()
    if len(set(ids)) == len(ids):
        return table
    best: dict[str, int] = {}
    ranks = table.column("rank").to_pylist()
    for index, (id_, rank) in enumerate(zip(ids, ranks, strict=True)):
        if id_ not in best or rank > ranks[best[id_]]:
            best[id_] = index
    result.unchanged += len(ids) - len(best)
    return table.take(sorted(best.values()))


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    with contextlib.suppress(Exception):
        info = psycopg.conninfo.conninfo_to_dict(url)
        return f"postgresql://{info.get('user', '')}@{info.get('host', '')}:{info.get('port', '5432')}/{info.get('dbname', '')}"
    return "postgresql://…"
