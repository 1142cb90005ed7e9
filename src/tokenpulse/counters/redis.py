"""`RedisCounters`: the `Counters` contract shared by every gateway replica, atomic through Lua.

Key layout (every key starts with `prefix`; `{key}` is the caller's counter key, e.g.
`budget:month:2026-12:team:payments`):

    {prefix}c:{key}            HASH   spent -> settled micro-USD, reserved -> sum of live holds,
                                      r:{reservation id} -> that reservation's amount
    {prefix}h:{key}            ZSET   reservation id scored by its deadline (epoch ms)
    {prefix}rate:{person}:{m}  STRING micro-USD spent in epoch minute m (expires after the window)
    {prefix}loop:{person}:{h}  ZSET   "{ms}:{size}:{uid}" scored by epoch ms, for prompt hash h
    {prefix}state:{key}        STRING opaque bytes (breaker state), with a TTL

Reserve and settle each run as one Lua script over all the keys of a request, so a reservation is
all-or-nothing across replicas and never overshoots a limit. Stale reservations: every script
first drops the holds whose deadline has passed (see `counters.base`). The time is passed into
the scripts from the injected clock (epoch ms) rather than read from the server, so the
behaviour is the same as `MemoryCounters` and tests control it; replicas' clocks should be
NTP-synchronised (a skew of seconds only shifts when stale holds are dropped). Key expiry uses
Redis's own TTLs, set on every write from the caller's `ttl_seconds` (the period's remaining time).

Numbers: Lua numbers are doubles, exact to 2**53, and amounts are capped far below that; values
computed in Lua are never handed back to Redis as numbers (a double would print as `1e+15`).

Redis Cluster: a reservation touches several keys in one script, so they must share a hash slot:
put a hash tag in the prefix (e.g. `tp:{acme}:`).

Retries: reserve and settle are not idempotent, so the client should not retry them after a
timeout (a settle retried after it ran would count twice). `connect()` builds such a client, with
short timeouts, so an outage costs a request a fraction of a second, not seconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .base import (
    BUCKET_SECONDS,
    DEFAULT_HOLD_SECONDS,
    LOOP_MEMORY,
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
)
from .failure import STORE_ERRORS, UNREACHABLE, CountersUnavailable, UnavailableHook

T = TypeVar("T")

DEFAULT_URL = "redis://127.0.0.1:6379/0"

# Drops the holds of KEYS[2i-1]/KEYS[2i] whose deadline is <= now (ARGV[1]).
_PURGE = """
local function purge(h, z, now)
  local stale = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #stale == 0 then return end
  for _, rid in ipairs(stale) do
    local held = redis.call('HGET', h, 'r:' .. rid)
    if held then
      if held ~= '0' then redis.call('HINCRBY', h, 'reserved', '-' .. held) end
      redis.call('HDEL', h, 'r:' .. rid)
    end
  end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
end
"""

# KEYS: hash, zset per counter. ARGV: now_ms, deadline_ms, rid, amount, then limit ('' = none), ttl per counter.
# Returns {1} when reserved, {0, index of the first key over, its current spent + reserved} when not.
_RESERVE = _PURGE + """
local now, deadline, rid, amount_s = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local amount = tonumber(amount_s)
local n = #KEYS / 2
for i = 1, n do purge(KEYS[2 * i - 1], KEYS[2 * i], now) end
for i = 1, n do
  local limit = ARGV[3 + 2 * i]
  if limit ~= '' then
    local v = redis.call('HMGET', KEYS[2 * i - 1], 'spent', 'reserved')
    local current = tonumber(v[1] or '0') + tonumber(v[2] or '0')
    if current + amount > tonumber(limit) then return {0, i, current} end
  end
end
for i = 1, n do
  local h, z, ttl = KEYS[2 * i - 1], KEYS[2 * i], ARGV[4 + 2 * i]
  redis.call('HINCRBY', h, 'reserved', amount_s)
  redis.call('HSET', h, 'r:' .. rid, amount_s)
  redis.call('ZADD', z, deadline, rid)
  redis.call('EXPIRE', h, ttl)
  redis.call('EXPIRE', z, ttl)
end
return {1}
"""

# KEYS: hash, zset per counter. ARGV: now_ms, rid, actual, then ttl per counter. Returns settled spent per key.
_SETTLE = _PURGE + """
local now, rid, actual = ARGV[1], ARGV[2], ARGV[3]
local out = {}
for i = 1, #KEYS / 2 do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  purge(h, z, now)
  local held = redis.call('HGET', h, 'r:' .. rid)
  if held then
    if held ~= '0' then redis.call('HINCRBY', h, 'reserved', '-' .. held) end
    redis.call('HDEL', h, 'r:' .. rid)
    redis.call('ZREM', z, rid)
  end
  out[i] = redis.call('HINCRBY', h, 'spent', actual)
  if redis.call('TTL', h) == -1 then redis.call('EXPIRE', h, ARGV[3 + i]) end
