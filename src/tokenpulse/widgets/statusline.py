"""The Claude Code statusline: one compact line from Claude Code's stdin JSON and the snapshot.

Claude Code runs the statusline command after every assistant message (debounced 300 ms, cancelled
when the next update fires), so this renders in microseconds and imports only the standard library:
no store, no logs, no click/rich. It never raises: input that is empty, not JSON or not a JSON object
gives a short `tokenpulse: ...` line, and a field of the wrong type is left out of the line.

The line, segments joined by " · " (each left out when its data is absent):

    Sonnet 4 · session $0.06 · today $12.34 · month $180.20 (80% of $300 cap) · ctx 21%
      · 5h 23% resets in 1h20m · 7d 41% · ⛔ tripped (spend_rate): tokenpulse reenable ... · stale 2h

* model: `model.display_name`, else `model.id`.
* session: `cost.total_cost_usd` (Claude Code's client-side estimate for this session).
* today / month: the snapshot's list cost (the figure caps are measured on; effective when list is
  absent). `today` is left out when the snapshot's day is not today in the snapshot's time zone.
* month's parenthesis: the month cap used most (`used_share`, else spent / limit), else the
  expected usage summed over tools (`month_usd` / `expected_usd`). A day cap at 80 % or more gets
  its own segment (`day cap 85% of $50`).
* ctx: `context_window.used_percentage`, else `current_usage` (input + cache creation + cache read)
  over `context_window_size`, else `total_input_tokens` over `context_window_size`.
* 5h / 7d: `rate_limits.five_hour` / `seven_day` `used_percentage`; the 5-hour reset when
  `resets_at` (epoch seconds) is in the future.
* breaker: when `breaker.tripped` is true, with the snapshot's re-enable command.
* freshness: `stale 2h` when `generated_at` is more than 30 minutes old, `stale (age unknown)`
  when it cannot be read, and `no data yet: run tokenpulse import` without a snapshot.

Percentages are truncated (79.9 % shows as 79 %, so "100%" means reached). With `color`, a segment
at 80 % or more of its limit is yellow, at 100 % or more red; the breaker is red; freshness notes
are dim.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

STALE_AFTER_SECONDS = 30 * 60
SEPARATOR = " · "
NO_DATA = "no data yet: run tokenpulse import"
DEFAULT_REENABLE = "tokenpulse reenable"

RESET = "\x1b[0m"
YELLOW = "\x1b[33m"
RED = "\x1b[31m"
DIM = "\x1b[2m"

_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
_WARN_SHARE = Decimal("0.8")
_MAX_TEXT = 60


# ---------------------------------------------------------------------------------------------------------
# Small tolerant readers and formatters, shared with the menu-bar renderer.


def get(data: Any, *keys: str) -> Any:
    """data[k1][k2]..., or None as soon as a level is missing or not a JSON object."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def decimal(value: Any) -> Decimal | None:
    """A finite Decimal from a JSON number or a decimal string; None for anything else (bools too)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        text = repr(value)
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        return None
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def usd(amount: Decimal) -> str:
    """`$1,234.57` (half up to the cent), `-$0.50`."""
    cents = amount.quantize(_CENT, rounding=ROUND_HALF_UP) + 0  # + 0 turns -0.00 into 0.00
    return f"-${-cents:,.2f}" if cents < 0 else f"${cents:,.2f}"


def usd_limit(amount: Decimal) -> str:
    """A limit: `$300` when whole, else like `usd`."""
    if amount == amount.to_integral_value():
        whole = int(amount)
        return f"-${-whole:,}" if whole < 0 else f"${whole:,}"
    return usd(amount)


def percent(share: Decimal) -> int:
    """A share (0.8017) as a truncated whole percentage (80)."""
    return math.floor(share * _HUNDRED)


def clean(value: Any, limit: int = _MAX_TEXT) -> str | None:
    """A printable one-line string (control characters dropped, cut to `limit`), or None."""
    if not isinstance(value, str):
        return None
    text = "".join(ch for ch in value if ch.isprintable()).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (naive ones are taken as UTC), or None."""
    if not isinstance(value, str):
        return None
    try:
        return aware(datetime.fromisoformat(value.strip()))
    except ValueError:
        return None


def zone_of(snapshot: dict[str, Any]) -> Any:
    """The snapshot's time zone (a ZoneInfo), or None when absent or unknown."""
    name = snapshot.get("tz")
    if not isinstance(name, str) or not name:
        return None
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # unknown key, bad path characters, no tz database
        return None


