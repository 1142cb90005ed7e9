"""Depth metrics: not how many tokens, but what kind.

Raw token counts reward volume. These figures describe the work instead, per person, team, tool or
model: the cost of a million tokens (deep work on large contexts with a strong model costs more per
token, busywork on tiny prompts less), the mean context a request carries (input and cache), how much of
that context is re-read from the cache (long, continuing sessions), and the output share. "Whose
individual tokens cost the most" is the ranking by cost per million tokens, among those with enough
requests for it to mean something.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..money import micros_to_decimal_usd
from ..store import UsageRow

MIN_REQUESTS = 20
"""Fewer requests than this: the figures are shown but not ranked (too few to describe anyone's work)."""


@dataclass
class Depth:
    key: str | None
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_micros: int = 0
    unpriced_requests: int = 0

    @property
    def context_tokens(self) -> int:
        """What the requests sent: input, cache reads and cache writes."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def tokens(self) -> int:
        return self.context_tokens + self.output_tokens

    @property
    def cost_per_mtok_micros(self) -> int | None:
        """List cost per million tokens, in micro-USD (integer, rounded half up)."""
        return (self.cost_micros * 1_000_000 * 2 + self.tokens) // (2 * self.tokens) if self.tokens else None

    @property
    def cost_per_request_micros(self) -> int | None:
        return (self.cost_micros * 2 + self.requests) // (2 * self.requests) if self.requests else None

    @property
    def mean_context(self) -> int | None:
        return round(self.context_tokens / self.requests) if self.requests else None

    @property
    def cache_read_share(self) -> float | None:
        return self.cache_read_tokens / self.context_tokens if self.context_tokens else None

    @property
    def output_share(self) -> float | None:
        return self.output_tokens / self.tokens if self.tokens else None

    def add(self, row: UsageRow) -> None:
        self.requests += row.requests
        self.input_tokens += row.input_tokens
        self.output_tokens += row.output_tokens
        self.cache_read_tokens += row.cache_read_tokens
        self.cache_write_tokens += row.cache_write_tokens
        self.cost_micros += row.cost_micros
        self.unpriced_requests += row.unpriced_requests

    def to_json(self) -> dict[str, Any]:
        def usd(micros: int | None) -> Any:
            return None if micros is None else micros_to_decimal_usd(micros)

        def ratio(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {"key": self.key, "requests": self.requests, "tokens": self.tokens,
                "context_tokens": self.context_tokens, "output_tokens": self.output_tokens,
                "cost_usd": usd(self.cost_micros), "cost_per_mtok_usd": usd(self.cost_per_mtok_micros),
                "cost_per_request_usd": usd(self.cost_per_request_micros), "mean_context_tokens": self.mean_context,
                "cache_read_share": ratio(self.cache_read_share), "output_share": ratio(self.output_share),
                "unpriced_requests": self.unpriced_requests, "ranked": self.requests >= MIN_REQUESTS}


def depth(rows: Iterable[UsageRow], key: Callable[[UsageRow], str | None]) -> list[Depth]:
    """Rows summed per `key`, most costly tokens first (those with too few requests to rank last)."""
    groups: dict[str | None, Depth] = {}
    for row in rows:
        name = key(row)
        group = groups.get(name)
        if group is None:
            group = groups[name] = Depth(name)
        group.add(row)
    return sorted(groups.values(), key=lambda d: (d.requests < MIN_REQUESTS, -(d.cost_per_mtok_micros or 0),
                                                  str(d.key)))


BY = ("person", "team", "tool", "model")


def depth_from_store(store: Any, by: str, *, since: Any = None, until: Any = None, tz: str = "UTC",
                     tools: tuple[str, ...] = (), people: tuple[str, ...] = ()) -> list[Depth]:
    """Depth per person, team (through the people directory), tool or model, over [since, until)."""
    from ..store import UsageQuery

    if by not in BY:
        raise ValueError(f"depth is by one of {', '.join(BY)}, not {by!r}")
    group = "tool" if by in ("tool", "model") else "person"
    rows = store.usage_rows(UsageQuery(group=group, tz=tz, since=since, until=until, tools=tools, people=people))
    if by == "team":
        teams = {p.person: p.team for p in store.people()}
        return depth(rows, lambda r: teams.get(str(r.key)) if r.key is not None else None)
    if by == "model":
        return depth(rows, lambda r: r.model)
    return depth(rows, lambda r: None if r.key is None else str(r.key))


OVER = ("day", "week")


@dataclass
class DepthSeries:
    """Depth per local day or week for the org, or for one person, team, tool or model."""

    over: str
    by: str | None
    key: str | None
    points: list[tuple[Any, Depth]]
    """(the day or the week's first day, its depth), oldest first; periods without usage are absent."""

    def to_json(self) -> dict[str, Any]:
        return {"over": self.over, "by": self.by, "key": self.key,
                "points": [{"period": period.isoformat(), **_plain(d.to_json())} for period, d in self.points]}


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Money as decimal USD strings, so the series is JSON for any encoder (the dashboard's too); the
    point's period replaces the depth's key."""
    return {k: str(v) if hasattr(v, "quantize") else v for k, v in data.items() if k != "key"}


def depth_over_time(store: Any, over: str, *, by: str | None = None, key: str | None = None, since: Any = None,
                    until: Any = None, tz: str = "UTC", week_start: int = 0,
                    tools: tuple[str, ...] = ()) -> DepthSeries:
    """Depth per local day or week over [since, until), for the org (no `by`) or for `key` of the grouping
    `by` (a person, a team of the people directory, a tool or a model). One grouped query over the hourly
    summaries; the model is picked from its rows, which are per model already."""
    from ..store import UsageQuery

    if over not in OVER:
        raise ValueError(f"depth is over one of {', '.join(OVER)}, not {over!r}")
    if by is not None and by not in BY:
        raise ValueError(f"depth is by one of {', '.join(BY)}, not {by!r}")
    if (by is None) != (key is None):
        raise ValueError("depth over time needs both a grouping and its key, or neither (the whole org)")
    people: tuple[str, ...] = ()
    if by == "person":
        people = (str(key),)
    elif by == "team":
        people = tuple(sorted(p.person for p in store.people() if p.team == key))
        if not people:
            return DepthSeries(over, by, key, [])
    if by == "tool":
        tools = tuple(t for t in (tools or (str(key),)) if t == key)
        if not tools:
            return DepthSeries(over, by, key, [])
    rows = store.usage_rows(UsageQuery(group=over, tz=tz, week_start=week_start, since=since, until=until,
                                       tools=tools, people=people))
    if by == "model":
        rows = [r for r in rows if r.model == key]
    per_period = {d.key: d for d in depth(rows, lambda r: r.key)}  # type: ignore[arg-type,return-value]
    return DepthSeries(over, by, key, sorted(per_period.items(), key=lambda item: item[0]))
