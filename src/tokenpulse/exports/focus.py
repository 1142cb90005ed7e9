"""FOCUS 1.2 CSV (the FinOps Open Cost and Usage Specification): one row per UTC day, person, tool,
provider, model, event source and confidence.

Columns: the spec's 21 mandatory columns and the conditional and recommended ones that apply to token
usage, in the spec's (alphabetical) order, then tokenpulse's own `x_` columns (token counts and who
and what the usage was). Costs are exact decimal USD strings: `ListCost` at list prices,
`EffectiveCost` = `ContractedCost` = `BilledCost` after the org discount (summed exactly, rounded once
per row, half to even, to the micro-USD). Events from client logs are estimates: `x_Confidence` says so,
and rows of different confidence are never merged.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import BinaryIO

from ..events import UsageEvent
from ..pricing import Discount
from ..store import Store
from .selection import Selection, usd

FOCUS_VERSION = "1.2"
MANDATORY_COLUMNS = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
    "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName",
)
"""FOCUS 1.2's mandatory columns (specification/columns/*.md, feature level "Mandatory")."""
OPTIONAL_COLUMNS = ("ChargeFrequency", "ConsumedQuantity", "ConsumedUnit", "ServiceSubcategory", "SkuId", "Tags")
CUSTOM_COLUMNS = (
    "x_Person", "x_Tool", "x_Provider", "x_Model", "x_Source", "x_Confidence", "x_Requests", "x_UnpricedRequests",
    "x_InputTokens", "x_OutputTokens", "x_CacheReadTokens", "x_CacheWriteTokens", "x_CacheWrite1hTokens",
    "x_ReasoningTokens", "x_ReportedCost", "x_DiscountRate",
)
COLUMNS = (*sorted((*MANDATORY_COLUMNS, *OPTIONAL_COLUMNS)), *CUSTOM_COLUMNS)

PROVIDER_NAMES = {"anthropic": "Anthropic", "openai": "OpenAI", "google": "Google", "xai": "xAI",
                  "mistral": "Mistral AI", "deepseek": "DeepSeek", "cursor": "Cursor", "github": "GitHub"}
SERVICE_NAMES = {"claude_code": "Claude Code", "codex": "Codex", "cursor": "Cursor", "copilot": "GitHub Copilot",
                 "gemini_cli": "Gemini CLI", "api": "API"}


def provider_name(provider: str | None) -> str:
    if not provider:
        return "Unknown"
    return PROVIDER_NAMES.get(provider.lower(), provider)


def service_name(tool: str) -> str:
    return SERVICE_NAMES.get(tool, tool)


Key = tuple[str, str, str, str, str, str]
"""person, tool, provider, model, source, confidence ('' for unknown)."""


@dataclass
class _Sums:
    requests: int = 0
    unpriced: int = 0
    list_micros: int = 0
    reported_micros: int | None = None
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_TOKEN_COLUMNS, 0))

    def add(self, e: UsageEvent) -> None:
        self.requests += 1
        if e.cost_micros is None:
            self.unpriced += 1
        else:
            self.list_micros += e.cost_micros
        if e.reported_cost_micros is not None:
            self.reported_micros = (self.reported_micros or 0) + e.reported_cost_micros
        for column, attribute in _TOKEN_COLUMNS.items():
            self.tokens[column] += getattr(e, attribute)


_TOKEN_COLUMNS = {"x_InputTokens": "input_tokens", "x_OutputTokens": "output_tokens",
                  "x_CacheReadTokens": "cache_read_tokens", "x_CacheWriteTokens": "cache_write_tokens",
                  "x_CacheWrite1hTokens": "cache_write_1h_tokens", "x_ReasoningTokens": "reasoning_tokens"}
_BILLED_TOKENS = ("x_InputTokens", "x_OutputTokens", "x_CacheReadTokens", "x_CacheWriteTokens")


def _stamp(day: date) -> str:
    return datetime.combine(day, time(0), tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _month_bounds(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1)


def _row(day: date, key: Key, sums: _Sums, discount: Discount) -> list[str]:
    person, tool, provider, model, source, confidence = key
    effective = usd(discount.effective(sums.list_micros, provider or None))
    tokens = sum(sums.tokens[c] for c in _BILLED_TOKENS)
    month_start, month_end = _month_bounds(day)
    vendor, service = provider_name(provider), service_name(tool)
    values = {
        "BilledCost": effective, "BillingAccountId": provider or "unknown", "BillingAccountName": vendor,
        "BillingCurrency": "USD", "BillingPeriodStart": _stamp(month_start), "BillingPeriodEnd": _stamp(month_end),
        "ChargeCategory": "Usage", "ChargeClass": "", "ChargeFrequency": "Usage-Based",
        "ChargeDescription": f"{model or 'unknown model'} tokens in {service}",
        "ChargePeriodStart": _stamp(day), "ChargePeriodEnd": _stamp(day + timedelta(days=1)),
        "ConsumedQuantity": str(tokens), "ConsumedUnit": "Tokens", "ContractedCost": effective,
        "EffectiveCost": effective, "InvoiceIssuerName": vendor, "ListCost": usd(sums.list_micros),
        "PricingQuantity": str(tokens), "PricingUnit": "Tokens", "ProviderName": vendor, "PublisherName": vendor,
        "ServiceCategory": "AI and Machine Learning", "ServiceName": service, "ServiceSubcategory": "Generative AI",
        "SkuId": f"{provider or 'unknown'}/{model or 'unknown'}",
        "Tags": json.dumps({"person": person, "tool": tool}, sort_keys=True, separators=(",", ":")),
        "x_Person": person, "x_Tool": tool, "x_Provider": provider, "x_Model": model, "x_Source": source,
        "x_Confidence": confidence, "x_Requests": str(sums.requests), "x_UnpricedRequests": str(sums.unpriced),
        **{c: str(n) for c, n in sums.tokens.items()},
        "x_ReportedCost": usd(sums.reported_micros),
        "x_DiscountRate": str(discount.rate(provider or None).normalize()),
    }
    return [values[c] for c in COLUMNS]


def _days(events: Iterator[UsageEvent]) -> Iterator[tuple[date, dict[Key, _Sums]]]:
    """Events in time order folded into one UTC day's groups at a time."""
    day: date | None = None
    groups: dict[Key, _Sums] = {}
    for e in events:
        event_day = e.ts.astimezone(UTC).date()
        if event_day != day:
            if day is not None:
                yield day, groups
            day, groups = event_day, {}
        key = (e.person or "", e.tool, e.provider or "", e.model or "", e.source, e.confidence)
        sums = groups.get(key)
        if sums is None:
            sums = groups[key] = _Sums()
        sums.add(e)
    if day is not None:
        yield day, groups


def write_focus(store: Store, out: BinaryIO, selection: Selection, discount: Discount) -> int:
    """The header, then the rows of each UTC day (sorted by key); returns the number of data rows. Like every
    total, it holds the events that count (`store.summaries.counted_table`): a day a vendor reported for a person's
    tool holds the vendor's figures only, and a local copy of a gateway request is left out."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    rows = 0
    for day, groups in _days(selection.usage(store, counted_only=True)):
        writer.writerows(_row(day, key, groups[key], discount) for key in sorted(groups))
        rows += len(groups)
        out.write(text.getvalue().encode("utf-8"))
        text.seek(0)
        text.truncate()
    out.write(text.getvalue().encode("utf-8"))
    return rows
