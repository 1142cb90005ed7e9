"""The spend circuit breaker for one person's day: a pure state machine over an injected clock.

Why: runaway agents and accidental loops burn money in minutes, long before a monthly budget
notices. The breaker trips intra-day on any of three causes, refuses further requests for the
rest of the day, and lets the person re-enable it themselves (with a reason, for the audit trail)
when the spend was intentional. New days start fresh.

Causes, checked in this order (the most specific first), each against a threshold:

- `loop`: the same prompt (same hash, size within `loop_size_tolerance_percent`) was sent
  `loop_repeats` times or more within `loop_window_seconds` — an agent stuck in a loop;
- `spend_rate`: more than `rate_limit_micros` spent within `rate_window_seconds`;
- `daily_spend`: more than today's threshold spent today, where the threshold is
  `max(k × baseline, floor)` and the baseline is the `baseline_percentile`-th percentile
  (nearest rank) of the person's last `baseline_days` *active* days (days with spend > 0).

Re-enable rule. Each re-enable today raises every threshold, and always buys real headroom over
the figure that tripped it, so a re-enabled breaker does not trip again on the very next request:

    step      = base × reenable_raise_percent / 100          (integer, rounded down)
    threshold = max(base + r × step, figure_at_last_trip + max(step, minimum))

with `r` the number of re-enables today, `base` the un-raised threshold, `figure_at_last_trip`
the same figure (today's spend, the windowed rate, the loop count) as observed when the breaker
last tripped, and `minimum` = `floor_micros` for the daily threshold, 1 for the others. So with
the defaults (k = 3, +100% per re-enable) a person whose usual day is $100 trips at $300, and
after one re-enable at max($600, spend at the trip + $300).

Shadow mode records trips (`Decision.would_trip`, the state remembers one would-trip per day) and
never refuses, so a new policy can be watched before it enforces.

How the gateway uses it, per request: load the state (`Counters.get_state`), and if it is tripped
and not in shadow, refuse without observing anything (refused requests must not feed the loop and
rate evidence); otherwise observe (`note_prompt`, `rate`, today's settled spend), call
`evaluate`, store `decision.state` when it changed, and refuse with `refusal_message` when
`decision.refuses`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import msgspec

from ..money import format_usd
from .budgets import PolicyError
from .periods import period_end, period_id, require_aware, zone

Cause = Literal["daily_spend", "spend_rate", "loop"]
Action = Literal["allow", "trip", "refuse_tripped"]
Evidence = dict[str, int | str]

REENABLE_COMMAND = 'tokenpulse reenable --reason "..."'


def _as_fraction(value: object) -> Fraction:
    """k as an exact fraction; a float is read by its shortest repr (3.0 -> 3, 2.5 -> 5/2)."""
    if isinstance(value, bool):
        raise TypeError("multiplier_k must be a number")
    if isinstance(value, float):
        return Fraction(repr(value))
    if isinstance(value, int | Fraction | Decimal | str):
        return Fraction(value)
    raise TypeError(f"multiplier_k must be an int, str, Decimal or Fraction, got {type(value).__name__}")


def _nonneg_int(value: object, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


@dataclass(frozen=True)
class BreakerPolicy:
    """The breaker's configuration. `tz` (the org's IANA timezone) decides when a day starts.

    Money is integer micro-USD; `rate_limit_micros` or `loop_repeats` = None disables that cause.
    The defaults are a starting point, meant to be watched in shadow mode first."""

    tz: str
    multiplier_k: Fraction | int | Decimal | str = Fraction(3)
    floor_micros: int = 50_000_000
    baseline_days: int = 28
    baseline_percentile: int = 90
    rate_window_seconds: int = 600
    rate_limit_micros: int | None = 25_000_000
    loop_window_seconds: int = 600
    loop_repeats: int | None = 12
    loop_size_tolerance_percent: int = 10
    reenable_raise_percent: int = 100
    shadow: bool = False

    def __post_init__(self) -> None:
        zone(self.tz)  # fail early on an unknown timezone
        k = _as_fraction(self.multiplier_k)
        if k <= 0:
            raise ValueError(f"multiplier_k must be positive, got {self.multiplier_k!r}")
        object.__setattr__(self, "multiplier_k", k)
        for name in ("floor_micros", "loop_size_tolerance_percent", "reenable_raise_percent"):
            _nonneg_int(getattr(self, name), name)
        if not 0 <= self.baseline_percentile <= 100:
            raise ValueError(f"baseline_percentile must be within 0..100, got {self.baseline_percentile}")
        for name in ("baseline_days", "rate_window_seconds", "loop_window_seconds"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive integer")
        if self.rate_limit_micros is not None:
            _nonneg_int(self.rate_limit_micros, "rate_limit_micros")
        if self.loop_repeats is not None and (not isinstance(self.loop_repeats, int) or self.loop_repeats < 1):
            raise ValueError(f"loop_repeats must be a positive integer or None, got {self.loop_repeats!r}")

    @property
    def k(self) -> Fraction:
        """The multiplier as an exact fraction (it is normalised to one on construction)."""
        return _as_fraction(self.multiplier_k)


@dataclass(frozen=True)
class Observation:
    """What the gateway observed just before this request (all spend is settled micro-USD).

    `loop_count` is `Counters.note_prompt(...)` for this request (it includes this request)."""

    today_micros: int
    baseline_micros: int = 0
    rate_micros: int = 0
    loop_count: int = 0
    prompt_hash: str | None = None


@dataclass(frozen=True)
class Reenable:
    """One self-service re-enable: the audit trail of who, when and why."""

    at: datetime
    by: str
    reason: str
    cause: str
    today_micros: int


@dataclass(frozen=True)
class BreakerState:
    """One person's breaker for one day (`day_id`, in the policy's timezone; void from `resets_at`).

    `trip_*` keep the figures observed at the last trip, which the re-enable rule builds on."""

    day_id: str
    resets_at: datetime
    tripped_at: datetime | None = None
    cause: Cause | None = None
    evidence: Evidence = field(default_factory=dict)
    shadow_trip: bool = False
    trips: int = 0
    reenabled_count: int = 0
    trip_today_micros: int = 0
    trip_rate_micros: int = 0
    trip_loop_count: int = 0
    reenables: tuple[Reenable, ...] = ()

    @property
    def tripped(self) -> bool:
        return self.tripped_at is not None

    def to_bytes(self) -> bytes:
        """JSON, for `Counters.set_state` (shared by every gateway replica)."""
        return msgspec.json.encode(self)

    @classmethod
    def from_bytes(cls, raw: bytes) -> BreakerState:
        return msgspec.json.decode(raw, type=cls)

    def ttl_seconds(self, now: datetime) -> int:
        """How long the stored state is worth keeping: until the day resets (at least 1 s)."""
        delta = self.resets_at - now
        return max(delta.days * 86_400 + delta.seconds + (1 if delta.microseconds else 0), 1)


@dataclass(frozen=True)
class Decision:
    """The outcome for one request; store `state` if it differs from the state passed in.

    `action` is what the breaker decided; in shadow mode nothing is enforced, so check `refuses`."""

    action: Action
    state: BreakerState
    cause: Cause | None = None
    evidence: Evidence = field(default_factory=dict)
    shadow: bool = False

    @property
    def refuses(self) -> bool:
        return self.action != "allow" and not self.shadow

    @property
    def would_trip(self) -> bool:
        """A trip observed in shadow mode: recorded, not enforced."""
        return self.action == "trip" and self.shadow


# -- thresholds -------------------------------------------------------------------------------------------


def baseline_micros(daily_spends: list[int], policy: BreakerPolicy) -> int:
    """The `baseline_percentile`-th percentile (nearest rank) of the last `baseline_days` active days.

    `daily_spends` is chronological (oldest first) and excludes today; days with no spend are not
    "usual days" and are skipped, so a part-timer's baseline is not dragged to zero. No active
    day at all gives 0 (the floor then sets the threshold)."""
    for spend in daily_spends:
        _nonneg_int(spend, "a daily spend")
    active = [spend for spend in daily_spends if spend > 0]
    active = active[-policy.baseline_days:]
    if not active:
        return 0
    ordered = sorted(active)
    rank = max(-(-policy.baseline_percentile * len(ordered) // 100), 1)  # ceil(p/100 × n), at least 1
    return ordered[rank - 1]


def _raised(base: int, reenables: int, percent: int, at_trip: int, minimum: int) -> int:
    if reenables <= 0:
        return base
    step = base * percent // 100
    return max(base + reenables * step, at_trip + max(step, minimum))


def daily_threshold(policy: BreakerPolicy, baseline: int, reenables_today: int, spend_at_trip: int = 0) -> int:
    """Today's daily-spend threshold: max(k × baseline, floor), raised per the re-enable rule."""
    _nonneg_int(baseline, "baseline")
    k = policy.k
    base = max(baseline * k.numerator // k.denominator, policy.floor_micros)
    return _raised(base, reenables_today, policy.reenable_raise_percent, spend_at_trip, policy.floor_micros)


def rate_threshold(policy: BreakerPolicy, reenables_today: int, rate_at_trip: int = 0) -> int | None:
    """The spend-rate limit per window after `reenables_today` re-enables (None: cause disabled)."""
    if policy.rate_limit_micros is None:
        return None
    return _raised(policy.rate_limit_micros, reenables_today, policy.reenable_raise_percent, rate_at_trip, 1)


def loop_threshold(policy: BreakerPolicy, reenables_today: int, count_at_trip: int = 0) -> int | None:
    """How many repeats of one prompt trip the breaker after `reenables_today` re-enables."""
    if policy.loop_repeats is None:
        return None
    return _raised(policy.loop_repeats, reenables_today, policy.reenable_raise_percent, count_at_trip, 1)


# -- transitions ------------------------------------------------------------------------------------------


def new_state(now: datetime, tz: str) -> BreakerState:
    """An untripped breaker for the day containing `now`."""
    require_aware(now)
    return BreakerState(day_id=period_id("day", now, tz), resets_at=period_end("day", now, tz))


def current_state(state: BreakerState | None, now: datetime, tz: str) -> BreakerState:
    """`state` if it is still today's, else a fresh one: a new day resets everything."""
    require_aware(now)
    if state is None or now >= state.resets_at or state.day_id != period_id("day", now, tz):
        return new_state(now, tz)
    return state


def trip(state: BreakerState, cause: Cause, evidence: Evidence, obs: Observation, now: datetime, *,
         shadow: bool = False) -> BreakerState:
    """The state after tripping on `cause` (the figures of `obs` are kept for the re-enable rule)."""
    require_aware(now)
    return replace(state, tripped_at=now, cause=cause, evidence=dict(evidence), shadow_trip=shadow,
                   trips=state.trips + 1, trip_today_micros=obs.today_micros,
                   trip_rate_micros=obs.rate_micros, trip_loop_count=obs.loop_count)


def reenable(state: BreakerState, reason: str, by: str, now: datetime) -> BreakerState:
    """Self-service re-enable of a tripped breaker, for the rest of its day, with raised thresholds.

    Refused (PolicyError) when the breaker is not tripped, when the trip was only recorded in shadow
    mode (nothing is blocked), when the day is over (the breaker has reset by itself) or without a
    reason."""
    require_aware(now)
    if not reason or not reason.strip():
        raise PolicyError('re-enabling needs a reason: tokenpulse reenable --reason "..."')
    if now >= state.resets_at:
        raise PolicyError(f"the breaker for {state.day_id} has already reset with the new day; nothing to re-enable")
    if not state.tripped:
        raise PolicyError(f"the breaker is not tripped for {state.day_id}; nothing to re-enable")
    if state.shadow_trip:
        raise PolicyError("the breaker only recorded a trip in shadow mode; nothing is blocked")
    record = Reenable(at=now, by=by, reason=reason.strip(), cause=state.cause or "", today_micros=state.trip_today_micros)
    return replace(state, tripped_at=None, cause=None, evidence={}, shadow_trip=False,
                   reenabled_count=state.reenabled_count + 1, reenables=(*state.reenables, record))


def _check(state: BreakerState, obs: Observation, policy: BreakerPolicy) -> tuple[Cause, Evidence] | None:
    r = state.reenabled_count
    common: Evidence = {"today_micros": obs.today_micros, "baseline_micros": obs.baseline_micros, "reenables": r}
    loops = loop_threshold(policy, r, state.trip_loop_count)
    if loops is not None and obs.loop_count >= loops:
        evidence: Evidence = {**common, "loop_count": obs.loop_count, "loop_threshold": loops,
                              "window_seconds": policy.loop_window_seconds,
                              "size_tolerance_percent": policy.loop_size_tolerance_percent}
        if obs.prompt_hash:
            evidence["prompt_hash"] = obs.prompt_hash
        return "loop", evidence
    rate_limit = rate_threshold(policy, r, state.trip_rate_micros)
    if rate_limit is not None and obs.rate_micros > rate_limit:
        return "spend_rate", {**common, "rate_micros": obs.rate_micros, "rate_limit_micros": rate_limit,
                              "window_seconds": policy.rate_window_seconds}
    threshold = daily_threshold(policy, obs.baseline_micros, r, state.trip_today_micros)
    if obs.today_micros > threshold:
        return "daily_spend", {**common, "threshold_micros": threshold, "floor_micros": policy.floor_micros,
                               "multiplier": _format_fraction(policy.k),
                               "baseline_days": policy.baseline_days,
                               "baseline_percentile": policy.baseline_percentile}
    return None


def evaluate(state: BreakerState | None, obs: Observation, policy: BreakerPolicy, now: datetime) -> Decision:
    """Decide one request: allow, trip (first trip today, or again after a re-enable) or refuse_tripped."""
    for name in ("today_micros", "baseline_micros", "rate_micros", "loop_count"):
        _nonneg_int(getattr(obs, name), name)
    state = current_state(state, now, policy.tz)
    if state.tripped:
        if not state.shadow_trip:
            return Decision("refuse_tripped", state, state.cause, dict(state.evidence), shadow=policy.shadow)
        if policy.shadow:
            return Decision("allow", state, shadow=True)  # one would-trip per day is recorded
        # A would-trip recorded in shadow mode does not block once the policy enforces: judge afresh.
        state = replace(state, tripped_at=None, cause=None, evidence={}, shadow_trip=False)
    found = _check(state, obs, policy)
    if found is None:
        return Decision("allow", state, shadow=policy.shadow)
    cause, evidence = found
    return Decision("trip", trip(state, cause, evidence, obs, now, shadow=policy.shadow), cause, evidence,
                    shadow=policy.shadow)


# -- messages ---------------------------------------------------------------------------------------------


def _format_fraction(value: Fraction) -> str:
    """3 -> '3', 5/2 -> '2.5', 7/3 -> '7/3' (exact, no float)."""
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d != 1:
        return f"{value.numerator}/{value.denominator}"
    return format(Decimal(value.numerator) / Decimal(value.denominator), "f")


def _duration(seconds: int) -> str:
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}" + ("s" if n != 1 else "")
    return f"{seconds} seconds"


