"""Usage reports: daily, weekly, monthly, per session, and 5-hour blocks.

`build_report()` turns the store's summaries into a `Report`: rows of token counts, list and
effective cost, cost per million tokens and any unpriced usage, plus totals. Rendering (table,
JSON, CSV) lives in the CLI; `Report.to_json()` is the one JSON shape, stable when empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError
from ..events import TOKEN_FIELDS
from ..money import micros_to_decimal_usd
from ..pricing import Discount
from ..store import Store, UsageQuery, UsageRow

ReportKind = Literal["daily", "weekly", "monthly", "session", "blocks"]
REPORT_KINDS: tuple[ReportKind, ...] = ("daily", "weekly", "monthly", "session", "blocks")
_GROUP = {"daily": "day", "weekly": "week", "monthly": "month", "session": "session", "blocks": "hour"}
_MTOK_QUANTUM = Decimal("0.000001")
_SUMMED = ("requests", *TOKEN_FIELDS, "cost_micros")


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {tz!r} (use an IANA name such as Europe/Berlin or UTC)") from None


@dataclass
class Unpriced:
    model: str
    requests: int = 0
    tokens: int = 0


@dataclass
class Totals:
    """Usage summed over some set of requests. Costs in integer micro-USD."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0
    reasoning_tokens: int = 0
    cost_micros: int = 0
    list_by_provider: dict[str | None, int] = field(default_factory=dict)
    discount: Discount = field(default_factory=Discount)
    unpriced: dict[str, Unpriced] = field(default_factory=dict)
    priced_requests: int = 0
    priced_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens

    @property
    def effective_micros(self) -> int:
        """List cost less the discount, from the exact per-provider sums (rounded once)."""
        return self.discount.effective_total(self.list_by_provider)

    @property
    def costed(self) -> bool:
        """Whether any request in here has a price (if none has, the cost is unknown, not zero)."""
        return self.priced_requests > 0 or self.requests == 0

    @property
    def complete(self) -> bool:
        """Whether every request in here was priced."""
        return not self.unpriced

    @property
    def cost_per_mtok(self) -> Decimal | None:
        """List USD per million priced tokens, exact (micro-USD per token is USD per million tokens)."""
        if not self.priced_tokens:
            return None
        return Decimal(self.cost_micros) / self.priced_tokens

    def add_row(self, row: UsageRow, discount: Discount) -> None:
        tokens = row.input_tokens + row.output_tokens + row.cache_write_tokens + row.cache_read_tokens
        self.discount = discount
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(row, name))
        self.list_by_provider[row.provider] = self.list_by_provider.get(row.provider, 0) + row.cost_micros
        if row.unpriced_requests:
            # Unpriced usage is listed with its tokens, never counted as $0. (A model is priced for all
            # of a row's requests or for none, except briefly while a new price book is applied.)
            name = row.model or "(no model)"
            entry = self.unpriced.setdefault(name, Unpriced(name))
            entry.requests += row.unpriced_requests
            entry.tokens += tokens
        else:
            self.priced_tokens += tokens
        self.priced_requests += row.requests - row.unpriced_requests

    def merge(self, other: Totals) -> None:
        for name in (*_SUMMED, "priced_requests", "priced_tokens"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.discount = other.discount
        for provider, micros in other.list_by_provider.items():
            self.list_by_provider[provider] = self.list_by_provider.get(provider, 0) + micros
        for name, u in other.unpriced.items():
            mine = self.unpriced.setdefault(name, Unpriced(name))
            mine.requests += u.requests
            mine.tokens += u.tokens

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cache_write_1h_tokens": self.cache_write_1h_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": micros_to_decimal_usd(self.cost_micros) if self.costed else None,
            "effective_cost_usd": micros_to_decimal_usd(self.effective_micros) if self.costed else None,
            "cost_per_mtok_usd": None if self.cost_per_mtok is None else self.cost_per_mtok.quantize(_MTOK_QUANTUM),
            "cost_complete": self.complete,
            "unpriced": [{"model": u.model, "requests": u.requests, "tokens": u.tokens}
                         for u in sorted(self.unpriced.values(), key=lambda u: u.model)],
        }


@dataclass
class ReportRow:
    key: str
    """The period (`2026-02-10`, `2026-02-09` for the week starting then, `2026-02`), session id or block start."""
    totals: Totals = field(default_factory=Totals)
    models: dict[str, Totals] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    """Kind-specific details: a session's project and activity times; a block's window and burn rate."""

    def add(self, row: UsageRow, discount: Discount) -> None:
        self.totals.add_row(row, discount)
        self.models.setdefault(row.model or "(no model)", Totals()).add_row(row, discount)

    def to_json(self, breakdown: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, **self.info, "models": sorted(self.models),
                               **self.totals.to_json()}
        if breakdown:
            out["breakdown"] = [{"model": name, **t.to_json()} for name, t in sorted(self.models.items())]
        return out


