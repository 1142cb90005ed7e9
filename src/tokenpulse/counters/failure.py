"""What happens when the enforcement store (Redis) cannot be reached.

Why a policy of its own: an outage of the counter store must not silently turn enforcement off,
nor silently stop every engineer's AI tools. The org chooses (`fail_open`), and either way the
gateway can see it and alert:

- fail-open: `reserve` returns a `Reservation` with `unenforced=True` (the request goes ahead
  unmetered by the counters; the ledger still records it);
- fail-closed: `reserve` returns `Denied(unavailable=True, reason=UNREACHABLE)`.

Every other operation raises `CountersUnavailable`, and an optional `on_unavailable(operation,
exception)` callback is told of every failure (for metrics and alerts).
"""

from __future__ import annotations

from collections.abc import Callable

import redis.exceptions as rex

from ..errors import TokenpulseError

UNREACHABLE = "enforcement store unreachable"

#: Errors that mean "the store is not there or not writable right now", as opposed to a bug.
STORE_ERRORS: tuple[type[Exception], ...] = (
    rex.ConnectionError,  # includes refused connections and BusyLoadingError
    rex.TimeoutError,
    rex.ReadOnlyError,  # a replica promoted/demoted during a failover
    rex.MasterDownError,
    rex.ClusterDownError,
    rex.TryAgainError,
)

UnavailableHook = Callable[[str, Exception], None]


class CountersUnavailable(TokenpulseError):
    """The enforcement store could not be reached; `operation` names what failed."""

    def __init__(self, message: str, operation: str):
        super().__init__(message)
        self.operation = operation