end
return out
"""

# KEYS: hash, zset per counter. ARGV: now_ms. Returns spent, reserved for each key, flattened.
_USAGE = _PURGE + """
local out = {}
for i = 1, #KEYS / 2 do
  purge(KEYS[2 * i - 1], KEYS[2 * i], ARGV[1])
  local v = redis.call('HMGET', KEYS[2 * i - 1], 'spent', 'reserved')
  out[2 * i - 1] = tonumber(v[1] or '0')
  out[2 * i] = tonumber(v[2] or '0')
end
return out
"""

# KEYS[1]: hash. ARGV: amount, ttl. Returns the new settled spent.
_ADD = """
local total = redis.call('HINCRBY', KEYS[1], 'spent', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return total
"""

# KEYS[1]: zset. ARGV: at_ms, cutoff_ms, size, tolerance %, member, ttl, -(cap + 1).
# Returns how many entries after cutoff have a size within tolerance of this one (this one included).
_NOTE_PROMPT = """
local key = KEYS[1]
redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[2])
redis.call('ZADD', key, ARGV[1], ARGV[5])
redis.call('ZREMRANGEBYRANK', key, 0, ARGV[7])
local size, tolerance = tonumber(ARGV[3]), tonumber(ARGV[4])
local count = 0
for _, member in ipairs(redis.call('ZRANGEBYSCORE', key, '(' .. ARGV[2], '+inf')) do
  local other = tonumber(string.match(member, '^%-?%d+:(%d+):'))
  if other and math.abs(other - size) * 100 <= tolerance * size then count = count + 1 end
