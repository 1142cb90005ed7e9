"""Shared fixtures: every test gets its own data directory and an environment with no real logs."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tokenpulse.pricing import PriceBook, load_price_book
from tokenpulse.store.duckdb import DuckDBStore

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
CCUSAGE = REPO / ".peers" / "ccusage" / "node_modules" / ".bin" / "ccusage"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the developer's real logs or data directory."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TOKENPULSE_HOME", str(tmp_path / "tokenpulse"))
    for name in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME", "TOKENPULSE_CONFIG", "TOKENPULSE_TZ",
                 "TOKENPULSE_DISCOUNT", "TOKENPULSE_PRICES", "TOKENPULSE_PERSON", "TOKENPULSE_DB",
                 "TOKENPULSE_SERVER", "TOKENPULSE_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return home


@pytest.fixture
def data() -> Path:
    return DATA


@pytest.fixture
def book() -> PriceBook:
    return load_price_book()


@pytest.fixture
def store(tmp_path: Path):
    s = DuckDBStore(tmp_path / "store" / "tokenpulse.duckdb")
    yield s
    s.close()


@pytest.fixture
def copy_data(tmp_path: Path):
    """Copy a folder of test data somewhere writable; returns the copy's path."""
    def copy(relative: str) -> Path:
        target = tmp_path / "copy" / relative
        shutil.copytree(DATA / relative, target)
        return target
    return copy


PG_ADMIN_URL = os.environ.get("TOKENPULSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose tables live in a schema of this test's own, dropped afterwards.

    The server on 127.0.0.1:5432 is required in CI (a missing server fails there); elsewhere its absence
    skips the test."""
    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required for this test and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    schema = f"tp_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture(params=["duckdb", "postgres"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path):
    """The same contract, on each backend."""
    from tokenpulse.store import open_store

    location = tmp_path / "store" / "tokenpulse.duckdb" if request.param == "duckdb" else request.getfixturevalue("pg_url")
    s = open_store(location)
    yield s
    s.close()


@pytest.fixture
def ccusage() -> Path:
    """The ccusage 20.0.24 binary installed by `make peers`. Required in CI; skipped elsewhere."""
    if CCUSAGE.exists():
        return CCUSAGE
    if os.environ.get("CI"):
        pytest.fail(f"ccusage is not installed at {CCUSAGE}; `make peers` installs it")
    pytest.skip("ccusage not installed (run `make peers`)")


REDIS_URL = os.environ.get("TOKENPULSE_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_client():
    """The Redis server on 127.0.0.1:6379. Required in CI (a missing server fails there); skipped elsewhere."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        client.close()
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required for this test and is not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"tptest:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}*", count=1000))
    for i in range(0, len(keys), 500):
        redis_client.delete(*keys[i:i + 500])
