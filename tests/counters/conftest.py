"""Fixtures for the counters contract: one suite, run on MemoryCounters and on RedisCounters.

Redis is the real server on 127.0.0.1:6379; each test gets its own random key prefix and its keys
are deleted afterwards (SCAN on the prefix). Without a reachable server the Redis cases skip,
except in CI (env CI set), where they fail."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from counters_support import REDIS_URL, FakeClock

from tokenpulse.counters import MemoryCounters
from tokenpulse.counters.redis import RedisCounters


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 4, 20, 0, 0, tzinfo=UTC))


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
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
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"tptest:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}*", count=1000))
    for i in range(0, len(keys), 500):
        redis_client.delete(*keys[i:i + 500])


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
