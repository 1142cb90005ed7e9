"""Fixtures: a running collector on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from collector_process import Collector


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return str(tmp_path / "collector" / "tokenpulse.duckdb")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def collector(backend: str, tmp_path: Path) -> Iterator[Collector]:
    """A server with keys, started; stopped (if still running) after the test."""
    c = Collector(location=backend, home=tmp_path / "collector-home")
    c.make_keys()
    c.start("--decode-workers", "0")
    yield c
    if c.proc is not None:
        c.kill()
