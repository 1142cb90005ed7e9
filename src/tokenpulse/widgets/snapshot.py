"""The snapshot: a small JSON file of one person's figures that imports refresh and widgets read.

A statusline renders on every keystroke of a busy terminal and a menu-bar plugin every few minutes; neither
may scan logs or open the store (tools that did spawned hundreds of processes and ate gigabytes). So each
import (`tokenpulse import`, any report, `push`) rewrites this file — today, this week, this month (list and
effective), the active 5-hour block, the caps and expected usage that apply, the breaker — and the widgets
read it and say how old it is.

    {"schema": "tokenpulse-snapshot/1", "generated_at": ..., "source": "local", "person": ..., "tz": ...,
     "today": {"date", "list_usd", "effective_usd", "by_tool"}, "week": {"start", ...},
     "month": {"month", ..., "by_source": {"gateway/metered": "12.50", "local_log/estimated": "3.10"}},
     "block": {"start", "end", "cost_usd", "burn_usd_per_hour", "projected_usd", "active"} | null,
     "caps": [{"scope", "period", "limit_usd", "spent_usd", "used_share"}],
     "expected": [{"tool", "expected_usd", "month_usd"}], "breaker": {...} | null, "dashboard_url": ...}
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..pricing import Discount

# The widgets import this module on every render: what it needs to read a snapshot is all it imports at the
# top; building one (at import time, in a command) imports the rest.

SCHEMA = "tokenpulse-snapshot/1"
FILE_NAME = "snapshot.json"
REFRESH_SECONDS = 600
"""An import that wrote nothing still refreshes a snapshot older than this (the day may have turned)."""


def path_in(home: Path) -> Path:
    return home / FILE_NAME


def _usd(micros: int) -> str:
    from ..money import micros_to_decimal_usd

    return str(micros_to_decimal_usd(micros))


def _period(store: Any, since: datetime, until: datetime, tz: str, discount: Discount,
            people: Sequence[str]) -> dict[str, Any]:
    from ..store import UsageQuery

    by_provider: dict[str | None, int] = {}
    by_tool: dict[str, int] = {}
    for row in store.usage_rows(UsageQuery(group="tool", tz=tz, since=since, until=until, people=tuple(people))):
        by_provider[row.provider] = by_provider.get(row.provider, 0) + row.cost_micros
        tool = str(row.key)
        by_tool[tool] = by_tool.get(tool, 0) + row.cost_micros
    total = sum(by_provider.values())
    return {"list_usd": _usd(total), "effective_usd": _usd(discount.effective_total(by_provider)),
            "list_micros": total, "by_tool": {t: _usd(m) for t, m in sorted(by_tool.items())},
            "by_tool_micros": by_tool}


def _provenance(store: Any, first: date, last: date, tz: str, people: Sequence[str]) -> dict[str, str]:
    """The month's list spend by where it came from and how sure it is, e.g. {"gateway/metered": "12.50",
    "local_log/estimated": "3.10"}: a vendor's bill, the gateway's meter and a laptop's log are not mixed
    silently."""
    from ..reports import local_bounds
    from ..store.web import Scope

    since, until = local_bounds(tz, first, last)
    rows = store.usage_grouped(["source", "confidence"], since=since, until=until, tz=tz,
                               scope=Scope(people=tuple(people)) if people else None)
    return {f"{r['source']}/{r['confidence']}": _usd(r["cost_micros"]) for r in sorted(
        rows, key=lambda r: (r["source"], r["confidence"]))}


def _block(store: Any, now: datetime, tz: str, people: Sequence[str]) -> dict[str, Any] | None:
    from ..reports import ReportOptions
    from ..reports.blocks import build_blocks
    from ..store import UsageQuery

    rows = store.usage_rows(UsageQuery(group="hour", tz=tz, since=now - timedelta(hours=10), until=None,
                                       people=tuple(people)))
    blocks = [b for b in build_blocks(rows, ReportOptions(kind="blocks", tz=tz, now=now)) if not b.info.get("gap")]
    if not blocks or not blocks[-1].info.get("active"):
        return None
    info = blocks[-1].info
    burn, projection = info.get("burn_rate") or {}, info.get("projection") or {}
    return {"start": info["start"], "end": info["end"], "cost_usd": _usd(blocks[-1].totals.cost_micros),
            "burn_usd_per_hour": str(burn["cost_per_hour_usd"]) if burn else None,
            "projected_usd": str(projection["cost_usd"]) if projection else None, "active": True}


def build(store: Any, *, now: datetime, tz: str, discount: Discount, policy: dict[str, Any],
          person: str | None = None, people: Sequence[str] = (), team: str | None = None,
          source: str = "local", dashboard_url: str | None = None,
          breaker: dict[str, Any] | None = None) -> dict[str, Any]:
    """The snapshot for `person` (`people`: the ids whose usage is theirs; empty: everything in the store, as
    on a laptop's own store). `policy`: the org's budgets and expected usage, as the dashboard's policies."""
    from ..gateway.settings import budget_rule
    from ..money import decimal_usd_to_micros, micros_to_decimal_usd
    from ..reports import local_bounds, zone

    today = now.astimezone(zone(tz)).date()
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)

    def span(first: date) -> dict[str, Any]:
        since, until = local_bounds(tz, first, today)
        return _period(store, since, until, tz, discount, people)  # type: ignore[arg-type]

    day, week, month = span(today), span(week_start), span(month_start)
    caps = []
    for number, rule in enumerate(policy.get("budgets") or [], start=1):
        parsed = budget_rule(rule, number)
        scope = parsed.scope_for(person or "", team, parsed.tool or "")
        if scope is None or not (scope.startswith("person:") or parsed.person):
            continue  # team and org caps are not one person's to watch
        figures = month if parsed.period == "month" else day
        spent = figures["by_tool_micros"].get(parsed.tool, 0) if parsed.tool else figures["list_micros"]
        caps.append({"scope": scope, "period": parsed.period, "limit_usd": _usd(parsed.limit_micros),
                     "spent_usd": _usd(spent),
                     "used_share": round(spent / parsed.limit_micros, 4) if parsed.limit_micros else None})
    expected = [{"tool": tool, "expected_usd": str(micros_to_decimal_usd(decimal_usd_to_micros(str(amount)))),
                 "month_usd": month["by_tool"].get(tool, "0")}
                for tool, amount in sorted((policy.get("expected_monthly_usd") or {}).items())]
    for figures in (day, week, month):
        figures.pop("list_micros")
        figures.pop("by_tool_micros")
    month["by_source"] = _provenance(store, month_start, today, tz, people)
    return {"schema": SCHEMA, "generated_at": now.astimezone(UTC).isoformat(), "source": source, "person": person,
            "tz": tz, "today": {"date": today.isoformat(), **day}, "week": {"start": week_start.isoformat(), **week},
            "month": {"month": f"{today:%Y-%m}", **month}, "block": _block(store, now, tz, people),
            "caps": caps, "expected": expected, "breaker": breaker, "dashboard_url": dashboard_url}


def write(path: Path, snapshot: dict[str, Any]) -> None:
    """Replace the file atomically: a widget reading it mid-write sees the old one or the new one."""
    import tempfile

    import msgspec

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".snapshot-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(msgspec.json.encode(snapshot))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read(path: Path) -> dict[str, Any] | None:
    """The snapshot, or None when there is none yet (or it cannot be read)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_stale(path: Path, now: datetime) -> bool:
    try:
        return now.timestamp() - path.stat().st_mtime > REFRESH_SECONDS
    except OSError:
        return True