def local_today(snapshot: dict[str, Any], now: datetime) -> str:
    tz = zone_of(snapshot)
    return (now.astimezone(tz) if tz is not None else now).date().isoformat()


def short_age(seconds: float) -> str:
    """45m, 2h, 3d (truncated)."""
    minutes = int(max(seconds, 0) // 60)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"


def short_duration(seconds: float) -> str:
    """45m, 1h20m, 2d3h (truncated)."""
    minutes = int(max(seconds, 0) // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h"


def cap_share(cap: dict[str, Any]) -> Decimal | None:
    """A cap's used share: `used_share`, else spent / limit; None when neither can be read."""
    share = decimal(cap.get("used_share"))
    if share is not None:
        return share
    spent, limit = decimal(cap.get("spent_usd")), decimal(cap.get("limit_usd"))
    if spent is None or limit is None or limit <= 0:
        return None
    return spent / limit


def caps_of(snapshot: dict[str, Any]) -> list[tuple[dict[str, Any], Decimal | None]]:
    caps = snapshot.get("caps")
    if not isinstance(caps, list):
        return []
    return [(cap, cap_share(cap)) for cap in caps if isinstance(cap, dict)]


def tripped(snapshot: dict[str, Any]) -> dict[str, Any] | None:
    breaker = snapshot.get("breaker")
    return breaker if isinstance(breaker, dict) and breaker.get("tripped") is True else None


def amount_of(period: Any) -> Decimal | None:
    """A period's list cost (what caps measure), else its effective cost."""
    value = decimal(get(period, "list_usd"))
    return value if value is not None else decimal(get(period, "effective_usd"))


def level(share: Decimal | None) -> int:
    """0 fine, 1 near (>= 80 %), 2 reached (>= 100 %)."""
    if share is None:
        return 0
    return 2 if share >= 1 else 1 if share >= _WARN_SHARE else 0


# ---------------------------------------------------------------------------------------------------------
# The statusline.


def render(stdin: bytes, snapshot: dict | None, now: datetime, *, color: bool = True) -> str:
    """One line for Claude Code's statusline (see the module docstring); never raises."""
    try:
        return _render(stdin, snapshot, now, color)
    except Exception as exc:  # a statusline must never break the terminal
        return f"tokenpulse: statusline error ({type(exc).__name__})"


def _decode(stdin: Any) -> dict[str, Any] | str:
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8", "surrogatepass")
    if not isinstance(stdin, bytes | bytearray | memoryview):
        return "tokenpulse: no statusline input"
    raw = bytes(stdin)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        return "tokenpulse: no statusline input"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return "tokenpulse: statusline input is not JSON"
    if not isinstance(data, dict):
        return "tokenpulse: statusline input is not a JSON object"
    return data


def _paint(text: str, code: str | None, color: bool) -> str:
    return f"{code}{text}{RESET}" if color and code else text


def _code(lvl: int) -> str | None:
    return RED if lvl >= 2 else YELLOW if lvl == 1 else None


def _render(stdin: Any, snapshot: Any, now: datetime, color: bool) -> str:
    data = _decode(stdin)
    if isinstance(data, str):
        return data
    now = aware(now)
    snap = snapshot if isinstance(snapshot, dict) else None
    parts: list[str] = []

    model = data.get("model")
    name = clean(model, 40) if isinstance(model, str) else (
        clean(get(model, "display_name"), 40) or clean(get(model, "id"), 40))
    if name:
        parts.append(name)

    session = number(get(data, "cost", "total_cost_usd"))
    if session is not None:
        parts.append(f"session {usd(session)}")

    if snap is not None:
        parts.extend(_spend(snap, now, color))

    context = _context(data.get("context_window"))
    if context is not None:
        parts.append(_paint(f"ctx {context}%", _code(level(Decimal(context) / _HUNDRED)), color))

    parts.extend(_limits(data.get("rate_limits"), now, color))

    if snap is not None:
        breaker = tripped(snap)
        if breaker is not None:
            cause = clean(breaker.get("cause"), 40)
            how = clean(breaker.get("reenable"), 80) or DEFAULT_REENABLE
            text = f"⛔ tripped ({cause}): {how}" if cause else f"⛔ tripped: {how}"
            parts.append(_paint(text, RED, color))
        freshness = _freshness(snap, now)
        if freshness:
            parts.append(_paint(freshness, DIM, color))
    else:
        parts.append(_paint(NO_DATA, DIM, color))
    return SEPARATOR.join(parts)


def _spend(snap: dict[str, Any], now: datetime, color: bool) -> list[str]:
    parts: list[str] = []
    today = snap.get("today")
    day = get(today, "date")
    amount = amount_of(today)
    if amount is not None and (not isinstance(day, str) or day == local_today(snap, now)):
        parts.append(f"today {usd(amount)}")

    caps = caps_of(snap)
    month_caps = [(cap, share) for cap, share in caps if cap.get("period") in ("month", None)]
    month_caps = [(cap, share) for cap, share in month_caps if share is not None]
    month = amount_of(snap.get("month"))
    note, lvl = None, 0
    if month_caps:
        cap, share = max(month_caps, key=lambda pair: pair[1] or 0)
        limit = decimal(cap.get("limit_usd"))
        lvl = level(share)
        note = f"{percent(share or 0)}% of {usd_limit(limit) + ' ' if limit is not None else ''}cap"
    else:
        expected = _expected(snap.get("expected"))
        if expected is not None:
            spent, target = expected
            note = f"{percent(spent / target)}% of {usd_limit(target)} expected"
    if month is not None or note is not None:
        text = "month" if month is None else f"month {usd(month)}"
        parts.append(_paint(f"{text} ({note})" if note else text, _code(lvl), color))

    for cap, share in caps:
        period = cap.get("period")
        if period in ("month", None) or share is None or level(share) == 0:
            continue
        limit = decimal(cap.get("limit_usd"))
        label = clean(period, 12) or "other"
        text = f"{label} cap {percent(share)}%" + (f" of {usd_limit(limit)}" if limit is not None else "")
        parts.append(_paint(text, _code(level(share)), color))
    return parts


def _expected(entries: Any) -> tuple[Decimal, Decimal] | None:
    """(month spend, expected) summed over the tools that have both; None when there are none."""
    if not isinstance(entries, list):
        return None
    spent = target = Decimal(0)
    found = False
    for entry in entries:
        expected, month = decimal(get(entry, "expected_usd")), decimal(get(entry, "month_usd"))
        if expected is None or month is None:
            continue
        spent, target, found = spent + month, target + expected, True
    return (spent, target) if found and target > 0 else None


def number(value: Any) -> Decimal | None:
    """A finite non-negative JSON number (not a string, not a bool), or None."""
    if isinstance(value, str):
        return None
    number = decimal(value)
    return number if number is not None and number >= 0 else None


def _context(window: Any) -> int | None:
    if not isinstance(window, dict):
        return None
    used = number(window.get("used_percentage"))
    if used is not None:
        return math.floor(used)
    size = number(window.get("context_window_size"))
    if size is None or size == 0:
        return None
    usage = window.get("current_usage")
    if isinstance(usage, dict):
        counts = [number(usage.get(key)) for key in
                  ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")]
        known = [count for count in counts if count is not None]
        if known:
            return math.floor(sum(known) * _HUNDRED / size)
    total = number(window.get("total_input_tokens"))
    return math.floor(total * _HUNDRED / size) if total is not None else None


def _limits(limits: Any, now: datetime, color: bool) -> list[str]:
    parts: list[str] = []
    for key, label in (("five_hour", "5h"), ("seven_day", "7d")):
        used = number(get(limits, key, "used_percentage"))
        if used is None:
            continue
        text = f"{label} {math.floor(used)}%"
        left = _seconds_until(get(limits, key, "resets_at"), now)
        if key == "five_hour" and left is not None and left >= 60:
            text += f" resets in {short_duration(left)}"
        parts.append(_paint(text, _code(level(used / _HUNDRED)), color))
    return parts


def _seconds_until(value: Any, now: datetime) -> float | None:
    """Seconds from now to `resets_at` (epoch seconds, or an ISO 8601 string), or None."""
    moment = parse_time(value)
    if moment is not None:
        return (moment - now).total_seconds()
    epoch = number(value)
    return float(epoch) - now.timestamp() if epoch is not None else None


def _freshness(snap: dict[str, Any], now: datetime) -> str | None:
    generated = parse_time(snap.get("generated_at"))
    if generated is None:
        return "stale (age unknown)"
    age = (now - generated).total_seconds()
    return f"stale {short_age(age)}" if age > STALE_AFTER_SECONDS else None
