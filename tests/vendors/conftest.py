"""Fixtures for the vendor ledger tests: the fake admin APIs and clients whose sleeps are recorded."""

from __future__ import annotations

from collections.abc import Iterator

import fake_claude_code
import fake_copilot
import fake_cursor
import pytest
from fake_ledgers import FakeLedgers, running


@pytest.fixture
def ledgers() -> Iterator[FakeLedgers]:
    with running() as fake:
        yield fake


@pytest.fixture
def cursor() -> Iterator[fake_cursor.FakeCursor]:
    """The fake Cursor Admin API."""
    with fake_cursor.running() as fake:
        yield fake


@pytest.fixture
def claude_code() -> Iterator[fake_claude_code.FakeClaudeCode]:
    """The fake of Anthropic's Claude Code usage report."""
    with fake_claude_code.running() as fake:
        yield fake


@pytest.fixture
def github() -> Iterator[fake_copilot.FakeGitHub]:
    """The fake GitHub API (Copilot metrics reports, their signed downloads, AI-credit billing)."""
    with fake_copilot.running() as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait a client asked for (the test's `sleep` records instead of waiting)."""
    return []
