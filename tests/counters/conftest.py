"""Fixtures for the counters contract: one suite, run on MemoryCounters and on RedisCounters.

Redis is the real server on 127.0.0.1:6379 (fixtures `redis_client` and `redis_prefix` in the top-level
conftest)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from counters_support import FakeClock

from tokenpulse.counters import MemoryCounters
from tokenpulse.counters.redis import RedisCounters


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 4, 20, 0, 0, tzinfo=UTC))


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def counters(backend: str, clock: FakeClock, request: pytest.FixtureRequest) -> MemoryCounters | RedisCounters:
    """The implementation under test, on the test's clock."""
    if backend == "memory":
        return MemoryCounters(clock=clock)
    client = request.getfixturevalue("redis_client")
    return RedisCounters(client, request.getfixturevalue("redis_prefix"), clock=clock)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
