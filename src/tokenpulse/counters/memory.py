"""`MemoryCounters`: the `Counters` contract for a single gateway process.

One lock makes every operation atomic (the operations are a few dict look-ups, so contention is
not a concern at gateway rates). Time comes from an injected clock, both for reservation
deadlines and for key expiry, so tests can move it; expired keys are dropped when touched and by a
sweep of the whole table at most once a minute, which keeps memory bounded without a thread.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from .base import (
    BUCKET_SECONDS,
    DEFAULT_HOLD_SECONDS,
    LOOP_MEMORY,
    LOOP_PROMPTS,
    Clock,
    Denied,
    Reservation,
    Usage,
    check_amount,
    check_percent,
    check_positive,
    check_reserve_args,
    epoch_ms,
    rate_buckets,
    system_clock,
    within_tolerance,
)

_SWEEP_EVERY_MS = 60_000
K = TypeVar("K")
V = TypeVar("V")


@dataclass
class _Counter:
    expires_ms: int
    spent: int = 0
    holds: dict[str, tuple[int, int]] = field(default_factory=dict)  # reservation id -> (amount, deadline ms)

    def reserved(self) -> int:
        return sum(amount for amount, _ in self.holds.values())

    def purge(self, now_ms: int) -> None:
        stale = [rid for rid, (_, deadline) in self.holds.items() if deadline <= now_ms]
        for rid in stale:
            del self.holds[rid]


def _live(table: dict[K, tuple[int, V]], key: K, now_ms: int) -> V | None:
    """The value under `key` unless it has expired (then it is dropped)."""
    entry = table.get(key)
    if entry is None:
        return None
    if entry[0] <= now_ms:
        del table[key]
        return None
    return entry[1]


def _sweep(table: dict[K, tuple[int, V]], now_ms: int) -> None:
    for key in [k for k, (expires_ms, _) in table.items() if expires_ms <= now_ms]:
        del table[key]


class MemoryCounters:
    """In-process counters; thread-safe; `clock` returns an aware datetime (default: the system's)."""

    def __init__(self, *, clock: Clock | None = None, hold_seconds: int = DEFAULT_HOLD_SECONDS):
        self._clock = clock or system_clock
        self.hold_seconds = check_positive(hold_seconds, "hold_seconds")
        self._lock = threading.Lock()
        self._counters: dict[str, _Counter] = {}
        # each maps a key to (expiry in epoch ms, value)
        self._rates: dict[tuple[str, int], tuple[int, int]] = {}
        # person -> their recent prompts (least recently seen first) -> (time ms, size) of each request
        self._loops: dict[str, OrderedDict[str, deque[tuple[int, int]]]] = {}
        self._states: dict[str, tuple[int, bytes]] = {}
        self._last_sweep_ms = 0
        self._ids = itertools.count()
        self._id_prefix = f"{uuid.uuid4().hex[:8]}-"  # reservation ids: unique per instance, cheap per request

    # -- internals (call with the lock held) ---------------------------------------------------------------

    def _now_ms(self, now: datetime | None = None) -> int:
        """The clock in epoch ms (read once per operation); sweeps expired entries once a minute."""
        now_ms = epoch_ms(now if now is not None else self._clock())
        if now_ms - self._last_sweep_ms >= _SWEEP_EVERY_MS:
            self._last_sweep_ms = now_ms
            for key in [k for k, c in self._counters.items() if c.expires_ms <= now_ms]:
                del self._counters[key]
            _sweep(self._rates, now_ms)
            _sweep(self._states, now_ms)
        return now_ms

    def _counter(self, key: str, now_ms: int) -> _Counter | None:
        counter = self._counters.get(key)
        if counter is not None and counter.expires_ms <= now_ms:
            del self._counters[key]
            return None
        if counter is not None:
            counter.purge(now_ms)
        return counter

    # -- reserve / settle ----------------------------------------------------------------------------------

    def reserve(self, keys: Sequence[tuple[str, int | None]], amount_micros: int, ttl_seconds: Sequence[int], *,
                hold_seconds: int | None = None) -> Reservation | Denied:
        check_reserve_args(keys, amount_micros, ttl_seconds)
        hold = check_positive(hold_seconds, "hold_seconds") if hold_seconds is not None else self.hold_seconds
        with self._lock:
            now = self._clock()
            now_ms = self._now_ms(now)
            for name, limit in keys:
                counter = self._counter(name, now_ms)
                current = counter.spent + counter.reserved() if counter else 0
                if limit is not None and current + amount_micros > limit:
                    return Denied(name, limit, current, amount_micros)
            rid = f"{self._id_prefix}{next(self._ids)}"
            deadline_ms = now_ms + hold * 1000
            for (name, _), ttl in zip(keys, ttl_seconds, strict=True):
                counter = self._counter(name, now_ms)
                if counter is None:
                    counter = self._counters[name] = _Counter(expires_ms=now_ms + ttl * 1000)
                counter.expires_ms = now_ms + ttl * 1000
                counter.holds[rid] = (amount_micros, deadline_ms)
            return Reservation(rid, tuple(name for name, _ in keys), amount_micros, tuple(ttl_seconds),
                               now + timedelta(seconds=hold))

    def settle(self, reservation: Reservation, actual_micros: int) -> list[int]:
        check_amount(actual_micros, "actual_micros")
        with self._lock:
            now_ms = self._now_ms()
            totals = []
            for name, ttl in zip(reservation.keys, reservation.ttl_seconds, strict=True):
                counter = self._counter(name, now_ms)
                if counter is None:  # expired with its period meanwhile: the spend still counts
                    counter = self._counters[name] = _Counter(expires_ms=now_ms + ttl * 1000)
                counter.holds.pop(reservation.id, None)
                counter.spent += actual_micros
                totals.append(counter.spent)
            return totals

    def release(self, reservation: Reservation) -> list[int]:
        return self.settle(reservation, 0)

    def usage(self, keys: Sequence[str]) -> list[Usage]:
        with self._lock:
            now_ms = self._now_ms()
            result = []
            for name in keys:
                counter = self._counter(name, now_ms)
                result.append(Usage(counter.spent, counter.reserved()) if counter else Usage(0, 0))
            return result

    def totals(self, keys: Sequence[str]) -> list[int]:
        return [u.spent for u in self.usage(keys)]

    def add(self, key: str, amount_micros: int, ttl_seconds: int) -> int:
        check_amount(amount_micros, "amount_micros")
        check_positive(ttl_seconds, "ttl_seconds")
        with self._lock:
            now_ms = self._now_ms()
            counter = self._counter(key, now_ms)
            if counter is None:
                counter = self._counters[key] = _Counter(expires_ms=0)
            counter.expires_ms = now_ms + ttl_seconds * 1000
            counter.spent += amount_micros
            return counter.spent

    # -- breaker helpers -----------------------------------------------------------------------------------

    def add_rate(self, person: str, amount_micros: int, now: datetime, window_seconds: int) -> None:
        check_amount(amount_micros, "amount_micros")
        bucket = rate_buckets(now, window_seconds)[-1]
        with self._lock:
            now_ms = self._now_ms()
            total = (_live(self._rates, (person, bucket), now_ms) or 0) + amount_micros
            self._rates[(person, bucket)] = (now_ms + (window_seconds + BUCKET_SECONDS) * 1000, total)

    def rate(self, person: str, now: datetime, window_seconds: int) -> int:
        buckets = rate_buckets(now, window_seconds)
        with self._lock:
            now_ms = self._now_ms()
            return sum(_live(self._rates, (person, bucket), now_ms) or 0 for bucket in buckets)

    def note_prompt(self, person: str, prompt_hash: str, size: int, now: datetime, window_seconds: int,
                    tolerance_percent: int) -> int:
        check_amount(size, "size")
        check_positive(window_seconds, "window_seconds")
        check_percent(tolerance_percent, "tolerance_percent")
        at_ms = epoch_ms(now)
        cutoff_ms = at_ms - window_seconds * 1000
        with self._lock:
            self._now_ms()  # the periodic sweep of expired keys
            prompts = self._loops.get(person)
            if prompts is None:
                prompts = self._loops[person] = OrderedDict()
            seen = prompts.get(prompt_hash)
            if seen is None:
                seen = prompts[prompt_hash] = deque(maxlen=LOOP_MEMORY)
                if len(prompts) > LOOP_PROMPTS:
                    prompts.popitem(last=False)
            else:
                prompts.move_to_end(prompt_hash)
            while seen and seen[0][0] <= cutoff_ms:
                seen.popleft()
            seen.append((at_ms, size))
            return sum(1 for ts, other in seen if ts > cutoff_ms and within_tolerance(size, other, tolerance_percent))

    def get_state(self, key: str) -> bytes | None:
        with self._lock:
            return _live(self._states, key, self._now_ms())

    def set_state(self, key: str, value: bytes, ttl_seconds: int) -> None:
        check_positive(ttl_seconds, "ttl_seconds")
        with self._lock:
            self._states[key] = (self._now_ms() + ttl_seconds * 1000, bytes(value))
