"""The enforcer on an injected clock: the breaker cuts a looping agent off within its window and a
runaway day at its threshold (baseline from the store's history), the person re-enables, and the trip,
the reason and the re-enable land in the incident and audit logs; budget alerts fire once per threshold.
No sleeping: the clock is moved by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tokenpulse.counters import MemoryCounters
from tokenpulse.events import UsageEvent
from tokenpulse.gateway.enforce import Enforcer
from tokenpulse.gateway.proxy import Ask
from tokenpulse.gateway.settings import BudgetRule, GatewaySettings
from tokenpulse.policy import PolicyError

START = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make(store: Any, clock: Clock, **settings: Any) -> tuple[Enforcer, list[tuple[str, dict]]]:
    enforcer = Enforcer(GatewaySettings(tz="UTC", **settings), MemoryCounters(clock=clock), clock=clock)
    notes: list[tuple[str, dict]] = []

    async def read_store(fn: Any) -> Any:
        return fn(store)

    enforcer.read_store = read_store
    enforcer.notify = lambda event, text, **fields: notes.append((event, {"text": text, **fields}))
    enforcer.manager_of = lambda person: "carol@example.com"
    return enforcer, notes


def ask(prompt: str = "same prompt", estimate: int = 10_000, size: int = 5_000) -> Ask:
    return Ask(person="alice@example.com", team="payments", tool="claude_code", model="claude-sonnet-4-5",
               estimate_micros=estimate, prompt_hash=prompt, size=size)


async def settle_tasks() -> None:
    """Let the enforcer's background store writes finish."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_looping_agent_is_cut_off_within_the_window_and_reenables_itself(store) -> None:
    async def scenario() -> None:
        clock = Clock(START)
        enforcer, notes = make(store, clock)  # defaults: 12 repeats within 10 minutes is a loop
        admitted = 0
        while True:
            admission = enforcer.admit(ask())
            if admission.refused is not None:
                break
            enforcer.settle(admission, 4_000)
            admitted += 1
            clock.now += timedelta(seconds=20)  # an agent retrying the same thing every 20 s
        cut_off_after = clock.now - START
        assert admitted == 11 and cut_off_after == timedelta(seconds=220) < timedelta(minutes=10)
        assert admission.refused.kind == "circuit_breaker_tripped"
        assert "sent 12 times in the last 10 minutes" in admission.refused.message
        assert 'tokenpulse reenable --reason "..."' in admission.refused.message

        clock.now += timedelta(minutes=1)  # still refused, whatever is asked
        assert enforcer.admit(ask("another prompt")).refused.kind == "circuit_breaker_tripped"
        await settle_tasks()

        done = await enforcer.reenable("alice@example.com", by="alice@example.com", reason="load test, intended")
        assert (done["cause"], done["manager"]) == ("loop", "carol@example.com")
        assert enforcer.admit(ask()).refused is None  # raised threshold: the same prompt goes through again
        with pytest.raises(PolicyError, match="not tripped"):
            await enforcer.reenable("alice@example.com", by="alice@example.com", reason="again")

        [incident] = store.incidents(person="alice@example.com")
        assert (incident.cause, incident.tripped_at, incident.reenabled_by, incident.reenable_reason) == (
            "loop", START + timedelta(seconds=220), "alice@example.com", "load test, intended")
        assert incident.evidence["loop_count"] == 12 and incident.evidence["prompt_hash"] == "same prompt"
        assert [(e.actor, e.action) for e in store.audit_log(subject="alice@example.com")] == [
            ("gateway", "breaker_trip"), ("alice@example.com", "reenable")]
        assert [event for event, _ in notes] == ["breaker_trip", "reenable"]
        assert notes[1][1]["manager"] == "carol@example.com"

    asyncio.run(scenario())


