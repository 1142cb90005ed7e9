"""The `Counters` contract: atomic reserve-before-forward, settle-after, for every scope at once.

Why reserve/settle: the cost of a request is known only after the vendor answers, but the budget
check must happen before it is forwarded. So the gateway reserves an estimate (input tokens + the
output cap, priced) on every key the request counts against (person, team, org, day, month...),
all or nothing, and settles the actual cost afterwards. Concurrent requests see each other's
reservations, so a limit can be overshot only by the amount actual costs exceed their estimates.

Terms, per key:
- `spent`: settled micro-USD (only grows, except that the key expires with its period);
- `reserved`: the sum of live reservations;
- a reservation fits a key when `spent + reserved + amount <= limit` (limit None: just count).

Stale reservations. A reservation whose settle never comes (a crashed replica) is held until its
deadline (`hold_seconds` after it was made, on the counters' injected clock) and then silently
dropped from `reserved` by the next operation touching that key; it never becomes spend. A settle
arriving after that still adds its actual cost (the vendor charged it). Every key also expires
with its period (the `ttl_seconds` given when it is written), so nothing leaks forever.

Settle semantics: `settle` removes the reservation's hold (if still held) and adds the actual
cost to `spent`, even if larger than the reservation. `release` is settle with 0, so releasing
after a settle changes nothing; settling twice counts twice (settle once, release in `finally`).

The breaker helpers (spend-rate buckets, loop evidence, shared state) live here too, so one
store serves the whole hot path and every replica sees the same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

Clock = Callable[[], datetime]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Default time a reservation is held before it counts as stale (long streams can take minutes).
DEFAULT_HOLD_SECONDS = 900
#: At most this many recent requests are remembered per (person, prompt hash) for loop evidence: the count
#: saturates there (a breaker's `loop_repeats` must not exceed it), and a hot loop costs a bounded scan.
LOOP_MEMORY = 64
#: At most this many distinct recent prompts are remembered per person (in memory; the least recently
#: seen is forgotten first), so memory stays flat however many different prompts pass.
LOOP_PROMPTS = 256
#: Spend-rate buckets are one minute wide.
BUCKET_SECONDS = 60
#: Largest amount or limit accepted: Redis's Lua numbers are doubles, exact up to 2**53.
MAX_MICROS = 2**50


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Reservation:
    """A successful reservation of `amount_micros` on every one of `keys`.

    `unenforced` is True when the store was unreachable and the counters are configured to fail
    open: nothing was reserved, `reason` says why, and the gateway should alert."""

    id: str
    keys: tuple[str, ...]
    amount_micros: int
    ttl_seconds: tuple[int, ...]
    deadline: datetime
    unenforced: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Denied:
    """A refused reservation: `key` is the first key that would go over `limit` (its `current`
    spent + reserved, before this amount), or, when `unavailable`, the store could not be reached
    (fail-closed) and the key fields are None."""

    key: str | None
    limit: int | None
    current: int | None
    amount_micros: int
    reason: str = "over limit"
    unavailable: bool = False


@dataclass(frozen=True)
class Usage:
    spent: int
    reserved: int


@runtime_checkable
class Counters(Protocol):
    """Hot-path enforcement state; `MemoryCounters` (one process) and `RedisCounters` (many) behave alike."""

    def reserve(self, keys: Sequence[tuple[str, int | None]], amount_micros: int, ttl_seconds: Sequence[int], *,
                hold_seconds: int | None = None) -> Reservation | Denied:
        """All or nothing: reserve `amount_micros` on every key if it fits every limit, else change nothing."""
        ...

    def settle(self, reservation: Reservation, actual_micros: int) -> list[int]:
        """Replace the reservation by the actual cost on every key; returns each key's settled `spent`."""
        ...

    def release(self, reservation: Reservation) -> list[int]:
        """Drop the reservation (settle with 0)."""
        ...

    def totals(self, keys: Sequence[str]) -> list[int]:
        """Settled spend per key (0 for a missing or expired key)."""
        ...

    def usage(self, keys: Sequence[str]) -> list[Usage]:
        """Settled spend and live reservations per key."""
        ...

    def add(self, key: str, amount_micros: int, ttl_seconds: int) -> int:
        """Add to a key's settled spend unconditionally; returns the new total."""
        ...

    def add_rate(self, person: str, amount_micros: int, now: datetime, window_seconds: int) -> None:
        """Count spend in the person's current one-minute bucket (kept for `window_seconds`)."""
        ...

    def rate(self, person: str, now: datetime, window_seconds: int) -> int:
        """Spend in the person's buckets covering the last `window_seconds` (the current minute included)."""
        ...

    def note_prompt(self, person: str, prompt_hash: str, size: int, now: datetime, window_seconds: int,
                    tolerance_percent: int) -> int:
        """Record one request and return how many with this hash and a size within tolerance of `size`
        were seen in the last `window_seconds`, this one included."""
        ...

    def get_state(self, key: str) -> bytes | None:
        ...

    def set_state(self, key: str, value: bytes, ttl_seconds: int) -> None:
        ...


# -- helpers shared by the implementations (same validation, same arithmetic) -----------------------------


def epoch_ms(now: datetime) -> int:
    """Integer milliseconds since the epoch (exact; no float)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"times must be timezone-aware, got naive {now.isoformat()}")
    return (now - EPOCH) // timedelta(milliseconds=1)


def rate_buckets(now: datetime, window_seconds: int) -> list[int]:
    """The minute numbers (since the epoch) of the buckets covering the last `window_seconds`: the
    current minute and the ceil(window / 60) - 1 before it."""
    check_positive(window_seconds, "window_seconds")
    current = epoch_ms(now) // (BUCKET_SECONDS * 1000)
    count = -(-window_seconds // BUCKET_SECONDS)
    return list(range(current - count + 1, current + 1))


def within_tolerance(size: int, other: int, tolerance_percent: int) -> bool:
    return abs(other - size) * 100 <= tolerance_percent * size


def check_amount(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be integer micro-USD, got {type(value).__name__}")
    if not 0 <= value <= MAX_MICROS:
        raise ValueError(f"{name} must be within 0..{MAX_MICROS}, got {value}")
    return value


def check_positive(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_percent(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer percentage, got {value!r}")
    return value


def check_reserve_args(keys: Sequence[tuple[str, int | None]], amount_micros: int,
                       ttl_seconds: Sequence[int]) -> None:
    if not keys:
        raise ValueError("reserve needs at least one key")
    if len(ttl_seconds) != len(keys):
        raise ValueError(f"reserve got {len(keys)} keys but {len(ttl_seconds)} TTLs")
    names = [name for name, _ in keys]
    if len(set(names)) != len(names):
        raise ValueError(f"reserve got a key twice: {names}")
    for name, limit in keys:
        if not name or not isinstance(name, str):
            raise ValueError(f"counter keys are non-empty strings, got {name!r}")
        if limit is not None:
            check_amount(limit, f"the limit of {name}")
    check_amount(amount_micros, "amount_micros")
    for ttl in ttl_seconds:
        check_positive(ttl, "ttl_seconds")
