"""Helpers for the counters tests: the injected clock, and work run in spawned processes against the
real Redis (a module of its own so that worker processes can import it)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from tokenpulse.counters import Reservation
from tokenpulse.counters.redis import connect

REDIS_URL = os.environ.get("TOKENPULSE_TEST_REDIS", "redis://127.0.0.1:6379/0")


class FakeClock:
    """An injected clock the tests move by hand."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def reserve_and_settle(url: str, prefix: str, keys: list[tuple[str, int | None]], amount: int, attempts: int,
                       threads: int) -> int:
    """Try `attempts` reservations from `threads` threads of this process, settle the admitted ones at
    their reserved amount, and return how many were admitted."""
    counters = connect(url, prefix, timeout_seconds=5)
    ttls = [3600] * len(keys)

    def one(_: int) -> int:
        result = counters.reserve(keys, amount, ttls)
        if isinstance(result, Reservation):
            counters.settle(result, amount)
            return 1
        return 0

    try:
        with ThreadPoolExecutor(threads) as pool:
            return sum(pool.map(one, range(attempts)))
    finally:
        counters.close()
