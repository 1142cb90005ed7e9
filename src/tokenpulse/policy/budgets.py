"""Budgets, self-service overrides and once-per-threshold alerts, as pure functions.

A budget caps one scope's spend over a calendar period (`person:alice@x.com|tool:claude_code`,
`team:payments`). The gateway enforces it with the reserve/settle counters (`tokenpulse.counters`);
this module only decides: what the limit is this period once overrides are counted, whether a new
override is allowed, and which alert thresholds a settle crossed.

Overrides are the "one-click" raise for a person who hits a monthly cap. They are bounded by an
`OverridePolicy`, so a cap cannot be overridden into meaninglessness: at most `max_per_period`
overrides per scope and period, and all the raises of one period together add at most
`max_raise_percent` of the budget's own limit (so the effective limit never exceeds
`limit × (1 + max_raise_percent / 100)`, however the raises are split).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ..errors import TokenpulseError
from ..money import format_usd
from .periods import PERIOD_KINDS, PeriodKind, period_id, require_aware


class PolicyError(TokenpulseError):
    """A policy action is not allowed (an override beyond policy, re-enabling a breaker that is not
    tripped, ...); the message says why, with the figures."""


def _require_micros(value: object, name: str, *, positive: bool = False) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be integer micro-USD, got {type(value).__name__}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'}, got {value}")


@dataclass(frozen=True)
class Budget:
    """A cap of `limit_micros` on `scope` per calendar `period`; alerts at `alert_at` percent of it."""

    scope: str
    limit_micros: int
    period: PeriodKind = "month"
    alert_at: tuple[int, ...] = (80, 100)

    def __post_init__(self) -> None:
        if not self.scope or not isinstance(self.scope, str):
            raise ValueError("a budget needs a scope, e.g. 'team:payments'")
        _require_micros(self.limit_micros, "limit_micros")
        if self.period not in PERIOD_KINDS:
            raise ValueError(f"budget period must be 'day' or 'month', got {self.period!r}")
        alert_at = tuple(self.alert_at)
        for pct in alert_at:
            if not isinstance(pct, int) or isinstance(pct, bool) or pct <= 0:
                raise ValueError(f"alert thresholds are positive integer percentages, got {pct!r}")
        object.__setattr__(self, "alert_at", tuple(sorted(set(alert_at))))

    def counter_key(self, period: str) -> str:
        """The counter key for this budget in period `period` (e.g. `budget:month:2026-12:team:payments`).

        The period id is part of the key, so a new period starts from zero without any reset job
        and an old period's key simply expires."""
        return f"budget:{self.period}:{period}:{self.scope}"

    def current_period(self, now: datetime, tz: str) -> str:
        return period_id(self.period, now, tz)


@dataclass(frozen=True)
class Override:
    """A granted raise of `raise_micros` on `scope` for one period, with who asked, why and when."""

    scope: str
    period_id: str
    raise_micros: int
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class OverridePolicy:
    """How far self-service overrides may go (see the module docstring)."""

    max_per_period: int = 1
    max_raise_percent: int = 100

    def __post_init__(self) -> None:
        if self.max_per_period < 0 or self.max_raise_percent < 0:
            raise ValueError("override policy limits must be non-negative")


def _relevant(budget: Budget, overrides: Iterable[Override], period: str | None) -> list[Override]:
    return [o for o in overrides if o.scope == budget.scope and (period is None or o.period_id == period)]


def check_override(policy: OverridePolicy, budget: Budget, existing_overrides: Iterable[Override],
                   raise_micros: int, *, period: str | None = None) -> None:
    """Raise PolicyError unless one more override of `raise_micros` is within `policy`.

    `existing_overrides` are those already granted; only the ones for this budget's scope (and, if
    `period` is given, that period) count, so passing a wider list is safe."""
    _require_micros(raise_micros, "raise_micros", positive=True)
    granted = _relevant(budget, existing_overrides, period)
    where = f"{budget.scope}" + (f" in {period}" if period else " this period")
    if len(granted) >= policy.max_per_period:
        raise PolicyError(
            f"no more overrides for {where}: {len(granted)} already granted, the policy allows "
            f"{policy.max_per_period} per {budget.period}; ask an administrator to raise the budget")
    already = sum(o.raise_micros for o in granted)
    allowed = budget.limit_micros * policy.max_raise_percent // 100
    if (already + raise_micros) * 100 > budget.limit_micros * policy.max_raise_percent:
        left = max(allowed - already, 0)
        raise PolicyError(
            f"an override of {format_usd(raise_micros)} on {where} is too large: the policy allows raises "
            f"of up to {policy.max_raise_percent}% of the {format_usd(budget.limit_micros)} budget "
            f"({format_usd(allowed)}) per {budget.period}, {format_usd(already)} already granted, "
            f"{format_usd(left)} left")


def grant_override(policy: OverridePolicy, budget: Budget, existing_overrides: Iterable[Override],
                   raise_micros: int, reason: str, by: str, now: datetime, tz: str) -> Override:
    """Check and build the override for the period containing `now` (a reason is required: it is
    the audit trail)."""
    require_aware(now)
    if not reason or not reason.strip():
        raise PolicyError("an override needs a reason (it is kept with the budget's audit trail)")
    if not by or not by.strip():
        raise PolicyError("an override needs the identity of who asked for it")
    period = budget.current_period(now, tz)
    check_override(policy, budget, existing_overrides, raise_micros, period=period)
    return Override(budget.scope, period, raise_micros, reason.strip(), by, now)


def effective_limit(budget: Budget, overrides: Iterable[Override], *, period: str | None = None) -> int:
    """The budget's limit plus the raises granted on its scope (in `period`, when given)."""
    return budget.limit_micros + sum(o.raise_micros for o in _relevant(budget, overrides, period))


def _reached(limit: int, spend: int, pct: int) -> bool:
    """Is `spend` at or above `pct`% of `limit`? (A zero limit counts as reached by any spend.)"""
    if limit == 0:
        return spend > 0
    return spend * 100 >= pct * limit


def crossed_thresholds(budget_limit: int, before_micros: int, after_micros: int,
                       alert_at: Iterable[int]) -> list[int]:
    """The thresholds (ascending percentages) reached at `after_micros` but not at `before_micros`.

    A threshold is reached when spend >= pct% of the limit. Feed it the settled spend before and
    after one settle (`Counters.settle` returns the settled total `after`; `before` is
    `after - actual`): settled spend only grows, and each atomic settle moves it across its own
    interval, so across all replicas every threshold is crossed by exactly one settle per period.
    """
    return sorted(pct for pct in set(alert_at)
                  if _reached(budget_limit, after_micros, pct) and not _reached(budget_limit, before_micros, pct))
