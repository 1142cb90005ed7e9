"""Numbered, append-only migrations of the DuckDB store: blank, current, older and newer stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenpulse.errors import StoreError
from tokenpulse.store import migrate
from tokenpulse.store.duckdb import DuckDBStore
from tokenpulse.store.migrate import Migration, migrations_for

# The schema 0001_events.sql creates (plus the bookkeeping table), as (column, type, nullable).
EXPECTED_SCHEMA: dict[str, list[tuple[str, str, bool]]] = {
    "schema_migrations": [
        ("version", "INTEGER", False), ("name", "VARCHAR", False), ("applied_at", "TIMESTAMP", False),
    ],
    "events": [
        ("id", "VARCHAR", False), ("ts", "TIMESTAMP", False), ("person", "VARCHAR", True),
        ("tool", "VARCHAR", False), ("provider", "VARCHAR", True), ("model", "VARCHAR", True),
        ("priced_model", "VARCHAR", True),
        ("input_tokens", "BIGINT", False), ("output_tokens", "BIGINT", False),
        ("cache_read_tokens", "BIGINT", False), ("cache_write_tokens", "BIGINT", False),
        ("cache_write_1h_tokens", "BIGINT", False), ("reasoning_tokens", "BIGINT", False),
        ("web_search_requests", "BIGINT", False),
        ("session", "VARCHAR", True), ("project", "VARCHAR", True), ("request_id", "VARCHAR", True),
        ("status", "VARCHAR", False), ("duration_ms", "BIGINT", True), ("prompt_hash", "VARCHAR", True),
        ("speed", "VARCHAR", True), ("service_tier", "VARCHAR", True), ("inference_geo", "VARCHAR", True),
        ("reported_cost_micros", "BIGINT", True), ("cost_micros", "BIGINT", True),
        ("price_version", "VARCHAR", True), ("source", "VARCHAR", False), ("confidence", "VARCHAR", False),
        ("rank", "BIGINT", False), ("extra", "JSON", True), ("ingested_at", "TIMESTAMP", False),
    ],
    "outcomes": [
        ("id", "VARCHAR", False), ("ts", "TIMESTAMP", False), ("person", "VARCHAR", True),
        ("tool", "VARCHAR", True), ("type", "VARCHAR", False), ("count", "BIGINT", False),
        ("session", "VARCHAR", True), ("project", "VARCHAR", True), ("source", "VARCHAR", False),
        ("extra", "JSON", True), ("ingested_at", "TIMESTAMP", False),
    ],
    "usage_hourly": [
        ("hour", "TIMESTAMP", False), ("person", "VARCHAR", True), ("tool", "VARCHAR", False),
        ("provider", "VARCHAR", True), ("model", "VARCHAR", True), ("project", "VARCHAR", True),
        ("session", "VARCHAR", True), ("source", "VARCHAR", False), ("confidence", "VARCHAR", False),
        ("requests", "BIGINT", False), ("input_tokens", "BIGINT", False), ("output_tokens", "BIGINT", False),
        ("cache_read_tokens", "BIGINT", False), ("cache_write_tokens", "BIGINT", False),
        ("cache_write_1h_tokens", "BIGINT", False), ("reasoning_tokens", "BIGINT", False),
        ("cost_micros", "BIGINT", False), ("unpriced_requests", "BIGINT", False),
        ("first_ts", "TIMESTAMP", False), ("last_ts", "TIMESTAMP", False),
    ],
    "dirty_hours": [("hour", "TIMESTAMP", False)],
    "source_files": [
        ("path", "VARCHAR", False), ("format", "VARCHAR", False), ("device", "BIGINT", False),
        ("inode", "BIGINT", False), ("size", "BIGINT", False), ("mtime_ns", "BIGINT", False),
        ("offset", "BIGINT", False), ("lines", "BIGINT", False), ("head_hash", "VARCHAR", False),
        ("tail_open", "BOOLEAN", False), ("parser_state", "JSON", True), ("updated_at", "TIMESTAMP", False),
    ],
    "ingest_errors": [
        ("path", "VARCHAR", False), ("line", "BIGINT", False), ("message", "VARCHAR", False),
        ("seen_at", "TIMESTAMP", False),
    ],
    # 0002_directory
    "people": [
        ("person", "VARCHAR", False), ("name", "VARCHAR", True), ("team", "VARCHAR", True),
        ("manager", "VARCHAR", True), ("role", "VARCHAR", True), ("updated_at", "TIMESTAMP", False),
    ],
    "aliases": [("alias", "VARCHAR", False), ("person", "VARCHAR", False)],
    "api_keys": [
        ("id", "VARCHAR", False), ("hash", "VARCHAR", False), ("kind", "VARCHAR", False), ("team", "VARCHAR", True),
        ("person", "VARCHAR", True), ("name", "VARCHAR", True), ("created_at", "TIMESTAMP", False),
        ("last_used_at", "TIMESTAMP", True), ("revoked_at", "TIMESTAMP", True),
    ],
    "prompts": [
        ("id", "VARCHAR", False), ("ts", "TIMESTAMP", False), ("tool", "VARCHAR", False), ("person", "VARCHAR", True),
        ("session", "VARCHAR", True), ("prompt_id", "VARCHAR", True), ("length", "BIGINT", True),
        ("text", "VARCHAR", True), ("ingested_at", "TIMESTAMP", False),
    ],
    "metric_series": [
        ("series", "VARCHAR", False), ("start_ns", "BIGINT", False), ("time_ns", "BIGINT", False),
        ("value", "BIGINT", False), ("updated_at", "TIMESTAMP", False),
    ],
    "push_state": [
        ("server", "VARCHAR", False), ("usage_at", "TIMESTAMP", True), ("usage_id", "VARCHAR", True),
        ("outcome_at", "TIMESTAMP", True), ("outcome_id", "VARCHAR", True), ("pushed_at", "TIMESTAMP", False),
    ],
    "incidents": [
        ("id", "VARCHAR", False), ("person", "VARCHAR", False), ("day", "VARCHAR", False), ("cause", "VARCHAR", False),
        ("evidence", "JSON", True), ("shadow", "BOOLEAN", False), ("tripped_at", "TIMESTAMP", False),
        ("reenabled_at", "TIMESTAMP", True), ("reenabled_by", "VARCHAR", True), ("reenable_reason", "VARCHAR", True),
    ],
    "overrides": [
        ("id", "VARCHAR", False), ("scope", "VARCHAR", False), ("period", "VARCHAR", False),
        ("raise_micros", "BIGINT", False), ("reason", "VARCHAR", False), ("granted_by", "VARCHAR", False),
        ("granted_at", "TIMESTAMP", False),
    ],
    "conversations": [
        ("id", "VARCHAR", False), ("period", "VARCHAR", False), ("person", "VARCHAR", False), ("team", "VARCHAR", True),
        ("reasons", "JSON", False), ("evidence", "JSON", False), ("status", "VARCHAR", False), ("notes", "VARCHAR", True),
        ("scheduled_for", "VARCHAR", True), ("created_at", "TIMESTAMP", False), ("updated_at", "TIMESTAMP", False),
        ("updated_by", "VARCHAR", True),
    ],
    "audit_log": [
        ("id", "VARCHAR", False), ("ts", "TIMESTAMP", False), ("actor", "VARCHAR", False), ("action", "VARCHAR", False),
        ("subject", "VARCHAR", False), ("detail", "JSON", True),
    ],
    "web_sessions": [
        ("id", "VARCHAR", False), ("person", "VARCHAR", True), ("actor", "VARCHAR", False), ("role", "VARCHAR", False),
        ("created_at", "TIMESTAMP", False), ("expires_at", "TIMESTAMP", False),
    ],
    "login_links": [
        ("id", "VARCHAR", False), ("person", "VARCHAR", False), ("created_at", "TIMESTAMP", False),
        ("expires_at", "TIMESTAMP", False), ("used_at", "TIMESTAMP", True),
    ],
    "org_settings": [
        ("name", "VARCHAR", False), ("value", "JSON", False), ("updated_at", "TIMESTAMP", False),
        ("updated_by", "VARCHAR", False),
    ],
    "session_shares": [
        ("id", "VARCHAR", False), ("session", "VARCHAR", False), ("person", "VARCHAR", False),
        ("created_at", "TIMESTAMP", False), ("revoked_at", "TIMESTAMP", True),
    ],
    # 0006_vendor_ledgers
    "vendor_costs": [
        ("id", "VARCHAR", False), ("vendor", "VARCHAR", False), ("day", "DATE", False),
        ("starting_at", "TIMESTAMP", False), ("ending_at", "TIMESTAMP", False), ("amount_micros", "BIGINT", False),
        ("currency", "VARCHAR", False), ("scope", "VARCHAR", True), ("item", "VARCHAR", True),
        ("cost_type", "VARCHAR", True), ("model", "VARCHAR", True), ("token_type", "VARCHAR", True),
        ("service_tier", "VARCHAR", True), ("context_window", "VARCHAR", True), ("inference_geo", "VARCHAR", True),
        ("source", "VARCHAR", False), ("confidence", "VARCHAR", False),
    ],
    "sync_state": [("name", "VARCHAR", False), ("last_start", "TIMESTAMP", False), ("updated_at", "TIMESTAMP", False)],
    # 0007_vendor_days
    "vendor_days": [("person", "VARCHAR", False), ("tool", "VARCHAR", False), ("day", "DATE", False)],
}
# PostgreSQL's names for the same column types.
POSTGRES_TYPES = {"VARCHAR": "text", "BIGINT": "bigint", "INTEGER": "integer", "TIMESTAMP": "timestamp without time zone",
                  "JSON": "jsonb", "BOOLEAN": "boolean", "DATE": "date"}


def schema_of(store: DuckDBStore) -> dict[str, list[tuple[str, str, bool]]]:
    rows = store.con.execute("""
        SELECT table_name, column_name, data_type, is_nullable = 'YES'
        FROM information_schema.columns WHERE table_schema = 'main'
        ORDER BY table_name, ordinal_position""").fetchall()
    schema: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, kind, nullable in rows:
        schema.setdefault(table, []).append((column, kind, nullable))
    return schema


def applied(store: DuckDBStore) -> list[tuple[int, str]]:
    return store.con.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "tokenpulse.duckdb"


def with_extra(*extra: Migration):
    """A stand-in for `migrations_for`: the real migrations plus `extra` (as if a newer release shipped them)."""
    real = migrations_for("duckdb")

    def fake(backend: str) -> list[Migration]:
        assert backend == "duckdb"
        return [*real, *extra]
    return fake


def test_the_shipped_migrations_are_numbered_from_one_without_gaps() -> None:
    found = migrations_for("duckdb")
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "events"


def test_a_blank_store_gets_every_migration_and_exactly_the_expected_schema(db_path: Path) -> None:
    store = DuckDBStore(db_path)
    try:
        assert applied(store) == [(m.version, m.name) for m in migrations_for("duckdb")]
        assert store.schema_version() == len(migrations_for("duckdb"))
        assert schema_of(store) == EXPECTED_SCHEMA
        assert store.counts() == {"events": 0, "outcomes": 0, "source_files": 0, "ingest_errors": 0}
    finally:
        store.close()


def test_reopening_a_current_store_applies_nothing(db_path: Path) -> None:
    store = DuckDBStore(db_path)
    first = store.con.execute("SELECT version, name, applied_at FROM schema_migrations").fetchall()
    store.close()
    store = DuckDBStore(db_path)
    try:
        assert store.con.execute("SELECT version, name, applied_at FROM schema_migrations").fetchall() == first
        assert schema_of(store) == EXPECTED_SCHEMA
    finally:
        store.close()


def test_a_store_written_by_a_newer_tokenpulse_is_refused(db_path: Path) -> None:
    store = DuckDBStore(db_path)
    store.con.execute("INSERT INTO schema_migrations VALUES (99, 'from_the_future', now()::TIMESTAMP)")
    store.close()
    with pytest.raises(StoreError, match="newer tokenpulse.*99"):
        DuckDBStore(db_path)


def test_an_older_store_is_upgraded_once(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    DuckDBStore(db_path).close()  # a store made by the release that knew only the shipped migrations
    next_version = len(migrations_for("duckdb")) + 1
    extra = Migration(next_version, "test_budgets", """
        CREATE TABLE test_budgets (person VARCHAR PRIMARY KEY, monthly_micros BIGINT NOT NULL);
        INSERT INTO test_budgets VALUES ('alice@example.com', 50000000);
        ALTER TABLE events ADD COLUMN test_team VARCHAR;""")
    monkeypatch.setattr(migrate, "migrations_for", with_extra(extra))

    store = DuckDBStore(db_path)
    try:
        assert applied(store)[-1] == (next_version, "test_budgets")
        assert store.schema_version() == next_version
        assert store.con.execute("SELECT * FROM test_budgets").fetchall() == [("alice@example.com", 50_000_000)]
        assert ("test_team", "VARCHAR", True) in schema_of(store)["events"]
    finally:
        store.close()

    store = DuckDBStore(db_path)  # opening again: nothing to do (the INSERT did not run twice)
    try:
        versions = [v for v, _ in applied(store)]
        assert versions == list(range(1, next_version + 1))
        assert store.con.execute("SELECT count(*) FROM test_budgets").fetchone() == (1,)
    finally:
        store.close()


def test_a_failing_migration_leaves_no_trace_and_is_retried(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    DuckDBStore(db_path).close()
    next_version = len(migrations_for("duckdb")) + 1
    broken = Migration(next_version, "broken", """
        CREATE TABLE half_done (x INTEGER);
        INSERT INTO no_such_table VALUES (1);""")
    monkeypatch.setattr(migrate, "migrations_for", with_extra(broken))
    with pytest.raises(StoreError, match=f"migration {next_version:04d}_broken failed"):
        DuckDBStore(db_path)

    monkeypatch.undo()
    store = DuckDBStore(db_path)  # the shipped code sees the store as it was before the failed attempt
    try:
        assert [v for v, _ in applied(store)] == [m.version for m in migrations_for("duckdb")]
        assert schema_of(store) == EXPECTED_SCHEMA  # no `half_done` table
    finally:
        store.close()

    fixed = Migration(next_version, "broken", "CREATE TABLE half_done (x INTEGER);")
    monkeypatch.setattr(migrate, "migrations_for", with_extra(fixed))
    store = DuckDBStore(db_path)  # and the corrected migration is applied on the next open
    try:
        assert [v for v, _ in applied(store)] == list(range(1, next_version + 1))
        assert store.con.execute("SELECT count(*) FROM half_done").fetchone() == (0,)
    finally:
        store.close()


def test_migration_files_must_be_numbered_without_gaps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "pkg" / "migrations" / "duckdb"
    folder.mkdir(parents=True)
    (folder / "0001_first.sql").write_text("CREATE TABLE a (x INTEGER);")
    (folder / "0003_third.sql").write_text("CREATE TABLE c (x INTEGER);")
    (folder / "README.md").write_text("not a migration")
    monkeypatch.setattr(migrate.resources, "files", lambda package: tmp_path / "pkg")
    with pytest.raises(StoreError, match=r"not numbered 1\.\.n without gaps: \[1, 3\]"):
        migrations_for("duckdb")

    (folder / "0002_second.sql").write_text("CREATE TABLE b (x INTEGER);")
    assert [(m.version, m.name) for m in migrations_for("duckdb")] == [(1, "first"), (2, "second"), (3, "third")]


# --- both backends: the same migrations, blank and upgraded --------------------------------------------


def test_postgres_has_the_same_migrations_and_the_same_schema(pg_url: str) -> None:
    from tokenpulse.store.postgres import PostgresStore

    assert [(m.version, m.name) for m in migrations_for("postgres")] == \
        [(m.version, m.name) for m in migrations_for("duckdb")]
    store = PostgresStore(pg_url)
    try:
        rows = store.con.execute("""
            SELECT table_name, column_name, data_type, is_nullable = 'YES'
            FROM information_schema.columns WHERE table_schema = current_schema()
            ORDER BY table_name, ordinal_position""").fetchall()
        schema: dict[str, list[tuple[str, str, bool]]] = {}
        for table, column, kind, nullable in rows:
            schema.setdefault(table, []).append((column, kind, nullable))
        expected = {table: [(c, POSTGRES_TYPES[kind], n) for c, kind, n in columns]
                    for table, columns in EXPECTED_SCHEMA.items()}
        assert schema == expected
        assert store.schema_version() == len(migrations_for("postgres"))
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_a_store_from_the_first_release_is_upgraded_with_its_data(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    from tokenpulse.people import Person
    from tokenpulse.store import UsageQuery, open_store

    location = tmp_path / "v1.duckdb" if backend == "duckdb" else request.getfixturevalue("pg_url")
    real = migrations_for
    monkeypatch.setattr(migrate, "migrations_for", lambda b: real(b)[:1])
    old = open_store(location)  # schema version 1, with usage recorded under an OpenTelemetry account id
    assert old.schema_version() == 1
    for sql in ("""INSERT INTO events (id, ts, person, tool, model, source, confidence, input_tokens, cost_micros,
                                       ingested_at)
                   VALUES ('e1', TIMESTAMP '2026-03-01 10:15:00', 'account:4f1c', 'claude_code', 'claude-sonnet-4-5',
                           'otlp', 'metered', 100, 300, TIMESTAMP '2026-03-01 10:15:01')""",
                "INSERT INTO dirty_hours VALUES (TIMESTAMP '2026-03-01 10:00:00')"):
        old.con.execute(sql)
    old.close()

    monkeypatch.undo()
    store = open_store(location)
    try:
        assert store.schema_version() == len(migrations_for(backend))
        assert [(e.id, e.person, e.cost_micros) for e in store.iter_usage()] == [("e1", "account:4f1c", 300)]
        # The new tables work on the upgraded store: the directory claims the account id for Alice.
        moved = store.save_people([Person("alice@example.com", team="payments", aliases=["account:4f1c"])])
        assert moved == 1
        assert [(e.id, e.person) for e in store.iter_usage()] == [("e1", "alice@example.com")]
        rows = store.usage_rows(UsageQuery(group="day", people=("alice@example.com",)))
        assert [(r.requests, r.input_tokens, r.cost_micros) for r in rows] == [(1, 100, 300)]
        # ... and the dashboard's (0005): its settings, and usage grouped within a team's scope.
        from datetime import UTC, datetime

        from tokenpulse.store.web import Scope

        store.set_org_setting("visibility", "private", "admin", datetime(2026, 3, 2, tzinfo=UTC))
        assert store.org_settings() == {"visibility": "private"}
        grouped = store.usage_grouped(["person", "tool"], since=None, until=None, scope=Scope(teams=("payments",)))
        assert [(g["person"], g["tool"], g["requests"], g["cost_micros"]) for g in grouped] == [
            ("alice@example.com", "claude_code", 1, 300)]
        assert store.usage_grouped(["person"], since=None, until=None, scope=Scope(teams=("other",))) == []
        # ... and the vendor ledgers' (0006): a sync cursor.
        store.save_sync_state("anthropic", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
        assert store.sync_state("anthropic") == datetime(2026, 3, 1, tzinfo=UTC)
    finally:
        store.close()
