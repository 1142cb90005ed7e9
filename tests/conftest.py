"""Shared fixtures: every test gets its own data directory and an environment with no real logs."""

from __future__ import annotations

import os
import shutil
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
                 "TOKENPULSE_DISCOUNT", "TOKENPULSE_PRICES", "TOKENPULSE_PERSON", "TOKENPULSE_DB"):
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


@pytest.fixture
def ccusage() -> Path:
    """The ccusage 20.0.24 binary installed by `make peers`. Required in CI; skipped elsewhere."""
    if CCUSAGE.exists():
        return CCUSAGE
    if os.environ.get("CI"):
        pytest.fail(f"ccusage is not installed at {CCUSAGE}; `make peers` installs it")
    pytest.skip("ccusage not installed (run `make peers`)")
