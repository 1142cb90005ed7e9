"""5-hour blocks: the windows subscription limits are counted in.

A block starts at the UTC hour of the first request after the previous block ended and lasts five
hours, half-open ([start, start + 5h): a request exactly at the end opens the next block, as the
vendor's window resets then). A pause longer than five hours between two requests shows as a gap.
For the active block (its window is still open and the last request is under five hours old) we
give the burn rate and a projection to the end of the window.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import groupby

from ..money import micros_to_decimal_usd
from ..store import UsageRow
from . import ReportOptions, ReportRow, zone

BLOCK = timedelta(hours=5)
_RATE_QUANTUM = Decimal("0.01")


def build_blocks(usage: Iterable[UsageRow], options: ReportOptions) -> list[ReportRow]:
    tz = zone(options.tz)
    now = options.now or datetime.now(UTC)
    rows = sorted(usage, key=lambda r: r.key)  # type: ignore[arg-type, return-value]
    blocks: list[ReportRow] = []
    current: ReportRow | None = None
    start = last = first = None

    def close() -> None:
        if current is None or start is None or first is None or last is None:
            return
        _describe(current, start, first, last, now, tz)
        blocks.append(current)

    for hour, group in groupby(rows, key=lambda r: r.key):
        hour_rows = list(group)
        hour_start = hour if hour.tzinfo else hour.replace(tzinfo=UTC)  # type: ignore[union-attr]
        hour_first = min(r.first_ts for r in hour_rows if r.first_ts)
        hour_last = max(r.last_ts for r in hour_rows if r.last_ts)
        if current is None or start is None or hour_start >= start + BLOCK:
            close()
            if last is not None and hour_first - last > BLOCK:
                blocks.append(_gap(last + BLOCK, hour_first, tz))
            current = ReportRow(key="")
            start, first, last = hour_start, hour_first, hour_last
        for r in hour_rows:
            current.add(r, options.discount)
        first = min(first, hour_first)  # type: ignore[type-var]
        last = max(last, hour_last)  # type: ignore[type-var]
    close()
    return blocks


def _describe(row: ReportRow, start: datetime, first: datetime, last: datetime, now: datetime, tz) -> None:
    end = start + BLOCK
    active = now - last < BLOCK and now < end
    minutes = Decimal((last - first).total_seconds()) / 60
    totals = row.totals
    burn = None
    if minutes > 0:
        tokens_per_minute = Decimal(totals.total_tokens) / minutes
        micros_per_minute = Decimal(totals.cost_micros) / minutes
        burn = {
            "tokens_per_minute": tokens_per_minute.quantize(_RATE_QUANTUM),
            "cost_per_hour_usd": micros_to_decimal_usd(int(micros_per_minute * 60)),
        }
    projection = None
    if active:
        remaining = Decimal(max((end - now).total_seconds(), 0)) / 60
        extra_tokens = (Decimal(totals.total_tokens) / minutes * remaining) if minutes > 0 else Decimal(0)
        extra_micros = (Decimal(totals.cost_micros) / minutes * remaining) if minutes > 0 else Decimal(0)
        projection = {
            "remaining_minutes": int(remaining),
            "total_tokens": totals.total_tokens + int(extra_tokens),
            "cost_usd": micros_to_decimal_usd(totals.cost_micros + int(extra_micros)),
        }
    row.key = start.astimezone(tz).isoformat()
    row.info = {
        "start": start.astimezone(tz).isoformat(),
        "end": end.astimezone(tz).isoformat(),
        "first_activity": first.astimezone(tz).isoformat(),
        "last_activity": last.astimezone(tz).isoformat(),
        "active": active,
        "gap": False,
        "burn_rate": burn,
        "projection": projection,
    }


def _gap(start: datetime, end: datetime, tz) -> ReportRow:
    return ReportRow(key=start.astimezone(tz).isoformat(), info={
        "start": start.astimezone(tz).isoformat(), "end": end.astimezone(tz).isoformat(),
        "first_activity": None, "last_activity": None, "active": False, "gap": True,
        "burn_rate": None, "projection": None,
    })
