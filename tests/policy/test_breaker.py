"""The spend circuit breaker: baseline, thresholds, the three causes, shadow mode, re-enable, new days."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from tokenpulse.errors import ConfigError
from tokenpulse.policy import (
    REENABLE_COMMAND,
    BreakerPolicy,
    BreakerState,
    Observation,
    PolicyError,
    baseline_micros,
    daily_threshold,
    evaluate,
    loop_threshold,
    new_state,
    rate_threshold,
    reenable,
    refusal_message,
)

USD = 1_000_000
LA = "America/Los_Angeles"


@pytest.fixture
def noon(utc: Callable[..., datetime]) -> datetime:
    """Friday 4 December 2026, 12:00 in Los Angeles."""
    return utc(2026, 12, 4, 20)


@pytest.fixture
def state(noon: datetime) -> BreakerState:
    return new_state(noon, LA)


# -- baseline and thresholds ------------------------------------------------------------------------------


def test_baseline_is_the_nearest_rank_percentile_of_active_days(policy: BreakerPolicy) -> None:
    days = [d * USD for d in range(10, 101, 10)]  # $10 .. $100, ten active days
    assert baseline_micros(days, policy) == 90 * USD  # rank ceil(0.9 × 10) = 9
    assert baseline_micros(days, replace(policy, baseline_percentile=50)) == 50 * USD
    assert baseline_micros(days, replace(policy, baseline_percentile=100)) == 100 * USD
    assert baseline_micros(days, replace(policy, baseline_percentile=0)) == 10 * USD
    assert baseline_micros(days[:7], policy) == 70 * USD  # rank ceil(6.3) = 7 of 7
    assert baseline_micros([], policy) == 0
    assert baseline_micros([0, 0, 0], policy) == 0


def test_baseline_skips_idle_days_and_keeps_the_last_n_active_ones(policy: BreakerPolicy) -> None:
    # Weekends and holidays (zero spend) are not "usual days": they must not drag the baseline down.
    with_idle_days = [0, 40 * USD, 0, 0, 60 * USD, 0, 50 * USD]
    assert baseline_micros(with_idle_days, replace(policy, baseline_percentile=50)) == 50 * USD
    # Only the last 3 active days count: the old $1,000 day has aged out.
    history = [1000 * USD, 0, 10 * USD, 20 * USD, 0, 30 * USD]
    assert baseline_micros(history, replace(policy, baseline_days=3, baseline_percentile=100)) == 30 * USD
    assert baseline_micros(history, replace(policy, baseline_days=4, baseline_percentile=100)) == 1000 * USD
    with pytest.raises(ValueError, match="daily spend"):
        baseline_micros([1, -1], policy)


def test_daily_threshold_is_k_times_baseline_or_the_floor(policy: BreakerPolicy) -> None:
    assert daily_threshold(policy, 100 * USD, 0) == 300 * USD
    assert daily_threshold(policy, 10 * USD, 0) == 50 * USD  # the floor
    assert daily_threshold(policy, 0, 0) == 50 * USD
    # k is exact whatever it is given as; k × baseline rounds down to the micro-USD.
    for k in (Fraction(5, 2), Decimal("2.5"), "2.5", 2.5):
        assert daily_threshold(replace(policy, multiplier_k=k, floor_micros=0), 3, 0) == 7
    assert daily_threshold(replace(policy, multiplier_k="1/3", floor_micros=0), 100 * USD, 0) == 33_333_333


def test_each_reenable_raises_the_thresholds_above_the_figure_that_tripped(policy: BreakerPolicy) -> None:
    # step = 100% of the $300 threshold; after one re-enable: max($300 + $300, spend at the trip + $300).
    assert daily_threshold(policy, 100 * USD, 1, spend_at_trip=250 * USD) == 600 * USD
    assert daily_threshold(policy, 100 * USD, 1, spend_at_trip=420 * USD) == 720 * USD
    assert daily_threshold(policy, 100 * USD, 2, spend_at_trip=610 * USD) == 910 * USD
    assert daily_threshold(policy, 100 * USD, 3, spend_at_trip=610 * USD) == 1200 * USD
    # With a 0% raise the re-enable still buys at least the floor's worth of headroom.
    flat = replace(policy, reenable_raise_percent=0)
    assert daily_threshold(flat, 100 * USD, 1, spend_at_trip=310 * USD) == 360 * USD
    half = replace(policy, reenable_raise_percent=50)
    assert daily_threshold(half, 100 * USD, 1, spend_at_trip=301 * USD) == 451 * USD
    assert rate_threshold(policy, 0) == 25 * USD
    assert rate_threshold(policy, 1, rate_at_trip=80 * USD) == 105 * USD
    assert loop_threshold(policy, 0) == 12
    assert loop_threshold(policy, 1, count_at_trip=12) == 24
    assert rate_threshold(replace(policy, rate_limit_micros=None), 1) is None
    assert loop_threshold(replace(policy, loop_repeats=None), 1) is None


# -- the three causes -------------------------------------------------------------------------------------


def test_trips_on_daily_spend_with_the_figures(policy: BreakerPolicy, state: BreakerState, noon: datetime) -> None:
    at_threshold = evaluate(state, Observation(today_micros=300 * USD, baseline_micros=100 * USD), policy, noon)
    assert at_threshold.action == "allow" and not at_threshold.refuses and at_threshold.state == state

    decision = evaluate(state, Observation(today_micros=300 * USD + 1, baseline_micros=100 * USD), policy, noon)
    assert decision.action == "trip" and decision.refuses and not decision.would_trip
    assert decision.cause == "daily_spend"
    assert decision.evidence == {
        "today_micros": 300 * USD + 1, "baseline_micros": 100 * USD, "reenables": 0,
        "threshold_micros": 300 * USD, "floor_micros": 50 * USD, "multiplier": "3",
        "baseline_days": 28, "baseline_percentile": 90,
    }
    assert decision.state.tripped_at == noon and decision.state.cause == "daily_spend"
    assert decision.state.trip_today_micros == 300 * USD + 1 and decision.state.trips == 1


def test_trips_on_spend_rate(policy: BreakerPolicy, state: BreakerState, noon: datetime) -> None:
    calm = Observation(today_micros=60 * USD, baseline_micros=100 * USD, rate_micros=25 * USD)
    assert evaluate(state, calm, policy, noon).action == "allow"
    burst = replace(calm, rate_micros=25 * USD + 1)
    decision = evaluate(state, burst, policy, noon)
    assert (decision.action, decision.cause) == ("trip", "spend_rate")
    assert decision.evidence == {"today_micros": 60 * USD, "baseline_micros": 100 * USD, "reenables": 0,
                                 "rate_micros": 25 * USD + 1, "rate_limit_micros": 25 * USD, "window_seconds": 600}


def test_trips_on_a_loop_at_the_nth_repeat(policy: BreakerPolicy, state: BreakerState, noon: datetime) -> None:
    obs = Observation(today_micros=5 * USD, baseline_micros=100 * USD, loop_count=11, prompt_hash="9b2e41aa77c0ffee")
    assert evaluate(state, obs, policy, noon).action == "allow"
    decision = evaluate(state, replace(obs, loop_count=12), policy, noon)
    assert (decision.action, decision.cause) == ("trip", "loop")
    assert decision.evidence == {"today_micros": 5 * USD, "baseline_micros": 100 * USD, "reenables": 0,
                                 "loop_count": 12, "loop_threshold": 12, "window_seconds": 600,
                                 "size_tolerance_percent": 10, "prompt_hash": "9b2e41aa77c0ffee"}


def test_the_most_specific_cause_wins(policy: BreakerPolicy, state: BreakerState, noon: datetime) -> None:
    everything = Observation(today_micros=900 * USD, baseline_micros=100 * USD, rate_micros=90 * USD, loop_count=30)
    assert evaluate(state, everything, policy, noon).cause == "loop"
    assert evaluate(state, replace(everything, loop_count=0), policy, noon).cause == "spend_rate"
    assert evaluate(state, replace(everything, loop_count=0, rate_micros=0), policy, noon).cause == "daily_spend"


def test_disabled_causes_never_trip(policy: BreakerPolicy, state: BreakerState, noon: datetime) -> None:
    quiet = replace(policy, rate_limit_micros=None, loop_repeats=None)
    obs = Observation(today_micros=10 * USD, baseline_micros=100 * USD, rate_micros=10**12, loop_count=10**6)
    assert evaluate(state, obs, quiet, noon).action == "allow"


def test_a_tripped_breaker_refuses_the_rest_of_the_day(policy: BreakerPolicy, state: BreakerState,
                                                       noon: datetime) -> None:
    tripped = evaluate(state, Observation(today_micros=400 * USD, baseline_micros=100 * USD), policy, noon)
    later = noon + timedelta(hours=11, minutes=59)  # 23:59 in Los Angeles
    decision = evaluate(tripped.state, Observation(today_micros=0), policy, later)
    assert decision.action == "refuse_tripped" and decision.refuses
    assert decision.cause == "daily_spend" and decision.evidence == tripped.evidence
    assert decision.state == tripped.state


# -- re-enable --------------------------------------------------------------------------------------------


def test_reenable_raises_the_threshold_and_keeps_an_audit_trail(policy: BreakerPolicy, state: BreakerState,
                                                                 noon: datetime) -> None:
    obs = Observation(today_micros=400 * USD, baseline_micros=100 * USD)
    tripped = evaluate(state, obs, policy, noon).state
    at = noon + timedelta(minutes=5)
    again = reenable(tripped, "  quarterly data migration  ", "alice@x.com", at)
    assert not again.tripped and again.reenabled_count == 1 and again.cause is None
    assert [(r.at, r.by, r.reason, r.cause, r.today_micros) for r in again.reenables] == [
        (at, "alice@x.com", "quarterly data migration", "daily_spend", 400 * USD)]

    # The new threshold is max($600, $400 + $300) = $700: the same spend passes, more spend passes...
    assert evaluate(again, obs, policy, at).action == "allow"
    assert evaluate(again, replace(obs, today_micros=700 * USD), policy, at).action == "allow"
    # ...until it goes above the raised threshold.
    second = evaluate(again, replace(obs, today_micros=700 * USD + 1), policy, at)
    assert second.action == "trip" and second.evidence["threshold_micros"] == 700 * USD
    assert second.evidence["reenables"] == 1 and second.state.trips == 2


def test_reenable_after_a_loop_allows_more_repeats(policy: BreakerPolicy, state: BreakerState,
                                                   noon: datetime) -> None:
    obs = Observation(today_micros=5 * USD, baseline_micros=100 * USD, loop_count=12)
    again = reenable(evaluate(state, obs, policy, noon).state, "load test, on purpose", "bob@x.com", noon)
    assert evaluate(again, replace(obs, loop_count=23), policy, noon).action == "allow"
    assert evaluate(again, replace(obs, loop_count=24), policy, noon).cause == "loop"


def test_reenable_is_refused_when_not_tripped_or_without_a_reason(policy: BreakerPolicy, state: BreakerState,
                                                                   noon: datetime) -> None:
    with pytest.raises(PolicyError, match="not tripped for 2026-12-04"):
        reenable(state, "why not", "alice@x.com", noon)
    tripped = evaluate(state, Observation(today_micros=400 * USD, baseline_micros=100 * USD), policy, noon).state
    with pytest.raises(PolicyError, match="needs a reason"):
        reenable(tripped, "  ", "alice@x.com", noon)
    once = reenable(tripped, "intended", "alice@x.com", noon)
    with pytest.raises(PolicyError, match="not tripped"):
        reenable(once, "twice", "alice@x.com", noon)
    with pytest.raises(PolicyError, match="already reset"):
        reenable(tripped, "too late", "alice@x.com", tripped.resets_at)


# -- days -------------------------------------------------------------------------------------------------


def test_a_new_local_day_resets_everything(policy: BreakerPolicy, utc: Callable[..., datetime]) -> None:
    # Sunday 1 November 2026 is a 25-hour day in Los Angeles: it ends at 08:00 UTC on the 2nd.
    morning = utc(2026, 11, 1, 17)
    obs = Observation(today_micros=400 * USD, baseline_micros=100 * USD)
    state = evaluate(None, obs, policy, morning).state
    state = reenable(state, "intended", "alice@x.com", morning)
    state = evaluate(state, replace(obs, today_micros=800 * USD), policy, morning).state
    assert state.tripped and state.reenabled_count == 1 and state.resets_at == utc(2026, 11, 2, 8)

    assert evaluate(state, Observation(today_micros=0), policy, utc(2026, 11, 2, 7, 59, 59)).refuses
    fresh = evaluate(state, Observation(today_micros=0, baseline_micros=100 * USD), policy, utc(2026, 11, 2, 8))
    assert fresh.action == "allow"
    assert fresh.state == new_state(utc(2026, 11, 2, 8), LA)
    assert fresh.state.day_id == "2026-11-02" and fresh.state.reenabled_count == 0 and fresh.state.reenables == ()


def test_state_round_trips_through_bytes(policy: BreakerPolicy, state: BreakerState, noon: datetime) -> None:
    obs = Observation(today_micros=400 * USD, baseline_micros=100 * USD, prompt_hash="abc")
    tripped = evaluate(state, obs, policy, noon).state
    again = reenable(tripped, "intended", "alice@x.com", noon)
    twice = evaluate(again, replace(obs, today_micros=900 * USD), policy, noon).state
    for s in (state, tripped, again, twice):
        assert BreakerState.from_bytes(s.to_bytes()) == s
    assert twice.ttl_seconds(noon) == 12 * 3600


# -- shadow mode ------------------------------------------------------------------------------------------


def test_shadow_mode_records_one_trip_a_day_and_never_refuses(policy: BreakerPolicy, state: BreakerState,
                                                              noon: datetime) -> None:
    shadow = replace(policy, shadow=True)
    obs = Observation(today_micros=400 * USD, baseline_micros=100 * USD)
    first = evaluate(state, obs, shadow, noon)
    assert first.action == "trip" and first.would_trip and not first.refuses
    assert first.cause == "daily_spend" and first.state.tripped and first.state.shadow_trip
    message = refusal_message(first, shadow)
    assert message.startswith("[shadow mode: not enforced] ")

    later = evaluate(first.state, replace(obs, today_micros=5000 * USD), shadow, noon + timedelta(hours=1))
    assert later.action == "allow" and not later.would_trip and later.state == first.state
    with pytest.raises(PolicyError, match="shadow mode"):
        reenable(first.state, "nothing to undo", "alice@x.com", noon)

    # Switching the policy to enforce: a shadow trip does not block by itself, the figures do.
    enforcing = evaluate(first.state, replace(obs, today_micros=10 * USD), policy, noon)
    assert enforcing.action == "allow" and not enforcing.state.tripped
    assert evaluate(first.state, obs, policy, noon).refuses


def test_shadow_mode_does_not_enforce_an_existing_trip(policy: BreakerPolicy, state: BreakerState,
                                                       noon: datetime) -> None:
    tripped = evaluate(state, Observation(today_micros=400 * USD, baseline_micros=100 * USD), policy, noon).state
    decision = evaluate(tripped, Observation(today_micros=0), replace(policy, shadow=True), noon)
    assert decision.action == "refuse_tripped" and not decision.refuses


# -- messages ---------------------------------------------------------------------------------------------


def test_refusal_message_for_daily_spend(policy: BreakerPolicy, state: BreakerState, noon: datetime) -> None:
    obs = Observation(today_micros=412_404_999, baseline_micros=123_456_789)
    decision = evaluate(state, obs, policy, noon)
    assert refusal_message(decision, policy) == (
        "tokenpulse circuit breaker: AI requests are paused for the rest of the day because you have spent "
        "$412.40 today, above today's threshold of $370.37 (3 × your usual day of $123.46, the 90th percentile "
        "of your last 28 active days, or at least $50.00). If this spend is intentional, re-enable it yourself "
        'with: tokenpulse reenable --reason "..." (today\'s daily threshold then rises to $782.78 and the other '
        "limits by 100%). Otherwise it resets by itself at 2026-12-05 00:00 (America/Los_Angeles).")
    assert REENABLE_COMMAND == 'tokenpulse reenable --reason "..."'
    # The promised threshold is the one the re-enable really gives.
    assert daily_threshold(policy, obs.baseline_micros, 1, obs.today_micros) == 782_775_366


def test_refusal_messages_for_rate_and_loop(policy: BreakerPolicy, state: BreakerState, noon: datetime) -> None:
    rate = evaluate(state, Observation(today_micros=61_005_000, rate_micros=31_250_000), policy, noon)
    text = refusal_message(rate, policy)
    assert ("because you spent $31.25 in the last 10 minutes, above the limit of $25.00 per 10 minutes. "
            "Today's spend so far: $61.01.") in text
    assert REENABLE_COMMAND in text

    loop = evaluate(state, Observation(today_micros=2 * USD, loop_count=12, prompt_hash="9b2e41aa77c0ffee0011"),
                    policy, noon)
    text = refusal_message(loop, policy)
    assert ("because the same prompt (prompt 9b2e41aa77c0) was sent 12 times in the last 10 minutes (sizes "
            "within 10%; the limit is 12), which looks like an agent stuck in a loop.") in text
    assert REENABLE_COMMAND in text
    # A refusal after the trip says the same thing.
    refused = evaluate(loop.state, Observation(today_micros=0), policy, noon)
    assert refusal_message(refused, policy) == text


def test_policy_validation(policy: BreakerPolicy) -> None:
    assert BreakerPolicy(tz=LA, multiplier_k=3.0).k == Fraction(3)
    with pytest.raises(ConfigError, match="Nowhere/City"):
        BreakerPolicy(tz="Nowhere/City")
    with pytest.raises(ValueError, match="positive"):
        BreakerPolicy(tz=LA, multiplier_k=0)
    with pytest.raises(ValueError, match="baseline_percentile"):
        BreakerPolicy(tz=LA, baseline_percentile=101)
    with pytest.raises(ValueError, match="loop_repeats"):
        BreakerPolicy(tz=LA, loop_repeats=0)
    with pytest.raises(ValueError, match="today_micros"):
        evaluate(None, Observation(today_micros=-1), policy, datetime.fromisoformat("2026-12-04T20:00:00+00:00"))
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(None, Observation(today_micros=1), policy, datetime(2026, 12, 4, 20))
