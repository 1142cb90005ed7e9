"""Enforcement for every gateway route: the breaker and the budgets, over the shared counters.

`admit` runs before a request is forwarded: it refuses a person whose breaker is tripped, gathers the
breaker's evidence (today's spend, the spend rate, repeats of the same prompt), lets the breaker decide,
then reserves the request's worst-case cost on every budget that applies, all or nothing. `settle`
replaces the reservation with the metered cost and fires budget alerts (each threshold once per
period, across replicas: the counters' settled spend only grows). Decisions are the pure ones of
`tokenpulse.policy`; this module only wires them to the counters, the store (incidents, overrides,
audit log, baselines) and the webhooks. Store writes go through the writer thread in the background:
the request path never waits for a database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..counters import Counters, CountersUnavailable, Denied, Reservation
from ..counters.base import LOOP_MEMORY
from ..errors import ConfigError
from ..money import format_usd
from ..policy import (
    BreakerPolicy,
    BreakerState,
    Budget,
    Decision,
    Observation,
    Override,
    OverridePolicy,
    PolicyError,
    baseline_micros,
    crossed_thresholds,
    current_state,
    daily_threshold,
    effective_limit,
    evaluate,
    grant_override,
    period_end,
    period_id,
    refusal_message,
)
from ..policy import reenable as reenable_state
from ..store.governance import AuditEntry, Incident, OverrideRecord
from .proxy import Ask, usd
from .settings import GatewaySettings

log = logging.getLogger("tokenpulse.gateway")

BASELINE_SECONDS = 3600.0
"""A person's baseline (their usual day) is read from the store at most this often."""
OVERRIDES_SECONDS = 30.0
"""Overrides granted through another replica take effect here within this time."""


@dataclass
class Refused:
    kind: str
    """budget_exceeded | circuit_breaker_tripped | enforcement_unavailable"""
    message: str


@dataclass
class Admission:
    refused: Refused | None = None
    reservation: Reservation | None = None
    budgets: list[tuple[Budget, str, int]] = field(default_factory=list)
    """(budget, period id, effective limit) for each budget the request counts against."""
    spend_today: int | None = None
    remaining: int | None = None
    person: str = ""
    settled: bool = False


def breaker_policy(settings: GatewaySettings) -> BreakerPolicy:
    """The [gateway.breaker] table in the units people write (USD, minutes) as a policy."""
    from .settings import usd_to_micros

    table = dict(settings.breaker)
    known = {"multiplier", "floor_usd", "baseline_days", "baseline_percentile", "rate_window_minutes", "rate_usd",
             "loop_window_minutes", "loop_repeats", "loop_size_tolerance_percent", "reenable_raise_percent"}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"[gateway.breaker]: unknown setting(s) {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {"tz": settings.tz, "shadow": settings.shadow}
    if "multiplier" in table:
        kwargs["multiplier_k"] = str(table["multiplier"])
    if "floor_usd" in table:
        kwargs["floor_micros"] = usd_to_micros(table["floor_usd"], "[gateway.breaker] floor_usd")
    if "rate_usd" in table:
        kwargs["rate_limit_micros"] = usd_to_micros(table["rate_usd"], "[gateway.breaker] rate_usd") \
            if table["rate_usd"] is not False else None
    for name in ("rate_window_minutes", "loop_window_minutes"):
        if name in table:
            kwargs[name.replace("_minutes", "_seconds")] = int(table[name]) * 60
    for name in ("baseline_days", "baseline_percentile", "loop_size_tolerance_percent", "reenable_raise_percent"):
        if name in table:
            kwargs[name] = int(table[name])
    if "loop_repeats" in table:
        kwargs["loop_repeats"] = int(table["loop_repeats"]) if table["loop_repeats"] is not False else None
        if kwargs["loop_repeats"] is not None and not 1 <= kwargs["loop_repeats"] <= LOOP_MEMORY:
            raise ConfigError(f"[gateway.breaker] loop_repeats must be 1..{LOOP_MEMORY} (or false to turn loop "
                              f"detection off), got {table['loop_repeats']!r}")
    return BreakerPolicy(**kwargs)


