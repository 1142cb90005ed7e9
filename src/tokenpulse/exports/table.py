"""One row per usage event, for CSV and Parquet: the columns, in their documented order.

Money is exact: `*_cost_micros` are integer micro-USD, `*_cost_usd` the same amounts as decimal USD.
`effective_cost` applies the org discount to the event's list cost (rounded once per event, half to
even; sums of many events can differ from a report's discounted total by those roundings).
`reported_cost` is what the vendor or tool itself reported, when it did.
"""

from __future__ import annotations

from typing import Any

from ..events import UsageEvent
from ..pricing import Discount

USAGE_COLUMNS = (
    "id", "ts", "person", "tool", "provider", "model", "project", "session", "request_id", "status",
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "reasoning_tokens", "web_search_requests", "duration_ms",
    "list_cost_micros", "effective_cost_micros", "reported_cost_micros",
    "priced_model", "price_version", "source", "confidence",
)
"""The fields of `usage_record`, in order (CSV writes the micro-USD columns as `*_cost_usd` decimals)."""

MONEY_COLUMNS = ("list_cost_micros", "effective_cost_micros", "reported_cost_micros")


def usage_record(event: UsageEvent, discount: Discount) -> dict[str, Any]:
    """The event's row; `ts` stays a datetime, money stays integer micro-USD (None: unknown)."""
    list_micros = event.cost_micros
    return {
        "id": event.id, "ts": event.ts, "person": event.person, "tool": event.tool, "provider": event.provider,
        "model": event.model, "project": event.project, "session": event.session,
        "request_id": event.request_id, "status": event.status,
        "input_tokens": event.input_tokens, "output_tokens": event.output_tokens,
        "cache_read_tokens": event.cache_read_tokens, "cache_write_tokens": event.cache_write_tokens,
        "cache_write_1h_tokens": event.cache_write_1h_tokens, "reasoning_tokens": event.reasoning_tokens,
        "web_search_requests": event.web_search_requests, "duration_ms": event.duration_ms,
        "list_cost_micros": list_micros,
        "effective_cost_micros": None if list_micros is None else discount.effective(list_micros, event.provider),
        "reported_cost_micros": event.reported_cost_micros,
        "priced_model": event.priced_model, "price_version": event.price_version,
        "source": event.source, "confidence": event.confidence,
    }


def csv_header() -> list[str]:
    return [c.replace("_micros", "_usd") if c in MONEY_COLUMNS else c for c in USAGE_COLUMNS]
