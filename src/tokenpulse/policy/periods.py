"""Budget periods (a calendar day, a calendar month) in an organisation's explicit IANA timezone.

Why a module of its own: every counter key, alert and breaker reset is keyed by a period id
(`2026-12`, `2026-12-04`), and "which period is it now" must give the same answer in every
gateway replica, whatever the machine's local timezone. So the timezone is always a parameter
(never the process's TZ), `now` is always a parameter (never `datetime.now()`), and the
boundaries come from zoneinfo, which gets DST right: a spring-forward day lasts 23 hours, a
fall-back day 25.

A period starts at the first instant whose local date belongs to it. That is local midnight
on almost every day; where a DST change skips midnight (America/Santiago starts DST at 24:00),
the day starts when the local clock jumps (01:00), and the previous day ends there too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError

PeriodKind = Literal["day", "month"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("day", "month")


def zone(tz: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; a ConfigError naming it when it is unknown."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown timezone {tz!r} (expected an IANA name such as 'Europe/Paris')") from None


def require_aware(now: datetime, name: str = "now") -> None:
    """Naive datetimes are ambiguous (whose midnight?), so every entry point refuses them."""
    if not isinstance(now, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(now).__name__}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {now.isoformat()}")


def _check_kind(kind: str) -> None:
    if kind not in PERIOD_KINDS:
        raise ValueError(f"period kind must be 'day' or 'month', got {kind!r}")


def _local_date(now: datetime, tz: str) -> date:
    require_aware(now)
    return now.astimezone(zone(tz)).date()


def _first_date(kind: PeriodKind, d: date) -> date:
    return d if kind == "day" else d.replace(day=1)


def _next_first_date(kind: PeriodKind, d: date) -> date:
    if kind == "day":
        return d + timedelta(days=1)
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


def _start_of(d: date, tz: str) -> datetime:
    """The first instant (UTC) whose local date in `tz` is `d` or later.

    Local midnight normally. When a DST change moves midnight, 00:00 has two readings (fold 0
    and 1); the earliest instant that really shows date `d` or later wins. (When a zone skipped
    a whole date, as Pacific/Apia did on 2011-12-30, that is the start of the next date.)"""
    z = zone(tz)
    readings = (datetime(d.year, d.month, d.day, tzinfo=z, fold=fold).astimezone(UTC) for fold in (0, 1))
    return min(instant for instant in readings if instant.astimezone(z).date() >= d)


def period_id(kind: PeriodKind, now: datetime, tz: str) -> str:
    """`2026-12` (month) or `2026-12-04` (day): the period `now` falls in, as seen in `tz`."""
    _check_kind(kind)
    d = _local_date(now, tz)
    return f"{d.year:04d}-{d.month:02d}" if kind == "month" else d.isoformat()


def period_start(kind: PeriodKind, now: datetime, tz: str) -> datetime:
    """The first instant (aware, UTC) of the period containing `now`."""
    _check_kind(kind)
    return _start_of(_first_date(kind, _local_date(now, tz)), tz)


def period_end(kind: PeriodKind, now: datetime, tz: str) -> datetime:
    """The first instant (aware, UTC) after the period containing `now` (exclusive end)."""
    _check_kind(kind)
    return _start_of(_next_first_date(kind, _local_date(now, tz)), tz)


def seconds_until_end(kind: PeriodKind, now: datetime, tz: str) -> int:
    """Whole seconds from `now` to the end of its period, rounded up and at least 1.

    This is the TTL for a counter key of the period: it never expires before the period ends."""
    delta = period_end(kind, now, tz) - now
    seconds = delta.days * 86_400 + delta.seconds + (1 if delta.microseconds else 0)
    return max(seconds, 1)
