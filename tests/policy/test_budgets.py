"""Budgets, bounded self-service overrides and alerts that fire once per threshold per period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from tokenpulse.errors import TokenpulseError
from tokenpulse.policy import (
    Budget,
    Override,
    OverridePolicy,
    PolicyError,
    check_override,
    crossed_thresholds,
    effective_limit,
    grant_override,
)

USD = 1_000_000
LA = "America/Los_Angeles"
ALICE = "person:alice@x.com|tool:claude_code"


def override(raise_micros: int, scope: str = ALICE, period: str = "2026-12") -> Override:
    return Override(scope, period, raise_micros, "release week", "alice@x.com", datetime.fromisoformat("2026-12-04T20:00:00+00:00"))


def test_budget_validates_and_normalises() -> None:
    budget = Budget("team:payments", 500 * USD, "month", alert_at=(100, 50, 80, 80))
    assert budget.alert_at == (50, 80, 100)
    assert budget.counter_key("2026-12") == "budget:month:2026-12:team:payments"
    with pytest.raises(TypeError, match="integer micro-USD"):
        Budget("team:payments", 500.0, "month")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        Budget("team:payments", -1, "month")
    with pytest.raises(ValueError, match="'day' or 'month'"):
        Budget("team:payments", 1, "week")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive integer percentages"):
        Budget("team:payments", 1, "month", alert_at=(0,))
    with pytest.raises(ValueError, match="scope"):
        Budget("", 1, "month")


def test_current_period_uses_the_org_timezone(utc: Callable[..., datetime]) -> None:
    budget = Budget(ALICE, 200 * USD, "month")
    assert budget.current_period(utc(2026, 12, 1, 5), LA) == "2026-11"
    assert budget.current_period(utc(2026, 12, 1, 8), LA) == "2026-12"
    assert Budget(ALICE, 10 * USD, "day").current_period(utc(2026, 12, 1, 5), LA) == "2026-11-30"


def test_one_override_per_period_by_default() -> None:
    budget = Budget(ALICE, 200 * USD, "month")
    policy = OverridePolicy()
    check_override(policy, budget, [], 200 * USD)  # the first one, up to +100%, is fine
    with pytest.raises(PolicyError, match=r"1 already granted, the policy allows 1 per month"):
        check_override(policy, budget, [override(50 * USD)], 10 * USD)


def test_raise_is_capped_at_a_percentage_of_the_budget_in_total() -> None:
    budget = Budget(ALICE, 200 * USD, "month")
    policy = OverridePolicy(max_per_period=3, max_raise_percent=100)
    with pytest.raises(PolicyError, match=r"\$200\.01.*up to 100% of the \$200\.00 budget \(\$200\.00\)"):
        check_override(policy, budget, [], 200 * USD + 10_000)
    granted = [override(80 * USD), override(80 * USD)]
    with pytest.raises(PolicyError, match=r"\$160\.00 already granted, \$40\.00 left"):
        check_override(policy, budget, granted, 40 * USD + 1)
    check_override(policy, budget, granted, 40 * USD)  # exactly to the cap


def test_only_overrides_of_this_scope_and_period_count() -> None:
    budget = Budget(ALICE, 200 * USD, "month")
    policy = OverridePolicy()
    others = [override(200 * USD, scope="team:payments"), override(200 * USD, period="2026-11")]
    check_override(policy, budget, others, 200 * USD, period="2026-12")
    assert effective_limit(budget, others, period="2026-12") == 200 * USD
    assert effective_limit(budget, [*others, override(150 * USD)], period="2026-12") == 350 * USD
    # Without a period, every override on the scope counts (the caller passed this period's).
    assert effective_limit(budget, [override(150 * USD), override(1 * USD, period="2026-11")]) == 351 * USD


def test_override_amounts_must_be_positive_integer_micros() -> None:
    budget = Budget(ALICE, 200 * USD, "month")
    with pytest.raises(ValueError, match="positive"):
        check_override(OverridePolicy(), budget, [], 0)
    with pytest.raises(TypeError, match="integer micro-USD"):
        check_override(OverridePolicy(), budget, [], 1.5)  # type: ignore[arg-type]


def test_grant_override_needs_a_reason_and_records_the_local_period(utc: Callable[..., datetime]) -> None:
    budget = Budget(ALICE, 200 * USD, "month")
    now = utc(2026, 12, 1, 5)  # still November in Los Angeles
    granted = grant_override(OverridePolicy(), budget, [], 100 * USD, "  launch day  ", "alice@x.com", now, LA)
    assert granted == Override(ALICE, "2026-11", 100 * USD, "launch day", "alice@x.com", now)
    # The November override does not use up December's allowance.
    grant_override(OverridePolicy(), budget, [granted], 100 * USD, "again", "alice@x.com", utc(2026, 12, 1, 8), LA)
    with pytest.raises(PolicyError, match="no more overrides for .* in 2026-11"):
        grant_override(OverridePolicy(), budget, [granted], 1, "again", "alice@x.com", now, LA)
    with pytest.raises(PolicyError, match="needs a reason"):
        grant_override(OverridePolicy(), budget, [], 100 * USD, "   ", "alice@x.com", now, LA)
    assert issubclass(PolicyError, TokenpulseError)


@pytest.mark.parametrize(
    ("before", "after", "crossed"),
    [
        (0, 799, []),
        (799, 800, [80]),          # exactly 80% reaches 80
        (800, 999, []),            # already past 80: not again
        (799, 1000, [80, 100]),
        (1000, 5000, []),
        (900, 800, []),            # spend going down crosses nothing
        (0, 0, []),
    ],
)
def test_crossed_thresholds_exact_boundaries(before: int, after: int, crossed: list[int]) -> None:
    assert crossed_thresholds(1000, before, after, (80, 100)) == crossed


def test_each_threshold_fires_once_over_a_sequence_of_settles() -> None:
    limit = 333_333  # not a round number: 80% is 266,666.4 micro-USD
    spent, fired = 0, []
    for cost in [100_000, 100_000, 66_666, 1, 50_000, 16_666, 1, 500_000, 7]:
        fired += crossed_thresholds(limit, spent, spent + cost, (50, 80, 100, 150))
        spent += cost
    assert fired == [50, 80, 100, 150]
    # 266,666 is below 80% of 333,333 and 266,667 is at or above it.
    assert crossed_thresholds(limit, 0, 266_666, (80,)) == []
    assert crossed_thresholds(limit, 266_666, 266_667, (80,)) == [80]


def test_a_zero_limit_alerts_on_the_first_spend() -> None:
    assert crossed_thresholds(0, 0, 1, (80, 100)) == [80, 100]
    assert crossed_thresholds(0, 1, 5, (80, 100)) == []
    assert crossed_thresholds(0, 0, 0, (80, 100)) == []
