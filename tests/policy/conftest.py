"""Fixtures for the pure policy tests: a fixed breaker policy in a non-UTC timezone and a UTC-instant maker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tokenpulse.policy import BreakerPolicy

LA = "America/Los_Angeles"
USD = 1_000_000


@pytest.fixture
def utc() -> Callable[..., datetime]:
    """utc(2026, 12, 4, 20) -> an aware UTC datetime."""
    def make(*parts: int) -> datetime:
        return datetime(*parts, tzinfo=UTC)
    return make


@pytest.fixture
def policy() -> BreakerPolicy:
    """The defaults, written out so the tests read with their figures: k = 3, floor $50, rate $25 per
    10 minutes, 12 repeats of one prompt in 10 minutes, +100% per re-enable, days in Los Angeles."""
    return BreakerPolicy(tz=LA, multiplier_k=3, floor_micros=50 * USD, baseline_days=28, baseline_percentile=90,
                         rate_window_seconds=600, rate_limit_micros=25 * USD, loop_window_seconds=600,
                         loop_repeats=12, loop_size_tolerance_percent=10, reenable_raise_percent=100)
