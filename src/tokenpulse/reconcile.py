"""Reconciliation: per person, tool and UTC day, what a vendor reported, what the gateway metered and what
local logs estimated, side by side with the differences, and which figure the totals count.

The three sides of a cell:

- `vendor`: a vendor's admin API (`tokenpulse sync`): `billed` where the vendor bills per request (Cursor,
  Copilot's AI credits) — the cost is the bill — else the vendor's own `metered` token count, priced;
- `gateway`: requests metered by the gateway from the upstream's answers;
- `local`: local logs, OpenTelemetry and imports — the client's own estimate.

Totals count the vendor's figure where a vendor's sync covers the cell (the vendor's ledger is what finance
reconciles against); elsewhere they count the gateway's events and the local ones the gateway did not also meter (a
local copy of a gateway request, matched by request id, is the same request seen twice). The other figures
are kept, labelled, and shown here. Days are UTC days, as the vendors report them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from .money import micros_to_decimal_usd

SIDES = ("vendor", "gateway", "local")
Only = Literal["all", "multiple", "differing"]
ONLY: tuple[Only, ...] = ("all", "multiple", "differing")
"""Which cells a reconciliation lists: every one, those more than one source reports, those whose sources
differ."""
DIFFERENCES = (("gateway", "vendor"), ("local", "vendor"), ("local", "gateway"))


@dataclass
class Side:
    """One side of a cell: its requests, tokens and cost (micro-USD)."""

    name: str
    requests: int = 0
    tokens: int = 0
    cost_micros: int = 0
    unpriced: int = 0
    billed: int = 0
    duplicates: int = 0
    """Local requests the gateway also metered (the same request twice: totals count the gateway's copy)."""
    duplicate_micros: int = 0

    @property
    def confidence(self) -> str:
        if self.name == "vendor":
            return "billed" if self.billed == self.requests else "metered" if not self.billed else "mixed"
        return "metered" if self.name == "gateway" else "estimated"

    def add(self, other: Side) -> None:
        for name in ("requests", "tokens", "cost_micros", "unpriced", "billed", "duplicates", "duplicate_micros"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_json(self) -> dict[str, Any]:
        out = {"confidence": self.confidence, "requests": self.requests, "tokens": self.tokens,
               "cost_usd": micros_to_decimal_usd(self.cost_micros), "unpriced_requests": self.unpriced}
        if self.name == "local":
            out["gateway_duplicates"] = self.duplicates
            out["gateway_duplicates_usd"] = micros_to_decimal_usd(self.duplicate_micros)
        return out


@dataclass
class Cell:
    person: str | None
    tool: str
    day: date
    sides: dict[str, Side] = field(default_factory=dict)
    covered: bool = False
    """A vendor reported this cell through `tokenpulse sync` (`vendor_days`): its figures alone count."""

    @property
    def counted(self) -> list[str]:
        """The sides the totals count: the vendor's alone where it covers the cell."""
        if self.covered:
            return ["vendor"] if "vendor" in self.sides else []
        return [s for s in SIDES if s in self.sides]

    @property
    def counted_micros(self) -> int:
        """What totals count: the vendor's figure, else the gateway's and the local requests it did not meter."""
        local = self.sides.get("local")
        duplicates = local.duplicate_micros if local is not None and not self.covered else 0
        return sum(self.sides[s].cost_micros for s in self.counted) - duplicates

    def differences(self) -> dict[str, int]:
        """`<a>_minus_<b>` in micro-USD for each pair of sides the cell has."""
        return {f"{a}_minus_{b}": self.sides[a].cost_micros - self.sides[b].cost_micros
                for a, b in DIFFERENCES if a in self.sides and b in self.sides}

    def to_json(self) -> dict[str, Any]:
        return {"person": self.person, "tool": self.tool, "day": self.day.isoformat(),
                **{s: self.sides[s].to_json() if s in self.sides else None for s in SIDES},
                "counted": self.counted, "counted_usd": micros_to_decimal_usd(self.counted_micros),
                "differences_usd": {k: micros_to_decimal_usd(v) for k, v in self.differences().items()}}


@dataclass
class Reconciliation:
    since: date
    until: date
    """The last UTC day included."""
    only: str
    cells: list[Cell]
    """The cells listed (`only`: every cell, those with more than one side, or those whose sides differ), or
    the page of them asked for."""
    totals: dict[str, Side]
    """Every cell's sides summed, listed or not."""
    counted_micros: int
    """What the totals count over the period: vendor figures where there are some, else gateway and local."""
    by_tool: dict[str, dict[str, Side]]
    counted_by_tool: dict[str, int]
    cell_count: int | None
    """How many cells there are (None when not counted)."""
    listed_count: int
    """How many cells `only` lists (the page is some of them)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(), "until": self.until.isoformat(), "days": "UTC", "only": self.only,
            "totals": {s: self.totals[s].to_json() for s in SIDES},
            "counted_usd": micros_to_decimal_usd(self.counted_micros),
            "tools": [{"tool": tool, **{s: sides[s].to_json() if s in sides else None for s in SIDES},
                       "counted_usd": micros_to_decimal_usd(self.counted_by_tool[tool])}
                      for tool, sides in sorted(self.by_tool.items())],
            "cells_total": self.cell_count, "cells_listed": self.listed_count,
            "cells": [c.to_json() for c in self.cells],
        }


def reconcile(store: Any, since: date, until: date, *, scope: Any = None, tools: tuple[str, ...] = (),
              only: Only = "multiple", limit: int | None = None, offset: int = 0, count_cells: bool = True
              ) -> Reconciliation:
    """The reconciliation of the UTC days [since, until] (both included), within a viewer's `scope`; the cells
    listed from the `offset`-th, at most `limit` of them (None: all); `count_cells`: also count every cell
    (a pass over the period's events). Summed in SQL (`store.reconciliation`)."""
    from datetime import timedelta

    if only not in ONLY:
        raise ValueError(f"only must be all, multiple or differing, got {only!r}")
    totals_rows, page_rows, cell_count, listed_count = store.reconciliation(
        since, until + timedelta(days=1), scope=scope, tools=tools, only=only, limit=limit, offset=offset,
        count_cells=count_cells)
    totals = {s: Side(s) for s in SIDES}
    by_tool: dict[str, dict[str, Side]] = {}
    counted_by_tool: dict[str, int] = {}
    for tool, name, *figures, counted in totals_rows:
        side = _side(name, figures)
        totals[name].add(side)
        by_tool.setdefault(tool, {})[name] = side
        counted_by_tool[tool] = counted_by_tool.get(tool, 0) + int(counted)
    cells: dict[tuple[Any, str, date], Cell] = {}
    for person, tool, day, name, *figures, covered in page_rows:
        cell = cells.setdefault((person, tool, day), Cell(person, tool, day, covered=bool(covered)))
        cell.sides[name] = _side(name, figures)
    return Reconciliation(since, until, only, list(cells.values()), totals, sum(counted_by_tool.values()), by_tool,
                          counted_by_tool, cell_count, listed_count)


def _side(name: str, figures: list[Any]) -> Side:
    requests, tokens, cost, unpriced, billed, duplicates, duplicate_cost = (int(f) for f in figures)
    return Side(name, requests, tokens, cost, unpriced, billed, duplicates, duplicate_cost)