def test_a_runaway_day_trips_at_k_times_the_persons_usual_day_and_a_new_day_resets(store, book) -> None:
    # Ten earlier days at $30 each (2M output tokens at $15/MTok): the usual day (90th percentile) is $30,
    # and the threshold 3 x $30 = $90.
    history = [UsageEvent(id=f"h{d}", ts=START - timedelta(days=d), tool="claude_code", person="alice@example.com",
                          model="claude-sonnet-4-5", output_tokens=2_000_000, source="gateway")
               for d in range(1, 11)]
    for event in history:
        book.price(event)
    store.write_batch(history)

    async def scenario() -> None:
        clock = Clock(START)
        enforcer, _ = make(store, clock, breaker={"rate_usd": False, "loop_repeats": False, "floor_usd": 10})
        enforcer.settle(enforcer.admit(ask(prompt="p0")), 0)
        await settle_tasks()  # the baseline is read from the store in the background
        spent = 0
        for i in range(1, 100):
            clock.now += timedelta(minutes=5)
            admission = enforcer.admit(ask(prompt=f"p{i}"))
            if admission.refused is not None:
                break
            enforcer.settle(admission, 7_000_000)
            spent += 7_000_000
        assert spent == 91_000_000  # the request after the spend passed $90 is refused
        assert "above today's threshold of $90.00" in admission.refused.message
        assert "your usual day of $30.00" in admission.refused.message

        clock.now = START.replace(hour=0) + timedelta(days=1)  # a new day (UTC): the breaker has reset
        assert enforcer.admit(ask(prompt="tomorrow")).refused is None

    asyncio.run(scenario())


def test_budget_alerts_fire_once_per_threshold_and_period(store) -> None:
    async def scenario() -> None:
        clock = Clock(START)
        rules = [BudgetRule(limit_micros=1_000_000, each="person", tool="claude_code")]
        enforcer, notes = make(store, clock, budgets=rules, breaker={"loop_repeats": False, "rate_usd": False})
        for _ in range(12):
            admission = enforcer.admit(ask(prompt=None, estimate=50_000))
            if admission.refused is None:
                enforcer.settle(admission, 100_000)
        await settle_tasks()
        alerts = [(fields["threshold"], fields["spent_micros"]) for event, fields in notes if event == "budget_threshold"]
        assert alerts == [(80, 800_000), (100, 1_000_000)]
        assert admission.refused.kind == "budget_exceeded"
        assert [e.detail["threshold"] for e in store.audit_log(subject="person:alice@example.com|tool:claude_code")] \
            == [80, 100]

    asyncio.run(scenario())


def test_budgets_and_breaker_settings_saved_in_the_dashboard_replace_the_files(store) -> None:
    async def scenario() -> None:
        clock = Clock(START)
        rules = [BudgetRule(limit_micros=1_000_000, each="person", tool="claude_code")]
        enforcer, _ = make(store, clock, budgets=rules, breaker={"loop_repeats": False, "rate_usd": False})
        assert [(b.scope, b.limit_micros) for b in enforcer.budgets_for("alice@example.com", "payments", None)] == [
            ("person:alice@example.com|tool:claude_code", 1_000_000)]
        # An admin saves a team budget and a lower loop threshold; the gateway reloads them with the overrides.
        store.set_org_setting("budgets", [{"team": "payments", "usd": "2.5"}], "root@example.com", START)
        store.set_org_setting("breaker", {"loop_repeats": 3, "rate_usd": False}, "root@example.com", START)
        await enforcer.load_overrides()
        assert [(b.scope, b.limit_micros) for b in enforcer.budgets_for("alice@example.com", "payments", None)] == [
            ("team:payments", 2_500_000)]
        assert enforcer.policy.loop_repeats == 3
        # The third identical prompt trips the breaker (the file's policy had loop detection off).
        kinds = []
        for _ in range(4):
            admission = enforcer.admit(ask())
            kinds.append(admission.refused.kind if admission.refused else None)
            if admission.refused is None:
                enforcer.settle(admission, 1_000)
        assert kinds == [None, None, "circuit_breaker_tripped", "circuit_breaker_tripped"]

    asyncio.run(scenario())
