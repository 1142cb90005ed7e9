"""Fixtures for the vendor ledger tests: the fake admin APIs and clients whose sleeps are recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_ledgers import FakeLedgers, running


@pytest.fixture
def ledgers() -> Iterator[FakeLedgers]:
    with running() as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait a client asked for (the test's `sleep` records instead of waiting)."""
    return []
