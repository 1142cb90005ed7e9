"""Hot-path enforcement counters: in memory for one process, in Redis for several replicas.

`MemoryCounters` and `RedisCounters` implement the same `Counters` contract (see `base`) and pass
the same contract tests. `RedisCounters` is imported from `tokenpulse.counters.redis` so that
importing this package does not require a Redis client.
"""

from .base import (
    DEFAULT_HOLD_SECONDS,
    Counters,
    Denied,
    Reservation,
    Usage,
)
from .failure import UNREACHABLE, CountersUnavailable
from .memory import MemoryCounters

__all__ = ["DEFAULT_HOLD_SECONDS", "UNREACHABLE", "Counters", "CountersUnavailable", "Denied", "MemoryCounters",
           "Reservation", "Usage"]
