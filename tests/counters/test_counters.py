"""The counters contract, on MemoryCounters and on the real Redis: reserve/settle, stale holds, rate,
loop evidence, shared state, concurrency (threads and processes) and store outages."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import redis
from counters_support import REDIS_URL, FakeClock, reserve_and_settle

from tokenpulse.counters import (
    UNREACHABLE,
    Counters,
    CountersUnavailable,
    Denied,
    MemoryCounters,
    Reservation,
    Usage,
)
from tokenpulse.counters.base import MAX_MICROS
from tokenpulse.counters.redis import RedisCounters, connect
from tokenpulse.policy import BreakerPolicy, BreakerState, Observation, crossed_thresholds, evaluate

DAY = 86_400


def reserved(result: Reservation | Denied) -> Reservation:
    assert isinstance(result, Reservation), result
    return result


# -- reserve ----------------------------------------------------------------------------------------------


def test_both_implementations_satisfy_the_protocol(counters: Counters) -> None:
    assert isinstance(counters, Counters)


def test_reserve_holds_the_amount_on_every_key(counters: Counters, clock: FakeClock) -> None:
    res = reserved(counters.reserve([("person:a", 1000), ("team:t", 5000), ("org", None)], 300, [DAY, DAY, DAY]))
    assert res.keys == ("person:a", "team:t", "org") and res.amount_micros == 300 and not res.unenforced
    assert res.deadline == clock.now + timedelta(seconds=900)
    assert counters.usage(["person:a", "team:t", "org", "other"]) == [Usage(0, 300)] * 3 + [Usage(0, 0)]
    assert counters.totals(["person:a", "org"]) == [0, 0]  # totals are settled spend only


def test_a_reservation_fits_exactly_up_to_the_limit(counters: Counters) -> None:
    counters.add("k", 600, DAY)
    reserved(counters.reserve([("k", 1000)], 300, [DAY]))
    reserved(counters.reserve([("k", 1000)], 100, [DAY]))  # 600 + 300 + 100 == 1000
    denied = counters.reserve([("k", 1000)], 1, [DAY])
    assert denied == Denied("k", 1000, 1000, 1)
    assert not denied.unavailable


def test_reserve_is_all_or_nothing_across_keys(counters: Counters) -> None:
    counters.add("team:t", 450, DAY)
    denied = counters.reserve([("person:a", 1000), ("team:t", 500), ("org", None)], 60, [DAY, DAY, DAY])
    assert denied == Denied("team:t", 500, 450, 60)
    assert counters.usage(["person:a", "team:t", "org"]) == [Usage(0, 0), Usage(450, 0), Usage(0, 0)]
    # When several keys would go over, the first one in the given order is named.
    counters.add("person:a", 990, DAY)
    assert counters.reserve([("person:a", 1000), ("team:t", 500)], 60, [DAY, DAY]).key == "person:a"
    assert counters.reserve([("team:t", 500), ("person:a", 1000)], 60, [DAY, DAY]).key == "team:t"


def test_current_counts_other_live_reservations(counters: Counters) -> None:
    reserved(counters.reserve([("k", 100)], 70, [DAY]))
    assert counters.reserve([("k", 100)], 31, [DAY]) == Denied("k", 100, 70, 31)


def test_no_limit_only_counts(counters: Counters) -> None:
    for _ in range(3):
        counters.settle(reserved(counters.reserve([("org", None)], 10**12, [DAY])), 10**12)
    assert counters.totals(["org"]) == [3 * 10**12]


def test_amounts_are_exact_up_to_the_largest_allowed(counters: Counters) -> None:
    top = MAX_MICROS  # about $1.1 billion: Redis's Lua doubles are still exact here
    assert counters.add("k", top - 3, DAY) == top - 3
    res = reserved(counters.reserve([("k", top), ("j", None)], 3, [DAY, DAY]))
    assert counters.reserve([("k", top)], 1, [DAY]) == Denied("k", top, top, 1)
    assert counters.usage(["k", "j"]) == [Usage(top - 3, 3), Usage(0, 3)]
    assert counters.settle(res, 3) == [top, 3]
    with pytest.raises(ValueError, match="amount_micros"):
        counters.reserve([("j", None)], top + 1, [DAY])


def test_bad_arguments_are_refused_the_same_way(counters: Counters) -> None:
    with pytest.raises(ValueError, match="twice"):
        counters.reserve([("k", 1), ("k", 1)], 1, [DAY, DAY])
    with pytest.raises(ValueError, match="2 keys but 1 TTLs"):
        counters.reserve([("k", 1), ("j", 1)], 1, [DAY])
    with pytest.raises(TypeError, match="integer micro-USD"):
        counters.reserve([("k", 10)], 1.5, [DAY])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="amount_micros"):
        counters.reserve([("k", 10)], -1, [DAY])
    with pytest.raises(ValueError, match="ttl_seconds"):
        counters.reserve([("k", 10)], 1, [0])
    with pytest.raises(ValueError, match="at least one key"):
        counters.reserve([], 1, [])


# -- settle and release -----------------------------------------------------------------------------------


def test_settle_below_the_reservation_frees_the_difference(counters: Counters) -> None:
    res = reserved(counters.reserve([("person:a", 1000), ("team:t", None)], 400, [DAY, DAY]))
    assert counters.settle(res, 150) == [150, 150]
    assert counters.usage(["person:a", "team:t"]) == [Usage(150, 0), Usage(150, 0)]
    reserved(counters.reserve([("person:a", 1000)], 850, [DAY]))


def test_settle_above_the_reservation_counts_the_actual_cost(counters: Counters) -> None:
    res = reserved(counters.reserve([("k", 1000)], 1000, [DAY]))
    assert counters.settle(res, 1300) == [1300]  # the vendor charged it: the overshoot is recorded
    assert counters.usage(["k"]) == [Usage(1300, 0)]
    assert counters.reserve([("k", 1000)], 0, [DAY]) == Denied("k", 1000, 1300, 0)


def test_settle_returns_settled_spend_not_other_holds(counters: Counters) -> None:
    first = reserved(counters.reserve([("k", None)], 100, [DAY]))
    reserved(counters.reserve([("k", None)], 500, [DAY]))
    assert counters.settle(first, 80) == [80]
    assert counters.usage(["k"]) == [Usage(80, 500)]


def test_release_drops_the_hold_and_is_harmless_after_settle(counters: Counters) -> None:
    res = reserved(counters.reserve([("k", 100)], 100, [DAY]))
    assert counters.release(res) == [0]
    assert counters.usage(["k"]) == [Usage(0, 0)]
    # A settle that arrives after a release still counts: the money was spent.
    assert counters.settle(res, 40) == [40]
    other = reserved(counters.reserve([("k", 100)], 60, [DAY]))
    counters.settle(other, 60)
    assert counters.release(other) == [100]  # settle, then release in a `finally`: nothing changes
    assert counters.usage(["k"]) == [Usage(100, 0)]


def test_add_is_unconditional(counters: Counters) -> None:
    assert counters.add("k", 70, DAY) == 70
    assert counters.add("k", 70, DAY) == 140
    assert counters.totals(["k"]) == [140]


# -- stale reservations and expiry ------------------------------------------------------------------------


def test_stale_reservations_are_released_at_their_deadline(counters: Counters, clock: FakeClock) -> None:
    crashed = reserved(counters.reserve([("k", 100), ("team", None)], 100, [DAY, DAY], hold_seconds=60))
    clock.advance(59.999)
    assert counters.reserve([("k", 100)], 1, [DAY]) == Denied("k", 100, 100, 1)
    assert counters.usage(["k", "team"]) == [Usage(0, 100), Usage(0, 100)]
    clock.advance(0.001)  # the deadline: the hold is dropped, and never becomes spend
    assert counters.usage(["k", "team"]) == [Usage(0, 0), Usage(0, 0)]
    fresh = reserved(counters.reserve([("k", 100)], 100, [DAY]))
    # A late settle of the stale reservation still records its cost, beside the new hold.
    assert counters.settle(crashed, 30) == [30, 30]
    assert counters.usage(["k", "team"]) == [Usage(30, 100), Usage(30, 0)]
    assert counters.settle(fresh, 100) == [130]


def test_the_default_hold_is_fifteen_minutes(counters: Counters, clock: FakeClock) -> None:
    reserved(counters.reserve([("k", None)], 5, [DAY]))
    clock.advance(899)
    assert counters.usage(["k"]) == [Usage(0, 5)]
    clock.advance(1)
    assert counters.usage(["k"]) == [Usage(0, 0)]


def test_memory_keys_expire_with_their_period(clock: FakeClock) -> None:
    counters = MemoryCounters(clock=clock)
    counters.settle(reserved(counters.reserve([("day", 100), ("month", 1000)], 50, [10, 100])), 50)
    clock.advance(9)
    assert counters.totals(["day", "month"]) == [50, 50]
    clock.advance(1)
    assert counters.totals(["day", "month"]) == [0, 50]
    reserved(counters.reserve([("day", 100)], 100, [10]))  # a fresh period starts from zero
    counters.set_state("s", b"x", 5)
    clock.advance(5)
    assert counters.get_state("s") is None
    clock.advance(120)  # the periodic sweep drops everything expired
    counters.totals([])
    assert counters._counters == {} and counters._states == {}


def test_redis_keys_carry_the_period_ttl_and_the_documented_layout(redis_client: redis.Redis, redis_prefix: str,
                                                                   clock: FakeClock) -> None:
    counters = RedisCounters(redis_client, redis_prefix, clock=clock)
    res = reserved(counters.reserve([("person:a", 100), ("team:t", None)], 40, [3600, 7200]))
    counters.add_rate("a", 5, clock.now, 600)
    counters.note_prompt("a", "h1", 10, clock.now, 600, 10)
    counters.set_state("breaker:a", b"{}", 300)
    minute = int(clock.now.timestamp()) // 60
    assert sorted(k.decode() for k in redis_client.scan_iter(match=f"{redis_prefix}*")) == sorted(
        f"{redis_prefix}{k}" for k in ["c:person:a", "h:person:a", "c:team:t", "h:team:t", f"rate:a:{minute}",
                                       "loop:a:h1", "state:breaker:a"])
    assert 3590 <= redis_client.ttl(f"{redis_prefix}c:person:a") <= 3600
    assert 3590 <= redis_client.ttl(f"{redis_prefix}h:person:a") <= 3600
    assert 7190 <= redis_client.ttl(f"{redis_prefix}c:team:t") <= 7200
    assert 650 <= redis_client.ttl(f"{redis_prefix}rate:a:{minute}") <= 660
    assert 590 <= redis_client.ttl(f"{redis_prefix}loop:a:h1") <= 600
    assert 290 <= redis_client.ttl(f"{redis_prefix}state:breaker:a") <= 300
    # A settle after the period's key expired recreates it with a TTL, never without one.
    redis_client.delete(f"{redis_prefix}c:team:t")
    counters.settle(res, 40)
    assert 7190 <= redis_client.ttl(f"{redis_prefix}c:team:t") <= 7200


# -- concurrency ------------------------------------------------------------------------------------------


def test_no_overshoot_under_concurrent_threads(counters: Counters) -> None:
    keys = [("person:a", 1000), ("team:t", 700), ("org", None)]
    lock = threading.Lock()
    admitted: list[Reservation] = []

    def attempt(_: int) -> None:
        result = counters.reserve(keys, 7, [DAY] * 3)
        if isinstance(result, Reservation):
            with lock:
                admitted.append(result)
            counters.settle(result, 7)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(attempt, range(32 * 10)))
    assert len(admitted) == 700 // 7
    assert counters.usage(["person:a", "team:t", "org"]) == [Usage(700, 0)] * 3


def test_each_alert_threshold_fires_once_across_concurrent_settles(counters: Counters) -> None:
    limit, fired, lock = 10_000, [], threading.Lock()

    def one(i: int) -> None:
        res = reserved(counters.reserve([("budget", None)], 100, [DAY]))
        after = counters.settle(res, 37 + i % 50)[0]
        crossed = crossed_thresholds(limit, after - (37 + i % 50), after, (25, 50, 80, 100, 150))
        with lock:
            fired.extend(crossed)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(one, range(400)))
    assert sorted(fired) == [25, 50, 80, 100, 150]


def test_no_overshoot_across_processes(redis_prefix: str) -> None:
    keys = [("person:a", 2000), ("team:t", 1000)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        counts = pool.starmap(reserve_and_settle, [(REDIS_URL, redis_prefix, keys, 7, 100, 4)] * 4)
    assert sum(counts) == 1000 // 7
    check = connect(REDIS_URL, redis_prefix)
    try:
        assert check.usage(["person:a", "team:t"]) == [Usage(994, 0), Usage(994, 0)]
    finally:
        check.close()


# -- breaker helpers --------------------------------------------------------------------------------------


def test_rate_sums_the_minute_buckets_of_the_window(counters: Counters) -> None:
    now = datetime(2026, 12, 4, 20, 0, 30, tzinfo=UTC)
    counters.add_rate("a", 5, datetime(2026, 12, 4, 19, 50, 59, tzinfo=UTC), 600)  # bucket 19:50: outside
    counters.add_rate("a", 7, datetime(2026, 12, 4, 19, 51, 0, tzinfo=UTC), 600)   # bucket 19:51: inside
    counters.add_rate("a", 11, datetime(2026, 12, 4, 20, 0, 29, tzinfo=UTC), 600)
    counters.add_rate("a", 13, datetime(2026, 12, 4, 20, 0, 30, tzinfo=UTC), 600)
    counters.add_rate("b", 1000, now, 600)
    assert counters.rate("a", now, 600) == 7 + 11 + 13
    assert counters.rate("a", now, 60) == 11 + 13  # the current minute only
    assert counters.rate("a", now, 61) == 11 + 13  # two buckets: 19:59 and 20:00
    assert counters.rate("a", now, 660) == 5 + 7 + 11 + 13
    assert counters.rate("b", now, 600) == 1000
    assert counters.rate("nobody", now, 600) == 0


def test_note_prompt_counts_repeats_of_similar_size_in_the_window(counters: Counters) -> None:
    t0 = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)

    def note(seconds: int, size: int, prompt: str = "h1", person: str = "a") -> int:
        return counters.note_prompt(person, prompt, size, t0 + timedelta(seconds=seconds), 600, 10)

    assert note(0, 1000) == 1
    assert note(10, 1050) == 2     # |1050 - 1000| <= 10% of 1050
    assert note(20, 1200) == 1     # 1000 and 1050 are more than 10% away from 1200
    assert note(30, 1000) == 3     # 1000, 1050 and this one (1200 is 20% away)
    assert note(40, 1000, prompt="h2") == 1
    assert note(40, 1000, person="b") == 1
    assert note(50, 900) == 1      # 1000 is 11% away from 900
    assert note(599, 950) == 4     # the two 1000s, 900 (all within 95) and this one; not 1050 or 1200
    # The t=0 entry has left the window; 900 is exactly 10% of 1000 away, which still counts.
    assert note(600, 1000) == 5    # 1050, 1000, 900, 950 and this one


def test_breaker_state_is_shared_bytes(counters: Counters) -> None:
    assert counters.get_state("breaker:a") is None
    counters.set_state("breaker:a", b"\x00binary\xff", 60)
    assert counters.get_state("breaker:a") == b"\x00binary\xff"
    counters.set_state("breaker:a", b"v2", 60)
    assert counters.get_state("breaker:a") == b"v2"


def test_the_breaker_trips_on_loop_evidence_and_every_replica_sees_it(counters: Counters,
                                                                     clock: FakeClock) -> None:
    policy = BreakerPolicy(tz="America/Los_Angeles")
    key = "breaker:alice"
    decision = None
    for i in range(policy.loop_repeats or 0):
        raw = counters.get_state(key)
        state = BreakerState.from_bytes(raw) if raw else None
        assert state is None or not state.tripped
        count = counters.note_prompt("alice", "9b2e", 4000 + i, clock.now, policy.loop_window_seconds,
                                     policy.loop_size_tolerance_percent)
        obs = Observation(today_micros=3_000_000, baseline_micros=20_000_000, loop_count=count, prompt_hash="9b2e")
        decision = evaluate(state, obs, policy, clock.now)
        if decision.state != state:
            counters.set_state(key, decision.state.to_bytes(), decision.state.ttl_seconds(clock.now))
        clock.advance(20)
    assert decision is not None and decision.action == "trip" and decision.cause == "loop"
    stored = BreakerState.from_bytes(counters.get_state(key) or b"")
    assert stored.tripped and stored.evidence["loop_count"] == 12


# -- the store is unreachable -----------------------------------------------------------------------------


def test_fail_open_admits_unenforced_and_reports_it(closed_port: int, clock: FakeClock) -> None:
    seen: list[str] = []
    counters = connect(f"redis://127.0.0.1:{closed_port}/0", "tp:", fail_open=True, timeout_seconds=0.2,
                       clock=clock, on_unavailable=lambda operation, exc: seen.append(operation))
    try:
        res = counters.reserve([("k", 100)], 50, [DAY])
        assert isinstance(res, Reservation) and res.unenforced
        assert res.reason.startswith(UNREACHABLE) and res.keys == ("k",) and res.amount_micros == 50
        with pytest.raises(CountersUnavailable, match=UNREACHABLE) as raised:
            counters.settle(res, 50)
        assert raised.value.operation == "settle"
        with pytest.raises(CountersUnavailable):
            counters.rate("a", clock.now, 600)
        with pytest.raises(CountersUnavailable):
            counters.get_state("breaker:a")
        assert seen == ["reserve", "settle", "rate", "get_state"]
    finally:
        counters.close()


def test_fail_closed_denies_with_a_reason(closed_port: int, clock: FakeClock) -> None:
    seen: list[str] = []
    counters = connect(f"redis://127.0.0.1:{closed_port}/0", "tp:", timeout_seconds=0.2, clock=clock,
                       on_unavailable=lambda operation, exc: seen.append(operation))
    try:
        assert counters.fail_open is False  # the default: enforcement does not silently turn off
        denied = counters.reserve([("k", None)], 50, [DAY])
        assert denied == Denied(None, None, None, 50, reason="enforcement store unreachable", unavailable=True)
        with pytest.raises(CountersUnavailable):
            counters.note_prompt("a", "h", 1, clock.now, 600, 10)
        assert seen == ["reserve", "note_prompt"]
    finally:
        counters.close()


def test_an_unenforced_reservation_settles_once_the_store_is_back(redis_client: redis.Redis, redis_prefix: str,
                                                                  clock: FakeClock) -> None:
    counters = RedisCounters(redis_client, redis_prefix, clock=clock)
    unenforced = Reservation("x", ("k",), 50, (DAY,), clock.now, unenforced=True, reason=UNREACHABLE)
    assert counters.settle(unenforced, 45) == [45]
    assert counters.usage(["k"]) == [Usage(45, 0)]