def _int(evidence: Evidence, name: str) -> int:
    value = evidence.get(name, 0)
    return value if isinstance(value, int) else 0


def refusal_message(decision: Decision, policy: BreakerPolicy) -> str:
    """Why the request was refused, with the figures in dollars, and how to re-enable it."""
    ev = decision.evidence
    today = _int(ev, "today_micros")
    if decision.cause == "loop":
        prompt = f" (prompt {str(ev['prompt_hash'])[:12]})" if "prompt_hash" in ev else ""
        why = (f"the same prompt{prompt} was sent {_int(ev, 'loop_count')} times in the last "
               f"{_duration(_int(ev, 'window_seconds'))} (sizes within {_int(ev, 'size_tolerance_percent')}%; "
               f"the limit is {_int(ev, 'loop_threshold')}), which looks like an agent stuck in a loop")
    elif decision.cause == "spend_rate":
        why = (f"you spent {format_usd(_int(ev, 'rate_micros'))} in the last {_duration(_int(ev, 'window_seconds'))}, "
               f"above the limit of {format_usd(_int(ev, 'rate_limit_micros'))} per "
               f"{_duration(_int(ev, 'window_seconds'))}")
    elif decision.cause == "daily_spend":
        why = (f"you have spent {format_usd(today)} today, above today's threshold of "
               f"{format_usd(_int(ev, 'threshold_micros'))} ({ev.get('multiplier', '?')} × your usual day of "
               f"{format_usd(_int(ev, 'baseline_micros'))}, the {_int(ev, 'baseline_percentile')}th percentile of "
               f"your last {_int(ev, 'baseline_days')} active days, or at least {format_usd(_int(ev, 'floor_micros'))})")
    else:
        why = "the spend circuit breaker is tripped"
    state = decision.state
    resets = state.resets_at.astimezone(zone(policy.tz))
    next_threshold = daily_threshold(policy, _int(ev, "baseline_micros"), state.reenabled_count + 1, today)
    prefix = "[shadow mode: not enforced] " if decision.shadow else ""
    so_far = "" if decision.cause == "daily_spend" else f"Today's spend so far: {format_usd(today)}. "
    return (f"{prefix}tokenpulse circuit breaker: AI requests are paused for the rest of the day because {why}. "
            f"{so_far}If this spend is intentional, re-enable it yourself with: "
            f"{REENABLE_COMMAND} (today's daily threshold then rises to {format_usd(next_threshold)} and the "
            f"other limits by {policy.reenable_raise_percent}%). Otherwise it resets by itself at "
            f"{resets:%Y-%m-%d %H:%M} ({policy.tz}).")
