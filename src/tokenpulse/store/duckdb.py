"""The embedded store: one DuckDB file in the data directory.

Writes arrive in batches as Arrow tables and are upserted by event id: a copy only replaces the
stored one when its `rank` is higher, so re-reading a file never double-counts and the most
complete copy of a Claude Code response wins. Reports read `usage_hourly`, rebuilt for the hours a
write touched (tracked in `dirty_hours`, in the same transaction as the events, so a crash between
a write and the rebuild only delays the rebuild).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import msgspec

from ..errors import StoreError
from ..events import OutcomeEvent, UsageEvent, extra_json
from ..pricing import PriceBook
from . import FileState, IngestError, UsageQuery, UsageRow, WriteResult
from .directory import DirectoryTables
from .generation import bump_generation
from .governance import _CONVERSATION_COLUMNS, ConversationItem, GovernanceTables, conversation_rows
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

if TYPE_CHECKING:
    import pyarrow as pa

BACKEND = "duckdb"
DEFAULT_MEMORY_LIMIT = "256MB"
"""DuckDB spills beyond this; reports read small summaries, and imports stream in batches."""
ANALYSIS_MEMORY_LIMIT = "1GB"
"""What `analysis_memory` allows for the length of one analysis."""
LOCK_WAIT_SECONDS = 15.0
"""How long to wait for another tokenpulse process (an import, say) to let go of the file."""
CHECKPOINT_THRESHOLD = "64MB"
"""Write-ahead log kept before a checkpoint (see `DuckDBStore.__init__`)."""

_USAGE_FIELDS: tuple[str, ...] = UsageEvent.__struct_fields__  # each one is a column of `events`
_OUTCOME_FIELDS = ("id", "ts", "person", "tool", "type", "count", "session", "project", "source", "extra")
# (column, Arrow type) for the small tables written through `_insert_rows`.
_FILE_COLUMNS = (("path", "str"), ("format", "str"), ("device", "int"), ("inode", "int"), ("size", "int"),
                 ("mtime_ns", "int"), ("offset", "int"), ("lines", "int"), ("head_hash", "str"),
                 ("tail_open", "bool"), ("parser_state", "str"), ("updated_at", "ts"))
_ERROR_COLUMNS = (("path", "str"), ("line", "int"), ("message", "str"), ("seen_at", "ts"))
_OUTCOME_COLUMNS = (("id", "str"), ("ts", "ts"), ("person", "str"), ("tool", "str"), ("type", "str"),
                    ("count", "int"), ("session", "str"), ("project", "str"), ("source", "str"),
                    ("extra", "str"), ("ingested_at", "ts"))


def _connect(path: Path, read_only: bool, lock_wait: float) -> duckdb.DuckDBPyConnection:
    """Open the file, waiting a while if another tokenpulse process holds it (one writer at a time)."""
    deadline = time.monotonic() + lock_wait
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise StoreError(f"cannot open the store at {path}: {exc}") from None
            if time.monotonic() >= deadline:
                holder = str(exc).partition("Conflicting lock is held in ")[2].partition(".")[0].strip()
                raise StoreError(f"the store at {path} is in use by another process ({holder or 'unknown'}); "
                                 f"waited {lock_wait:g} s. If that is `tokenpulse serve`, work through it "
                                 "(commands that change it take --server URL)") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from None


HOUR = timedelta(hours=1)


class DuckDBStore(VendorTables, WebTables, GovernanceTables, DirectoryTables):
    def __init__(self, path: Path, *, read_only: bool = False, memory_limit: str = DEFAULT_MEMORY_LIMIT,
                 lock_wait: float = LOCK_WAIT_SECONDS):
        self.path = str(path)
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.con = _connect(path, read_only, lock_wait)
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        # Each checkpoint rewrites the table's last, partly filled row group. With DuckDB's 16 MB default,
        # a collector committing every few milliseconds spent half its writing time on that; 64 MB of
        # write-ahead log (a second or two to replay after a crash) halves the cost per event.
        self.con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        self._depth = 0
        self._wrote = False
        if not read_only:
            try:
                self._migrate()
            except BaseException:
                self.con.close()
                raise

    def _one(self, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
        """The first row of a query, with the result read to the end (DuckDB refuses to register an
        Arrow table while an earlier result is still open)."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    @contextmanager
    def _registered(self, name: str, table: Any) -> Iterator[None]:
        """An Arrow table visible to SQL as `name` for the block."""
        self.con.register(name, table)
        try:
            yield
        finally:
            # After a failed statement the transaction is aborted and unregistering fails too; the
            # first error is the one worth seeing.
            with suppress(duckdb.Error):
                self.con.unregister(name)

    # --- schema ---------------------------------------------------------------------------------

    def _migrate(self) -> None:
        con = self.con
        con.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)""")
        applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}

        def run(migration: Migration) -> None:
            con.execute("BEGIN")
            try:
                con.execute(migration.sql)
                con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                            [migration.version, migration.name, naive_utc(datetime.now(UTC))])
                con.execute("COMMIT")
                bump_generation(Path(self.path))
            except duckdb.Error as exc:
                con.execute("ROLLBACK")
                raise StoreError(f"migration {migration.version:04d}_{migration.name} failed on "
                                 f"{self.path}: {exc}") from None

        apply_all(BACKEND, applied, self.path, run)

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
        self.con.execute("BEGIN")
        self._depth = 1
        self._wrote = False
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
            if self._wrote:  # caches beside the store key on this (see tokenpulse.cache)
                bump_generation(Path(self.path))
        finally:
            self._depth = 0

    @contextmanager
    def background_work(self, processes: int) -> Iterator[None]:
        """Other processes are busy on `processes` cores: use one thread meanwhile (less contention)."""
        if processes < 2:
            yield
            return
        threads = self._one("SELECT current_setting('threads')")[0]
        self.con.execute("SET threads = 1")
        try:
            yield
        finally:
            self.con.execute(f"SET threads = {int(threads)}")

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file now, so closing later changes nothing (the
        store's generation then stays what the caches beside it recorded)."""
        self.con.execute("CHECKPOINT")

    def schema_version(self) -> int:
        return self._one("SELECT coalesce(max(version), 0) FROM schema_migrations")[0]

    def close(self) -> None:
        self.con.close()

    # --- incremental import state ---------------------------------------------------------------

    def file_states(self) -> dict[str, FileState]:
        rows = self.con.execute("""SELECT path, format, device, inode, size, mtime_ns, "offset", lines,
                                          head_hash, tail_open, parser_state FROM source_files""").fetchall()
        return {
            r[0]: FileState(*r[:10], parser_state=msgspec.json.decode(r[10]) if r[10] else None)
            for r in rows
        }

    # --- writes ---------------------------------------------------------------------------------

    def write_batch(
        self,
        usage: Sequence[UsageEvent] | pa.Table,
        outcomes: Sequence[OutcomeEvent] = (),
        file_states: Sequence[FileState] = (),
        forget_files: Sequence[str] = (),
        errors: Sequence[IngestError] = (),
        match_window: timedelta | None = None,
    ) -> WriteResult:
        result = WriteResult()
        now = naive_utc(datetime.now(UTC))
        con = self.con
        with self.transaction():
            self._wrote = self._wrote or bool(len(usage) or outcomes or file_states or forget_files or errors)
            if len(usage):
                self._merge_usage(self._unique(usage, result), now, result, match_window)
            if outcomes:
                result.outcomes_new = self._insert_outcomes(outcomes, now)
            for path in forget_files:
                con.execute("DELETE FROM source_files WHERE path = ?", [path])
            if file_states:
                self._insert_rows("source_files", _FILE_COLUMNS, [
                    (s.path, s.format, s.device, s.inode, s.size, s.mtime_ns, s.offset, s.lines, s.head_hash,
                     s.tail_open, msgspec.json.encode(s.parser_state).decode() if s.parser_state else None, now)
                    for s in file_states], "OR REPLACE")
            if errors:
                self._insert_rows("ingest_errors", _ERROR_COLUMNS,
                                  [(e.path, e.line, e.message, now) for e in errors], "OR REPLACE")
        return result

    def _unique(self, usage: Sequence[UsageEvent] | pa.Table, result: WriteResult) -> pa.Table:
        """The batch as Arrow with each id once: its highest-ranked copy (the first, on a tie)."""
        import pyarrow as pa

        from ..columnar import usage_table  # Arrow loads only when something is written

        if not isinstance(usage, pa.Table):
            best: dict[str, UsageEvent] = {}
            for event in usage:
                current = best.get(event.id)
                if current is None or event.rank > current.rank:
                    best[event.id] = event
            result.unchanged += len(usage) - len(best)
            return usage_table(list(best.values()))
        ids = usage.column("id").to_pylist()
        if len(set(ids)) == len(ids):  # the usual case; cheaper in Python than in Arrow for a batch
            return usage
        numbered = usage.append_column("seq", pa.array(range(usage.num_rows), pa.int64()))
        with self._registered("numbered", numbered):
            unique = self.con.sql("""
                SELECT * EXCLUDE (seq) FROM numbered
                QUALIFY row_number() OVER (PARTITION BY id ORDER BY rank DESC, seq) = 1
                ORDER BY seq""").to_arrow_table()
        result.unchanged += usage.num_rows - unique.num_rows
        return unique.cast(usage.schema)

    def _merge_usage(self, batch: pa.Table, now: datetime, result: WriteResult,
                     match_window: timedelta | None = None) -> None:
        """Insert new ids; replace stored copies that rank lower; leave the rest (`batch` has each id once).

        Usually no id of a batch is stored yet: one join finds that out, and the batch is appended as it is
        (the collector commits many small batches; every statement saved counts there). Without an index
        on ids that join reads every stored id; with `match_window`, only those of events within that time
        of the batch's (the file's zone maps skip the rest), which keeps a long-running collector's commits
        as cheap on a year of events as on a day."""
        import pyarrow.compute as pc

        con = self.con
        stored, params = "events", []
        if match_window is not None:
            bounds = pc.min_max(batch["ts"]).as_py()
            stored = "(SELECT id, rank, ts FROM events WHERE ts BETWEEN ? AND ?)"
            params = [bounds["min"] - match_window, bounds["max"] + match_window]
        with self._registered("batch_in", batch):
            clash = con.sql(f"""SELECT b.id, b.rank > e.rank AS better, e.ts AS old_ts
                                FROM batch_in b JOIN {stored} e USING (id)""", params=params).to_arrow_table()
        written, better, hours = batch, 0, []
        if clash.num_rows:
            better_mask = clash["better"]
            better = pc.sum(better_mask).as_py() or 0
            kept = pc.filter(clash["id"], pc.invert(better_mask))  # the stored copy stays: nothing to write
            if len(kept):
                written = batch.filter(pc.invert(pc.is_in(batch["id"], value_set=kept)))
            if better:
                replaced = clash.filter(better_mask)
                with self._registered("replaced", replaced):
                    con.execute("DELETE FROM events WHERE id IN (SELECT id FROM replaced)")
                hours = pc.unique(pc.floor_temporal(replaced["old_ts"], unit="hour")).to_pylist()
        if written.num_rows:
            # Hours whose summaries change: where the written copies fall, and where replaced copies were; and
            # beside a gateway request, the hours its local copy may fall in (counted once: summaries.counted_table).
            hours += pc.unique(pc.floor_temporal(written["ts"], unit="hour")).to_pylist()
            metered = written.filter(pc.equal(written["source"], "gateway"))
            if metered.num_rows:
                near = pc.unique(pc.floor_temporal(metered["ts"], unit="hour")).to_pylist()
                hours += [h + step for h in near for step in (-HOUR, HOUR)]
            with self._registered("batch_in", self._resolve_people(written)):
                con.execute("INSERT INTO events BY NAME SELECT b.*, ?::TIMESTAMP AS ingested_at FROM batch_in b",
                            [now])
        if hours:
            con.execute("INSERT INTO dirty_hours SELECT DISTINCT unnest(?::TIMESTAMP[]) ON CONFLICT DO NOTHING",
                        [hours])
        result.new += batch.num_rows - clash.num_rows
        result.updated += better
        result.unchanged += clash.num_rows - better

    def _resolve_people(self, batch: pa.Table) -> pa.Table:
        """The batch with each person that is an alias replaced by whom it belongs to."""
        import pyarrow as pa
        import pyarrow.compute as pc

        identities = pc.unique(batch["person"]).drop_null().to_pylist()
        if not identities:
            return batch
        owners = dict(self.con.execute("SELECT alias, person FROM aliases WHERE alias IN (SELECT unnest(?))",
                                       [identities]).fetchall())
        if not owners:
            return batch
        people = [owners.get(p, p) for p in batch.column("person").to_pylist()]
        return batch.set_column(batch.schema.get_field_index("person"), "person", pa.array(people, pa.string()))

    def _insert_outcomes(self, outcomes: Sequence[OutcomeEvent], now: datetime) -> int:
        """Insert outcomes not stored yet (by id), under the person their identity resolves to."""
        before = self._one("SELECT count(*) FROM outcomes")[0]
        unique = {o.id: o for o in outcomes}
        self._insert_rows("outcomes", _OUTCOME_COLUMNS, [
            (o.id, naive_utc(o.ts), o.person, o.tool, o.type, o.count, o.session, o.project, o.source,
             extra_json(o.extra), now) for o in unique.values()],
            "", select="SELECT r.* REPLACE (coalesce(a.person, r.person) AS person) "
                       "FROM rows_in r LEFT JOIN aliases a ON a.alias = r.person ON CONFLICT DO NOTHING")
        return self._one("SELECT count(*) FROM outcomes")[0] - before

    def _insert_rows(self, table: str, columns: Sequence[tuple[str, str | None]], rows: list[tuple], mode: str,
                     select: str = "SELECT * FROM rows_in") -> None:
        """Insert many rows at once through Arrow (DuckDB's executemany runs one statement per row).

        A column's type may be None: Arrow infers it from the values."""
        import pyarrow as pa

        types = {"str": pa.string(), "int": pa.int64(), "bool": pa.bool_(), "ts": pa.timestamp("us"), None: None}
        data = {name: pa.array(list(values), types[kind]) for (name, kind), values
                in zip(columns, zip(*rows, strict=True), strict=True)}
        names = ", ".join(f'"{name}"' for name, _ in columns)
        with self._registered("rows_in", pa.table(data)):
            self.con.execute(f"INSERT {mode} INTO {table} ({names}) {select}")

    # --- what the shared tables (`store.directory`) need ----------------------------------------

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, list(params)).fetchall()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._wrote = True
        self.con.execute(sql, list(params)).fetchall()

    def _insert_many(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]], conflict: str) -> None:
        if rows:
            self._wrote = True
            self._insert_rows(table, [(c, None) for c in columns], rows, "",
                              select=f"SELECT * FROM rows_in {conflict}")

    @contextmanager
    def analysis_memory(self, limit: str = ANALYSIS_MEMORY_LIMIT) -> Iterator[None]:
        """Let DuckDB use up to `limit` of memory for the block (then the store's own limit again): an
        analysis over every event of a period (the insights' detectors) groups millions of rows, and spilling
        them to disk under the 256 MB a long-running process keeps to costs it a tenth of its time."""
        old = self.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        self.con.execute(f"SET memory_limit = '{limit}'")
        try:
            yield
        finally:
            self.con.execute(f"SET memory_limit = '{old}'")

    def save_conversations(self, items: Sequence[ConversationItem]) -> None:
        """As `GovernanceTables.save_conversations` (new items in, existing ones' reasons and evidence
        refreshed, where they stand kept), as an UPDATE … FROM and an anti-joined INSERT: DuckDB's
        `ON CONFLICT DO UPDATE` takes seconds for the thousands of items of a large organisation."""
        if not items:
            return
        columns = [(name, "ts" if name.endswith("_at") else "str") for name in _CONVERSATION_COLUMNS]
        names = ", ".join(_CONVERSATION_COLUMNS)
        rows = conversation_rows(items)
        import pyarrow as pa

        types = {"str": pa.string(), "ts": pa.timestamp("us")}
        table = pa.table({name: pa.array(list(values), types[kind])
                          for (name, kind), values in zip(columns, zip(*rows, strict=True), strict=True)})
        with self.transaction(), self._registered("conversations_in", table):
            self._wrote = True
            self.con.execute("""UPDATE conversations SET reasons = i.reasons, evidence = i.evidence, team = i.team
                                FROM conversations_in i WHERE conversations.id = i.id""")
            self.con.execute(f"""INSERT INTO conversations ({names}) SELECT {names} FROM conversations_in
                                 WHERE id NOT IN (SELECT id FROM conversations)""")

    def refresh_rollups(self) -> None:
        con = self.con
        if not self._one("SELECT 1 FROM dirty_hours LIMIT 1"):
            return
        with self.transaction():
            self._wrote = True
            con.execute("DELETE FROM usage_hourly WHERE hour IN (SELECT hour FROM dirty_hours)")
            con.execute(REBUILD_DIRTY_HOURS)
            con.execute("DELETE FROM dirty_hours")

    # --- reads ----------------------------------------------------------------------------------

    def usage_rows(self, query: UsageQuery) -> list[UsageRow]:
        self.refresh_rollups()
        sql, params = usage_sql(query, placeholder="?", list_agg="list")
        return [usage_row(r) for r in self.con.execute(sql, params).fetchall()]

    def iter_usage(self, since: datetime | None = None, until: datetime | None = None,
                   people: Sequence[str] | None = None, *, counted_only: bool = False) -> Iterator[UsageEvent]:
        where_sql, params = where(*people_bounds(since, until, people))
        table = counted_events(since, until) if counted_only else "events"
        return self._iter_usage_where(f"{where_sql} ORDER BY ts, id", params, table)

    def iter_outcomes(self, since: datetime | None = None, until: datetime | None = None,
                      people: Sequence[str] | None = None) -> Iterator[OutcomeEvent]:
        where_sql, params = where(*people_bounds(since, until, people))
        return self._iter_outcomes_where(f"{where_sql} ORDER BY ts, id", params)

    def _iter_outcomes_where(self, where_sql: str, params: list[Any]) -> Iterator[OutcomeEvent]:
        rows = self.con.execute(f"SELECT {', '.join(_OUTCOME_FIELDS)} FROM outcomes {where_sql}", params).fetchall()
        for r in rows:
            values = dict(zip(_OUTCOME_FIELDS, r, strict=True))
            values["ts"] = aware(values["ts"])
            values["extra"] = msgspec.json.decode(values["extra"]) if values["extra"] else None
            yield OutcomeEvent(**values)

    def stale_price_versions(self, version: str) -> int:
        return self._one("SELECT count(*) FROM events WHERE price_version IS DISTINCT FROM ?", [version])[0]

    def reprice(self, book: PriceBook, only_stale: bool = True, batch: int = 50_000) -> int:
        """Recompute list costs with `book`, in batches; returns how many events were re-priced."""
        import pyarrow as pa

        stale = "price_version IS DISTINCT FROM ?" if only_stale else "TRUE"
        done = 0
        after = ""
        while True:
            events = list(self._iter_usage_where(
                f"WHERE {stale} AND id > ? ORDER BY id LIMIT {batch}",
                ([book.version] if only_stale else []) + [after]))
            if not events:
                break
            for event in events:
                book.price(event)
            table = pa.table({
                "id": pa.array([e.id for e in events], pa.string()),
                "cost_micros": pa.array([e.cost_micros for e in events], pa.int64()),
                "priced_model": pa.array([e.priced_model for e in events], pa.string()),
                "price_version": pa.array([e.price_version for e in events], pa.string()),
                "provider": pa.array([e.provider for e in events], pa.string()),
            })
            with self._registered("repriced", table), self.transaction():
                self._wrote = True
                self.con.execute("""INSERT INTO dirty_hours SELECT DISTINCT date_trunc('hour', e.ts)
                                    FROM events e JOIN repriced r USING (id) ON CONFLICT DO NOTHING""")
                self.con.execute("""UPDATE events SET cost_micros = r.cost_micros, priced_model = r.priced_model,
                                           price_version = r.price_version, provider = r.provider
                                    FROM repriced r WHERE events.id = r.id""")
            done += len(events)
            after = events[-1].id
        self.refresh_rollups()
        if done:
            self.checkpoint()
        return done

    def _iter_usage_where(self, where: str, params: list[Any], table: str = "events") -> Iterator[UsageEvent]:
        cursor = self.con.cursor()
        cursor.execute(f"SELECT {', '.join(_USAGE_FIELDS)} FROM {table} {where}", params)
        while rows := cursor.fetchmany(10_000):
            for r in rows:
                values = dict(zip(_USAGE_FIELDS, r, strict=True))
                values["ts"] = aware(values["ts"])
                values["extra"] = msgspec.json.decode(values["extra"]) if values["extra"] else None
                yield UsageEvent(**values)
        cursor.close()

    def recent_errors(self, limit: int = 50) -> list[IngestError]:
        rows = self.con.execute(
            "SELECT path, line, message FROM ingest_errors ORDER BY seen_at DESC, path, line LIMIT ?",
            [limit]).fetchall()
        return [IngestError(*r) for r in rows]

    def counts(self) -> dict[str, int]:
        return {
            table: self._one(f"SELECT count(*) FROM {table}")[0]
            for table in ("events", "outcomes", "source_files", "ingest_errors")
        }