end
redis.call('EXPIRE', key, ARGV[6])
return count
"""


class RedisCounters:
    """`Counters` over one Redis (or one hash slot of a Cluster); thread-safe like the client.

    `fail_open` decides what `reserve` does when Redis cannot be reached (see `counters.failure`);
    `clock` returns aware datetimes and drives reservation deadlines."""

    def __init__(self, client: redis.Redis, prefix: str, *, fail_open: bool = False, clock: Clock | None = None,
                 hold_seconds: int = DEFAULT_HOLD_SECONDS, on_unavailable: UnavailableHook | None = None,
                 owns_client: bool = False):
        self.client = client
        self.prefix = prefix
        self.fail_open = fail_open
        self.hold_seconds = check_positive(hold_seconds, "hold_seconds")
        self._clock = clock or system_clock
        self._on_unavailable = on_unavailable
        self._owns_client = owns_client
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)
        self._usage = client.register_script(_USAGE)
        self._add = client.register_script(_ADD)
        self._note_prompt = client.register_script(_NOTE_PROMPT)

    def close(self) -> None:
        """Close the client if these counters created it (`connect`)."""
        if self._owns_client:
            self.client.close()

    # -- plumbing ------------------------------------------------------------------------------------------

    def _counter_keys(self, names: Sequence[str]) -> list[str]:
        keys = []
        for name in names:
            keys += [f"{self.prefix}c:{name}", f"{self.prefix}h:{name}"]
        return keys

    def _run(self, operation: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except STORE_ERRORS as exc:
            if self._on_unavailable is not None:
                self._on_unavailable(operation, exc)
            raise CountersUnavailable(f"{UNREACHABLE}: {operation} failed: {exc}", operation) from exc

    # -- reserve / settle ----------------------------------------------------------------------------------

    def reserve(self, keys: Sequence[tuple[str, int | None]], amount_micros: int, ttl_seconds: Sequence[int], *,
                hold_seconds: int | None = None) -> Reservation | Denied:
        check_reserve_args(keys, amount_micros, ttl_seconds)
        hold = check_positive(hold_seconds, "hold_seconds") if hold_seconds is not None else self.hold_seconds
        now = self._clock()
        now_ms = epoch_ms(now)
        rid = uuid.uuid4().hex
        names = tuple(name for name, _ in keys)
        args: list[Any] = [now_ms, now_ms + hold * 1000, rid, amount_micros]
        for (_, limit), ttl in zip(keys, ttl_seconds, strict=True):
            args += ["" if limit is None else limit, ttl]
        try:
            result = self._run("reserve", lambda: self._reserve(keys=self._counter_keys(names), args=args))
        except CountersUnavailable as exc:
            if self.fail_open:
                return Reservation(rid, names, amount_micros, tuple(ttl_seconds), now + timedelta(seconds=hold),
                                   unenforced=True, reason=str(exc))
            return Denied(None, None, None, amount_micros, reason=UNREACHABLE, unavailable=True)
        if int(result[0]) == 1:
            return Reservation(rid, names, amount_micros, tuple(ttl_seconds), now + timedelta(seconds=hold))
        index = int(result[1]) - 1
        return Denied(names[index], keys[index][1], int(result[2]), amount_micros)

    def settle(self, reservation: Reservation, actual_micros: int) -> list[int]:
        check_amount(actual_micros, "actual_micros")
        args = [epoch_ms(self._clock()), reservation.id, actual_micros, *reservation.ttl_seconds]
        result = self._run("settle", lambda: self._settle(keys=self._counter_keys(reservation.keys), args=args))
        return [int(v) for v in result]

    def release(self, reservation: Reservation) -> list[int]:
        return self.settle(reservation, 0)

    def usage(self, keys: Sequence[str]) -> list[Usage]:
        if not keys:
            return []
        now_ms = epoch_ms(self._clock())
        flat = self._run("usage", lambda: self._usage(keys=self._counter_keys(keys), args=[now_ms]))
        return [Usage(int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]

    def totals(self, keys: Sequence[str]) -> list[int]:
        return [u.spent for u in self.usage(keys)]

    def add(self, key: str, amount_micros: int, ttl_seconds: int) -> int:
        check_amount(amount_micros, "amount_micros")
        check_positive(ttl_seconds, "ttl_seconds")
        return int(self._run("add", lambda: self._add(keys=[f"{self.prefix}c:{key}"],
                                                       args=[amount_micros, ttl_seconds])))

    # -- breaker helpers -----------------------------------------------------------------------------------

    def _rate_key(self, person: str, bucket: int) -> str:
        return f"{self.prefix}rate:{person}:{bucket}"

    def add_rate(self, person: str, amount_micros: int, now: datetime, window_seconds: int) -> None:
        check_amount(amount_micros, "amount_micros")
        key = self._rate_key(person, rate_buckets(now, window_seconds)[-1])

        def write() -> None:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.incrby(key, amount_micros)
                pipe.expire(key, window_seconds + BUCKET_SECONDS)
                pipe.execute()

        self._run("add_rate", write)

    def rate(self, person: str, now: datetime, window_seconds: int) -> int:
        keys = [self._rate_key(person, bucket) for bucket in rate_buckets(now, window_seconds)]
        values = self._run("rate", lambda: self.client.mget(keys))
        return sum(int(v) for v in values if v is not None)

    def note_prompt(self, person: str, prompt_hash: str, size: int, now: datetime, window_seconds: int,
                    tolerance_percent: int) -> int:
        check_amount(size, "size")
        check_positive(window_seconds, "window_seconds")
        check_percent(tolerance_percent, "tolerance_percent")
        at_ms = epoch_ms(now)
        member = f"{at_ms}:{size}:{uuid.uuid4().hex}"
        args = [at_ms, at_ms - window_seconds * 1000, size, tolerance_percent, member, window_seconds,
                -(LOOP_MEMORY + 1)]
        key = f"{self.prefix}loop:{person}:{prompt_hash}"
        return int(self._run("note_prompt", lambda: self._note_prompt(keys=[key], args=args)))

    def get_state(self, key: str) -> bytes | None:
        value = self._run("get_state", lambda: self.client.get(f"{self.prefix}state:{key}"))
        if value is None:
            return None
        return value.encode() if isinstance(value, str) else bytes(value)

    def set_state(self, key: str, value: bytes, ttl_seconds: int) -> None:
        check_positive(ttl_seconds, "ttl_seconds")
        self._run("set_state", lambda: self.client.set(f"{self.prefix}state:{key}", value, ex=ttl_seconds))


def connect(url: str = DEFAULT_URL, prefix: str = "tokenpulse:", *, fail_open: bool = False,
            timeout_seconds: float = 0.25, clock: Clock | None = None, hold_seconds: int = DEFAULT_HOLD_SECONDS,
            on_unavailable: UnavailableHook | None = None) -> RedisCounters:
    """RedisCounters on a client made for the hot path: short socket timeouts and no retries
    (reserve and settle are not idempotent); `close()` closes the client."""
    client = redis.Redis.from_url(url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds,
                                  retry=Retry(NoBackoff(), 0))
    return RedisCounters(client, prefix, fail_open=fail_open, clock=clock, hold_seconds=hold_seconds,
                         on_unavailable=on_unavailable, owns_client=True)