class _Periods:
    """The current day's and month's ids and ends, worked out once per period rather than per request
    (zoneinfo arithmetic is the costliest part of admitting a request otherwise)."""

    def __init__(self, tz: str):
        self.tz = tz
        self._known: dict[str, tuple[datetime, datetime, str]] = {}

    def _of(self, kind: str, now: datetime) -> tuple[datetime, datetime, str]:
        known = self._known.get(kind)
        if known is None or not known[0] <= now < known[1]:
            from ..policy import period_start

            known = (period_start(kind, now, self.tz), period_end(kind, now, self.tz), period_id(kind, now, self.tz))
            self._known[kind] = known
        return known

    def id(self, kind: str, now: datetime) -> str:
        return self._of(kind, now)[2]

    def seconds_left(self, kind: str, now: datetime) -> int:
        end = self._of(kind, now)[1]
        return max(-(-(end - now) // timedelta(seconds=1)), 1)


class Enforcer:
    def __init__(self, settings: GatewaySettings, counters: Counters, *, clock: Callable[[], datetime] | None = None):
        self.settings = settings
        self.tz = settings.tz
        self.counters = counters
        self.policy = breaker_policy(settings)
        self.override_policy = OverridePolicy(settings.max_overrides, settings.max_override_percent)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.periods = _Periods(settings.tz)
        # Set by the gateway when it starts (the enforcer itself is usable without them, e.g. in tests).
        self.read_store: Callable[[Callable[[Any], Any]], Any] | None = None
        self.notify: Callable[..., None] = lambda event, text, **fields: None
        self.manager_of: Callable[[str], str | None] = lambda person: None
        self._baselines: dict[str, tuple[int, float]] = {}
        self._overrides: dict[tuple[str, str], int] = {}
        self._overrides_at = 0.0
        self._background: set[asyncio.Future[Any]] = set()
        self._upstream_errors: dict[str, deque[tuple[datetime, int]]] = {}

    def start(self) -> None:
        """On the gateway's event loop: load the overrides granted so far."""
        self._overrides_at = time.monotonic() + OVERRIDES_SECONDS
        self._in_background(self.load_overrides())

    # --- keys -----------------------------------------------------------------------------------

    def _day_key(self, person: str, now: datetime) -> str:
        return f"spend:day:{self.periods.id('day', now)}:person:{person}"

    @staticmethod
    def _state_key(person: str) -> str:
        return f"breaker:{person}"

    def budgets_for(self, ask_person: str, team: str | None, tool: str | None) -> list[Budget]:
        """The budgets a request of this person, team and tool counts against (`tool` None: every tool's)."""
        found = []
        for rule in self.settings.budgets:
            if tool is None and rule.tool is not None:
                scope = rule.scope_for(ask_person, team, rule.tool)
            else:
                scope = rule.scope_for(ask_person, team, tool or "")
            if scope is not None:
                found.append(Budget(scope, rule.limit_micros, rule.period))  # type: ignore[arg-type]
        return found

    # --- the request path -----------------------------------------------------------------------

    def admit(self, ask: Ask, now: datetime | None = None) -> Admission:
        try:
            return self._admit(ask, now or self.clock())
        except CountersUnavailable as exc:
            # The counters (Redis) are unreachable: admit unenforced or refuse, as configured; alert either way.
            self.notify("enforcement_unavailable", f"tokenpulse gateway: the budget counters are unreachable "
                        f"({exc}); {'admitting requests unenforced' if self.settings.fail_open else 'refusing requests'}",
                        person=ask.person)
            if self.settings.fail_open:
                return Admission(person=ask.person, settled=True)
            return Admission(person=ask.person, refused=Refused(
                "enforcement_unavailable", "tokenpulse gateway: the budget counters are unreachable and this gateway "
                "is set to fail closed; try again shortly or ask your platform team."))

    def _admit(self, ask: Ask, now: datetime) -> Admission:
        person = ask.person
        admission = Admission(person=person)
        raw = self.counters.get_state(self._state_key(person))
        state = current_state(BreakerState.from_bytes(raw) if raw else None, now, self.tz)
        day_key = self._day_key(person, now)
        if state.tripped and not state.shadow_trip and not self.policy.shadow:
            # Tripped: refuse before gathering evidence, so refused retries do not count as more looping.
            decision = Decision("refuse_tripped", state, state.cause, dict(state.evidence))
            admission.refused = Refused("circuit_breaker_tripped", refusal_message(decision, self.policy))
            admission.spend_today = self.counters.totals([day_key])[0]
            return admission

        loop_count = 0
        if ask.prompt_hash and self.policy.loop_repeats is not None:
            loop_count = self.counters.note_prompt(person, ask.prompt_hash, ask.size, now,
                                                   self.policy.loop_window_seconds,
                                                   self.policy.loop_size_tolerance_percent)
        rate = self.counters.rate(person, now, self.policy.rate_window_seconds) \
            if self.policy.rate_limit_micros is not None else 0
        today = self.counters.totals([day_key])[0]
        observation = Observation(today, self._baseline(person, now), rate, loop_count, ask.prompt_hash)
        decision = evaluate(state, observation, self.policy, now)
        if decision.state != state:
            self.counters.set_state(self._state_key(person), decision.state.to_bytes(),
                                    decision.state.ttl_seconds(now))
        if decision.action == "trip":
            self._record_trip(person, decision, now)
        admission.spend_today = today
        if decision.refuses:
            admission.refused = Refused("circuit_breaker_tripped", refusal_message(decision, self.policy))
            return admission

        budgets = self.budgets_for(person, ask.team, ask.tool)
        keys: list[tuple[str, int | None]] = [(day_key, None)]
        ttls = [self.periods.seconds_left("day", now)]
        for budget in budgets:
            period = self.periods.id(budget.period, now)
            limit = self._limit(budget, period)
            admission.budgets.append((budget, period, limit))
            keys.append((budget.counter_key(period), None if self.settings.shadow else limit))
            ttls.append(self.periods.seconds_left(budget.period, now) + 86_400)
        result = self.counters.reserve(keys, ask.estimate_micros, ttls)
        if isinstance(result, Denied):
            admission.refused = self._denied(result, admission, ask)
            return admission
        if result.unenforced:
            self.notify("enforcement_unavailable", f"tokenpulse gateway: counters unreachable, admitting "
                        f"without enforcement ({result.reason})", person=person)
        admission.reservation = result
        admission.remaining = self._remaining(admission)
        return admission

    def _denied(self, denied: Denied, admission: Admission, ask: Ask) -> Refused:
        if denied.unavailable:
            return Refused("enforcement_unavailable", "tokenpulse gateway: the budget counters are unreachable and "
                           "this gateway is set to fail closed; try again shortly or ask your platform team.")
        for budget, period, limit in admission.budgets:
            if budget.counter_key(period) == denied.key:
                admission.remaining = max(limit - denied.current, 0)
                return Refused("budget_exceeded", (
                    f"tokenpulse budget: {budget.scope} has {format_usd(admission.remaining)} left of its "
                    f"{format_usd(limit)} for {period} ({format_usd(denied.current)} spent or reserved), and this "
                    f"request may cost up to {format_usd(ask.estimate_micros)}. Raise your own cap with "
                    f"`tokenpulse override --raise USD --reason \"...\"` (policy allows "
                    f"{self.override_policy.max_per_period} per {budget.period}, up to "
                    f"{self.override_policy.max_raise_percent}%), or lower max_tokens."))
        return Refused("budget_exceeded", f"tokenpulse budget: {denied.key} is at its limit")

    def settle(self, admission: Admission, cost_micros: int) -> tuple[int | None, int | None]:
        """The person's spend today and the budget left, after this request."""
        if admission.settled or admission.reservation is None:
            return admission.spend_today, admission.remaining
        admission.settled = True
        now = self.clock()
        try:
            totals = self.counters.settle(admission.reservation, cost_micros)
        except CountersUnavailable as exc:  # the metered event is in the spool all the same
            log.error("could not settle a reservation (%s); it lapses after its hold time", exc)
            return admission.spend_today, admission.remaining
        if self.policy.rate_limit_micros is not None and cost_micros:
            self.counters.add_rate(admission.person, cost_micros, now, self.policy.rate_window_seconds)
        spend_today = totals[0]
        for (budget, period, limit), after in zip(admission.budgets, totals[1:], strict=True):
            for threshold in crossed_thresholds(limit, after - cost_micros, after, budget.alert_at):
                self._alert(budget, period, limit, after, threshold, now)
        remaining = None
        if admission.budgets:
            remaining = min(limit - after for (_, _, limit), after in zip(admission.budgets, totals[1:], strict=True))
        return spend_today, remaining

    def release(self, admission: Admission) -> None:
        if admission.reservation is not None and not admission.settled:
            admission.settled = True
            with contextlib.suppress(CountersUnavailable):  # a held reservation lapses after its hold time
                self.counters.release(admission.reservation)

    def _remaining(self, admission: Admission) -> int | None:
        """What is left of the tightest budget, after what is spent and what is reserved (this request too)."""
        if not admission.budgets:
            return None
        keys = [budget.counter_key(period) for budget, period, _ in admission.budgets]
        usages = self.counters.usage(keys)
        return min(limit - u.spent - u.reserved
                   for (_, _, limit), u in zip(admission.budgets, usages, strict=True))

    # --- baselines and overrides ----------------------------------------------------------------

    def _baseline(self, person: str, now: datetime) -> int:
        known = self._baselines.get(person)
        if known is not None and known[1] > time.monotonic():
            return known[0]
        value = known[0] if known else 0
        self._baselines[person] = (value, time.monotonic() + BASELINE_SECONDS)  # one load at a time
        self._in_background(self._load_baseline(person, now))
        return value

    async def _load_baseline(self, person: str, now: datetime) -> None:
        if self.read_store is None:
            return
        from ..policy.periods import period_start
        from ..store import UsageQuery

        today_start = period_start("day", now, self.tz)
        query = UsageQuery(group="day", tz=self.tz, since=today_start - timedelta(days=self.policy.baseline_days * 3),
                           until=today_start, people=(person,))

        def read(store: Any) -> list[int]:
            store.refresh_rollups()
            by_day: dict[Any, int] = {}
            for row in store.usage_rows(query):
                by_day[row.key] = by_day.get(row.key, 0) + row.cost_micros
            return [by_day[d] for d in sorted(by_day)]

        spends = await self.read_store(read)
        self._baselines[person] = (baseline_micros(spends, self.policy), time.monotonic() + BASELINE_SECONDS)

    def _limit(self, budget: Budget, period: str) -> int:
        if time.monotonic() > self._overrides_at:
            self._overrides_at = time.monotonic() + OVERRIDES_SECONDS
            self._in_background(self.load_overrides())
        return budget.limit_micros + self._overrides.get((budget.scope, period), 0)

    async def load_overrides(self) -> None:
        if self.read_store is None:
            return
        now = self.clock()
        periods = sorted({period_id(kind, now, self.tz) for kind in ("day", "month")})

        def read(store: Any) -> tuple[dict[tuple[str, str], int], dict[str, Any]]:
            raised: dict[tuple[str, str], int] = {}
            for period in periods:
                for o in store.overrides_for(period):
                    raised[(o.scope, o.period)] = raised.get((o.scope, o.period), 0) + o.raise_micros
            saved = store.org_settings() if hasattr(store, "org_settings") else {}
            return raised, saved

        self._overrides, saved = await self.read_store(read)
        self.apply_saved_policy(saved)

    def apply_saved_policy(self, saved: dict[str, Any]) -> None:
        """Budgets and breaker settings an admin saved in the dashboard replace the file's (checked when they
        were saved; a value that no longer parses is logged and the current policy kept)."""
        from .settings import budget_rule

        try:
            if "budgets" in saved:
                self.settings.budgets = [budget_rule(rule, i) for i, rule in enumerate(saved["budgets"], start=1)]
            if "breaker" in saved:
                self.settings.breaker = dict(saved["breaker"])
                self.policy = breaker_policy(self.settings)
        except ConfigError as exc:
            log.error("ignoring the saved policy: %s", exc)

    # --- self-service ---------------------------------------------------------------------------

    async def reenable(self, person: str, by: str, reason: str) -> dict[str, Any]:
        now = self.clock()
        key = self._state_key(person)
        raw = self.counters.get_state(key)
        state = current_state(BreakerState.from_bytes(raw) if raw else None, now, self.tz)
        cause = state.cause
        new = reenable_state(state, reason, by, now)  # PolicyError when there is nothing to re-enable
        self.counters.set_state(key, new.to_bytes(), new.ttl_seconds(now))
        today = self.counters.totals([self._day_key(person, now)])[0]
        threshold = daily_threshold(self.policy, self._baseline(person, now), new.reenabled_count,
                                    new.trip_today_micros)
        manager = self.manager_of(person)
        if self.read_store is not None:
            await self.read_store(lambda store: (
                store.close_incident(person, new.day_id, by, reason, now),
                store.audit(AuditEntry(now, by, "reenable", person, {
                    "reason": reason, "cause": cause, "day": new.day_id, "spend_today_micros": today,
                    "threshold_micros": threshold, "manager": manager}))))
        self.notify("reenable", f"{person} re-enabled their AI spend circuit breaker (tripped on {cause}) for "
                    f"{new.day_id}: \"{reason}\". Spend today {format_usd(today)}; new threshold "
                    f"{format_usd(threshold)}." + (f" Manager: {manager}." if manager else ""),
                    person=person, manager=manager, cause=cause, reason=reason)
        return {"person": person, "day": new.day_id, "reenabled": True, "cause": cause,
                "threshold_usd": usd(threshold), "spend_today_usd": usd(today), "manager": manager}

    async def override(self, person: str, team: str | None, scope: str | None, raise_micros: int, by: str,
                       reason: str) -> dict[str, Any]:
        now = self.clock()
        mine = self.budgets_for(person, team, None)
        if scope:
            mine = [b for b in mine if b.scope == scope]
        personal = [b for b in mine if b.scope.startswith(f"person:{person}")]
        if not personal:
            raise PolicyError(f"no budget of yours {'named ' + scope if scope else ''} to raise; "
                              "team budgets are raised by an administrator".replace("  ", " "))
        budget = min(personal, key=lambda b: self._left(b, now))
        period = budget.current_period(now, self.tz)
        existing = []
        if self.read_store is not None:
            stored = await self.read_store(lambda store: store.overrides_for(period, [budget.scope]))
            existing = [Override(o.scope, o.period, o.raise_micros, o.reason, o.granted_by, o.granted_at)
                        for o in stored]
        granted = grant_override(self.override_policy, budget, existing, raise_micros, reason, by, now, self.tz)
        limit = effective_limit(budget, [*existing, granted], period=period)
        self._overrides[(budget.scope, period)] = limit - budget.limit_micros
        if self.read_store is not None:
            await self.read_store(lambda store: (
                store.add_override(OverrideRecord(budget.scope, period, raise_micros, granted.reason, by, now)),
                store.audit(AuditEntry(now, by, "override", person, {
                    "budget": budget.scope, "period": period, "raise_micros": raise_micros, "reason": granted.reason,
                    "limit_micros": limit}))))
        self.notify("override", f"{person} raised their budget {budget.scope} for {period} by "
                    f"{format_usd(raise_micros)} to {format_usd(limit)}: \"{granted.reason}\".",
                    person=person, budget=budget.scope, period=period, raise_micros=raise_micros)
        return {"person": person, "budget": budget.scope, "period": period, "raised_usd": usd(raise_micros),
                "limit_usd": usd(limit)}

    def _left(self, budget: Budget, now: datetime) -> int:
        period = budget.current_period(now, self.tz)
        [u] = self.counters.usage([budget.counter_key(period)])
        return self._limit(budget, period) - u.spent - u.reserved

    def status(self, person: str, team: str | None) -> dict[str, Any]:
        now = self.clock()
        raw = self.counters.get_state(self._state_key(person))
        state = current_state(BreakerState.from_bytes(raw) if raw else None, now, self.tz)
        today = self.counters.totals([self._day_key(person, now)])[0]
        budgets = []
        for budget in self.budgets_for(person, team, None):
            period = budget.current_period(now, self.tz)
            [u] = self.counters.usage([budget.counter_key(period)])
            budgets.append({"scope": budget.scope, "period": period, "limit_usd": usd(self._limit(budget, period)),
                            "spent_usd": usd(u.spent), "reserved_usd": usd(u.reserved)})
        threshold = daily_threshold(self.policy, self._baseline(person, now), state.reenabled_count,
                                    state.trip_today_micros)
        return {"person": person, "day": state.day_id, "spend_today_usd": usd(today), "budgets": budgets,
                "breaker": {"state": "tripped" if state.tripped and not state.shadow_trip else "ok",
                            "cause": state.cause, "threshold_usd": usd(threshold),
                            "reenables_today": state.reenabled_count, "shadow": self.policy.shadow}}

    # --- records and notifications --------------------------------------------------------------

    def note_upstream_error(self, person: str, status: int, now: datetime | None = None) -> None:
        """An upstream 5xx or 429 for this person: kept (in this process) as evidence for a trip, so a retry
        storm on a failing vendor stands out from a runaway agent."""
        at = now or self.clock()
        seen = self._upstream_errors.setdefault(person, deque(maxlen=256))
        seen.append((at, status))

    def _evidence(self, person: str, decision: Decision, now: datetime) -> dict[str, Any]:
        """The decision's figures, plus the spend curve of the last minutes and the upstream errors seen."""
        evidence = dict(decision.evidence)
        window = max(self.policy.rate_window_seconds, self.policy.loop_window_seconds)
        curve = []
        with contextlib.suppress(CountersUnavailable):
            for minutes_ago in range(min(window // 60, 60) - 1, -1, -1):
                at = now - timedelta(minutes=minutes_ago)
                curve.append({"minute": at.replace(second=0, microsecond=0).isoformat(),
                              "spend_micros": self.counters.rate(person, at, 60)})
        evidence["spend_curve"] = curve
        since = now - timedelta(seconds=window)
        errors = [status for at, status in self._upstream_errors.get(person, ()) if at >= since]
        evidence["upstream_errors"] = len(errors)
        evidence["upstream_error_statuses"] = sorted(set(errors))
        return evidence

    def _record_trip(self, person: str, decision: Decision, now: datetime) -> None:
        evidence = self._evidence(person, decision, now)
        incident = Incident(person, decision.state.day_id, decision.cause or "", now, evidence=evidence,
                            shadow=decision.shadow)
        if self.read_store is not None:
            self._in_background(self.read_store(lambda store: (
                store.record_incident(incident),
                store.audit(AuditEntry(now, "gateway", "breaker_trip", person, {
                    "incident": incident.id, "cause": incident.cause, "shadow": incident.shadow,
                    **incident.evidence})))))
        mode = " (shadow mode: recorded, not enforced)" if decision.shadow else ""
        self.notify("breaker_trip", f"AI spend circuit breaker tripped for {person} on {decision.cause}{mode}: "
                    f"{format_usd(int(decision.evidence.get('today_micros', 0)))} spent today.",
                    person=person, cause=decision.cause, evidence=decision.evidence, shadow=decision.shadow,
                    manager=self.manager_of(person))

    def _alert(self, budget: Budget, period: str, limit: int, spent: int, threshold: int, now: datetime) -> None:
        text = (f"Budget {budget.scope} reached {threshold}% for {period}: {format_usd(spent)} of "
                f"{format_usd(limit)}.")
        if self.read_store is not None:
            self._in_background(self.read_store(lambda store: store.audit(AuditEntry(
                now, "gateway", "budget_alert", budget.scope,
                {"period": period, "threshold": threshold, "spent_micros": spent, "limit_micros": limit}))))
        self.notify("budget_threshold", text, budget=budget.scope, period=period, threshold=threshold,
                    spent_micros=spent, limit_micros=limit)

    def _in_background(self, work: Any) -> None:
        try:
            future = asyncio.ensure_future(work)
        except RuntimeError:  # no running loop (a synchronous caller, e.g. a unit test)
            work.close()
            return
        self._background.add(future)
        future.add_done_callback(self._finished)

    def _finished(self, future: asyncio.Future[Any]) -> None:
        self._background.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("could not record to the store: %s", future.exception())
