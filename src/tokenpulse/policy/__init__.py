"""Spend policy as pure state machines over an injected clock: budgets, overrides, the circuit breaker.

Nothing here does I/O, sleeps or reads the clock: `now` and the org's timezone are parameters, so
every replica decides the same way and the tests control time exactly.
"""

from .breaker import (
    REENABLE_COMMAND,
    BreakerPolicy,
    BreakerState,
    Cause,
    Decision,
    Observation,
    Reenable,
    baseline_micros,
    current_state,
    daily_threshold,
    evaluate,
    loop_threshold,
    new_state,
    rate_threshold,
    reenable,
    refusal_message,
    trip,
)
from .budgets import (
    Budget,
    Override,
    OverridePolicy,
    PolicyError,
    check_override,
    crossed_thresholds,
    effective_limit,
    grant_override,
)
from .periods import PeriodKind, period_end, period_id, period_start, seconds_until_end

__all__ = [
    "REENABLE_COMMAND", "BreakerPolicy", "BreakerState", "Budget", "Cause", "Decision", "Observation",
    "Override", "OverridePolicy", "PeriodKind", "PolicyError", "Reenable", "baseline_micros",
    "check_override", "crossed_thresholds", "current_state", "daily_threshold", "effective_limit",
    "evaluate", "grant_override", "loop_threshold", "new_state", "period_end", "period_id", "period_start",
    "rate_threshold", "reenable", "refusal_message", "seconds_until_end", "trip",
]
