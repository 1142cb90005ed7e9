"""Anthropic Admin API: the messages usage report and the cost report (reference: trackers.md §3.1).

- `GET /v1/organizations/usage_report/messages` → `{data: [{starting_at, ending_at, results: […]}],
  has_more, next_page}`; each result (grouped here by `api_key_id`, `workspace_id`, `model`) becomes one
  `UsageEvent` at the bucket's start: `uncached_input_tokens` → input, `cache_read_input_tokens` → cache
  reads, `cache_creation.ephemeral_5m_input_tokens + ephemeral_1h_input_tokens` → cache writes (the 1h
  part also in `cache_write_1h_tokens`), `output_tokens`, `server_tool_use.web_search_requests`.
  Id: `anthropic:<bucket start>:<api_key_id>:<workspace_id>:<model>` (`-` for null), followed by any
  other grouped dimension the result carries. Empty buckets and all-zero results give no event.
  The rank is the bucket's token and search count: a bucket still filling (data lags ~5 min) is
  replaced by a later, fuller copy of itself, never added to.
- `GET /v1/organizations/cost_report` (1d buckets, grouped by `workspace_id` and `description`):
  `amount` is a decimal string in **cents**; it becomes integer micro-USD exactly (× 10,000, with
  `Decimal`; a fraction of a micro-USD rounds half to even).

Keep the bucket width of one connector fixed: a 1h bucket and the 1d bucket holding it are different
ids for overlapping usage.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from ...events import UsageEvent, as_utc, format_ts
from .client import Params, VendorClient, VendorDataError, collect, parse_page
from .records import VendorCost, cents_to_micros, id_part

USAGE_PATH = "/v1/organizations/usage_report/messages"
COST_PATH = "/v1/organizations/cost_report"
TOOL = "anthropic_api"
PROVIDER = "anthropic"
GROUP_BY = ("api_key_id", "workspace_id", "model")
COST_GROUP_BY = ("workspace_id", "description")
BUCKET_LIMITS = {"1d": 31, "1h": 168, "1m": 1440}
"""The most buckets a page may hold, per bucket width (fewer requests)."""

Tokens = Annotated[int, msgspec.Meta(ge=0)]


class _CacheCreation(msgspec.Struct):
    ephemeral_5m_input_tokens: Tokens = 0
    ephemeral_1h_input_tokens: Tokens = 0


class _ServerToolUse(msgspec.Struct):
    web_search_requests: Tokens = 0


class _UsageResult(msgspec.Struct):
    uncached_input_tokens: Tokens = 0
    cache_read_input_tokens: Tokens = 0
    cache_creation: _CacheCreation | None = None
    output_tokens: Tokens = 0
    server_tool_use: _ServerToolUse | None = None
    api_key_id: str | None = None
    workspace_id: str | None = None
    model: str | None = None
    account_id: str | None = None
    service_account_id: str | None = None
    service_tier: str | None = None
    context_window: str | None = None
    inference_geo: str | None = None
    speed: str | None = None


class _UsageBucket(msgspec.Struct):
    starting_at: datetime
    ending_at: datetime
    results: list[_UsageResult] = []


class _UsagePage(msgspec.Struct):
    data: list[_UsageBucket]


class _CostResult(msgspec.Struct):
    amount: Decimal
    currency: str = "USD"
    cost_type: str | None = None
    description: str | None = None
    model: str | None = None
    token_type: str | None = None
    service_tier: str | None = None
    context_window: str | None = None
    inference_geo: str | None = None
    workspace_id: str | None = None


class _CostBucket(msgspec.Struct):
    starting_at: datetime
    ending_at: datetime
    results: list[_CostResult] = []


class _CostPage(msgspec.Struct):
    data: list[_CostBucket]


# Dimensions beyond key/workspace/model that split a bucket when grouped by; part of the id when present.
_EXTRA_DIMENSIONS = ("account_id", "service_account_id", "service_tier", "context_window", "inference_geo",
                     "speed")



def usage_events(page: dict[str, Any]) -> list[UsageEvent]:
    """The `UsageEvent`s of one `usage_report/messages` page (pure; raises `VendorDataError` on a bad shape)."""
    parsed: _UsagePage = parse_page(page, _UsagePage)
    events: list[UsageEvent] = []
    for bucket in parsed.data:
        start = as_utc(bucket.starting_at)
        for r in bucket.results:
            cache = r.cache_creation or _CacheCreation()
            write_1h = cache.ephemeral_1h_input_tokens
            cache_write = cache.ephemeral_5m_input_tokens + write_1h
            searches = r.server_tool_use.web_search_requests if r.server_tool_use else 0
            total = r.uncached_input_tokens + r.cache_read_input_tokens + cache_write + r.output_tokens
            if total == 0 and searches == 0:
                continue
            parts = [format_ts(start), id_part(r.api_key_id), id_part(r.workspace_id), id_part(r.model)]
            parts += [f"{name}={getattr(r, name)}" for name in _EXTRA_DIMENSIONS if getattr(r, name) is not None]
            extra = {"bucket_end": format_ts(bucket.ending_at), "api_key_id": r.api_key_id,
                     "workspace_id": r.workspace_id}
            if r.account_id is not None:
                extra["account_id"] = r.account_id
            if r.service_account_id is not None:
                extra["service_account_id"] = r.service_account_id
            if r.context_window is not None:
                extra["context_window"] = r.context_window
            events.append(UsageEvent(
                id="anthropic:" + ":".join(parts), ts=start, tool=TOOL, provider=PROVIDER, model=r.model,
                input_tokens=r.uncached_input_tokens, output_tokens=r.output_tokens,
                cache_read_tokens=r.cache_read_input_tokens, cache_write_tokens=cache_write,
                cache_write_1h_tokens=write_1h, web_search_requests=searches, speed=r.speed,
                service_tier=r.service_tier, inference_geo=r.inference_geo, source="vendor_api",
                confidence="metered", rank=total + searches, extra=extra,
            ))
    return events




def cost_records(page: dict[str, Any]) -> list[VendorCost]:
    """The `VendorCost`s of one `cost_report` page (pure; raises `VendorDataError` on a bad shape)."""
    parsed: _CostPage = parse_page(page, _CostPage)
    records: list[VendorCost] = []
    for bucket in parsed.data:
        start = as_utc(bucket.starting_at)
        for r in bucket.results:
            if r.currency.upper() != "USD":
                raise VendorDataError(f"`currency` {r.currency!r} is not USD")
            dims = (r.workspace_id, r.description, r.cost_type, r.model, r.token_type, r.service_tier,
                    r.context_window, r.inference_geo)
            records.append(VendorCost(
                id=f"anthropic-cost:{start.date().isoformat()}:" + ":".join(id_part(d) for d in dims),
                vendor=PROVIDER, day=start.date(), starting_at=start, ending_at=as_utc(bucket.ending_at),
                amount_micros=cents_to_micros(r.amount), currency="USD", scope=r.workspace_id,
                item=r.description, cost_type=r.cost_type, model=r.model, token_type=r.token_type,
                service_tier=r.service_tier, context_window=r.context_window, inference_geo=r.inference_geo,
            ))
    return records


def _rfc3339(ts: datetime) -> str:
    return as_utc(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def sync_anthropic(client: VendorClient, since: datetime, until: datetime, *, bucket_width: str = "1d"
                   ) -> tuple[list[UsageEvent], list[VendorCost]]:
    """Usage events and cost records for [since, until), every page of both reports."""
    if bucket_width not in BUCKET_LIMITS:
        raise ValueError(f"bucket_width must be one of {', '.join(BUCKET_LIMITS)}, got {bucket_width!r}")
    window: Params = {"starting_at": _rfc3339(since), "ending_at": _rfc3339(until)}
    usage_params: Params = {**window, "bucket_width": bucket_width, "limit": BUCKET_LIMITS[bucket_width],
                            "group_by[]": GROUP_BY}
    cost_params: Params = {**window, "bucket_width": "1d", "group_by[]": COST_GROUP_BY}
    events = collect(client, USAGE_PATH, usage_params, usage_events)
    costs = collect(client, COST_PATH, cost_params, cost_records)
    return events, costs