@dataclass
class ReportOptions:
    kind: ReportKind
    tz: str = "UTC"
    since: date | None = None
    until: date | None = None
    tools: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    """Only these people's usage (person ids); empty means everyone's."""
    breakdown: bool = False
    week_start: int = 0
    order: Literal["asc", "desc"] = "asc"
    discount: Discount = field(default_factory=Discount)
    now: datetime | None = None
    """The current time (injected in tests); defaults to the clock."""


@dataclass
class Report:
    options: ReportOptions
    rows: list[ReportRow]
    totals: Totals
    meta: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        o = self.options
        return {
            "report": o.kind,
            "schema": "tokenpulse-report/1",
            "rows": [r.to_json(o.breakdown) for r in self.rows],
            "totals": self.totals.to_json(),
            "meta": {
                "timezone": o.tz,
                "since": o.since.isoformat() if o.since else None,
                "until": o.until.isoformat() if o.until else None,
                "tools": list(o.tools),
                "projects": list(o.projects),
                "people": list(o.people),
                "currency": "USD",
                "discount": o.discount.describe(),
                **self.meta,
            },
        }


def local_bounds(tz: str, since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """Inclusive local dates -> [start, end) instants."""
    z = zone(tz)
    start = datetime.combine(since, time(0), tzinfo=z) if since else None
    end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=z) if until else None
    if start and end and end <= start:
        raise ConfigError(f"--until {until} is before --since {since}")
    return start, end


def _key_text(key: date | datetime | str | None, kind: ReportKind) -> str:
    if key is None:
        return "(none)"
    if isinstance(key, date) and not isinstance(key, datetime):
        return key.strftime("%Y-%m") if kind == "monthly" else key.isoformat()
    return str(key)


def usage_query(options: ReportOptions) -> UsageQuery:
    """What to ask the store for a report: local date bounds become instants, the kind a grouping."""
    zone(options.tz)  # validate early, with a clear message
    since, until = local_bounds(options.tz, options.since, options.until)
    return UsageQuery(group=_GROUP[options.kind], tz=options.tz, week_start=options.week_start,
                      since=since, until=until, tools=options.tools, projects=options.projects,
                      people=options.people)


def report_from_rows(usage: list[UsageRow], options: ReportOptions, meta: dict[str, Any] | None = None) -> Report:
    """The report, from the store's answer to `usage_query(options)`."""
    if options.kind == "blocks":
        from .blocks import build_blocks

        rows = build_blocks(usage, options)
    else:
        rows = _fold(usage, options)
    if options.order == "desc":
        rows.reverse()
    totals = Totals(discount=options.discount)
    for row in rows:
        totals.merge(row.totals)
    return Report(options=options, rows=rows, totals=totals, meta=dict(meta or {}))


def build_report(store: Store, options: ReportOptions, meta: dict[str, Any] | None = None) -> Report:
    return report_from_rows(store.usage_rows(usage_query(options)), options, meta)


def _fold(usage: Iterable[UsageRow], options: ReportOptions) -> list[ReportRow]:
    by_key: dict[str, ReportRow] = {}
    z = zone(options.tz)
    for u in usage:
        text = _key_text(u.key, options.kind)
        row = by_key.get(text)
        if row is None:
            row = by_key[text] = ReportRow(key=text)
            if options.kind == "session":
                row.info = {"project": u.project, "tools": [], "first_activity": None, "last_activity": None}
        row.add(u, options.discount)
        if options.kind == "session":
            info = row.info
            info["project"] = info["project"] or u.project
            info["tools"] = sorted({*info["tools"], *u.tools})
            if u.first_ts and (info["first_activity"] is None or u.first_ts < info["first_activity"]):
                info["first_activity"] = u.first_ts
            if u.last_ts and (info["last_activity"] is None or u.last_ts > info["last_activity"]):
                info["last_activity"] = u.last_ts
    rows = list(by_key.values())
    if options.kind == "session":
        rows.sort(key=lambda r: (r.info["last_activity"] or datetime.min.replace(tzinfo=UTC), r.key))
        for row in rows:
            for name in ("first_activity", "last_activity"):
                if row.info[name] is not None:
                    row.info[name] = row.info[name].astimezone(z).isoformat()
    return rows
