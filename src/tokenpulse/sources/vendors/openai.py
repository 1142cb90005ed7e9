"""OpenAI organization admin API: completions usage and costs (reference: trackers.md §3.2).

- `GET /v1/organization/usage/completions` → `{object: "page", data: [{object: "bucket", start_time,
  end_time, results: […]}], has_more, next_page}` (times in Unix seconds). Each result (grouped here by
  `user_id`, `api_key_id`, `project_id`, `model`) becomes one `UsageEvent` at the bucket's start.
  OpenAI's `input_tokens` include `input_cached_tokens`; ours do not, so input = input − cached and
  the cached part becomes cache reads. `num_model_requests`, the audio token counts and the grouped ids
  are kept in `extra` (the person is mapped from `user_id` later, through the alias table).
  Id: `openai:<bucket start>:<user_id>:<api_key_id>:<project_id>:<model>` (`-` for null), then
  `batch=…` / `service_tier=…` when grouped by those. The rank is the bucket's token and request count,
  so a bucket still filling is replaced by a later, fuller copy of itself.
- `GET /v1/organization/costs` (1d buckets, grouped by `project_id` and `line_item`):
  `amount.value` is in **dollars** (a JSON number, read as `Decimal`), to integer micro-USD.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from ...errors import InvalidEvent
from ...events import UsageEvent, as_utc, format_ts
from ...money import decimal_usd_to_micros
from .client import Params, VendorClient, VendorDataError, collect, parse_page
from .records import VendorCost, id_part

USAGE_PATH = "/v1/organization/usage/completions"
COST_PATH = "/v1/organization/costs"
TOOL = "openai_api"
PROVIDER = "openai"
GROUP_BY = ("user_id", "api_key_id", "project_id", "model")
COST_GROUP_BY = ("project_id", "line_item")
BUCKET_LIMITS = {"1d": 31, "1h": 168, "1m": 1440}
COST_LIMIT = 180

Count = Annotated[int, msgspec.Meta(ge=0)]


class _UsageResult(msgspec.Struct):
    input_tokens: Count = 0
    input_cached_tokens: Count = 0
    output_tokens: Count = 0
    input_audio_tokens: Count = 0
    output_audio_tokens: Count = 0
    num_model_requests: Count = 0
    user_id: str | None = None
    api_key_id: str | None = None
    project_id: str | None = None
    model: str | None = None
    batch: bool | None = None
    service_tier: str | None = None


class _UsageBucket(msgspec.Struct):
    start_time: int
    end_time: int
    results: list[_UsageResult] = []


class _UsagePage(msgspec.Struct):
    data: list[_UsageBucket]


class _Amount(msgspec.Struct):
    value: Decimal
    currency: str = "usd"


class _CostResult(msgspec.Struct):
    amount: _Amount
    line_item: str | None = None
    project_id: str | None = None


class _CostBucket(msgspec.Struct):
    start_time: int
    end_time: int
    results: list[_CostResult] = []


class _CostPage(msgspec.Struct):
    data: list[_CostBucket]



def _at(unix_s: int) -> datetime:
    return datetime.fromtimestamp(unix_s, UTC)


def usage_events(page: dict[str, Any]) -> list[UsageEvent]:
    """The `UsageEvent`s of one `usage/completions` page (pure; raises `VendorDataError` on a bad shape)."""
    parsed: _UsagePage = parse_page(page, _UsagePage)
    events: list[UsageEvent] = []
    for bucket in parsed.data:
        start = _at(bucket.start_time)
        for r in bucket.results:
            if r.input_cached_tokens > r.input_tokens:
                raise VendorDataError(f"`input_cached_tokens` ({r.input_cached_tokens}) exceeds `input_tokens` "
                                      f"({r.input_tokens}) in the bucket starting {format_ts(start)}")
            if r.input_tokens == 0 and r.output_tokens == 0 and r.num_model_requests == 0:
                continue
            parts = [format_ts(start), id_part(r.user_id), id_part(r.api_key_id), id_part(r.project_id),
                     id_part(r.model)]
            if r.batch is not None:
                parts.append(f"batch={str(r.batch).lower()}")
            if r.service_tier is not None:
                parts.append(f"service_tier={r.service_tier}")
            extra: dict[str, Any] = {"bucket_end": format_ts(_at(bucket.end_time)),
                                     "num_model_requests": r.num_model_requests, "user_id": r.user_id,
                                     "api_key_id": r.api_key_id, "project_id": r.project_id}
            if r.input_audio_tokens or r.output_audio_tokens:
                extra["input_audio_tokens"] = r.input_audio_tokens
                extra["output_audio_tokens"] = r.output_audio_tokens
            if r.batch is not None:
                extra["batch"] = r.batch
            events.append(UsageEvent(
                id="openai:" + ":".join(parts), ts=start, tool=TOOL, provider=PROVIDER, model=r.model,
                input_tokens=r.input_tokens - r.input_cached_tokens, output_tokens=r.output_tokens,
                cache_read_tokens=r.input_cached_tokens, service_tier=r.service_tier, source="vendor_api",
                confidence="metered", rank=r.input_tokens + r.output_tokens + r.num_model_requests,
                extra=extra,
            ))
    return events


def cost_records(page: dict[str, Any]) -> list[VendorCost]:
    """The `VendorCost`s of one `costs` page (pure; raises `VendorDataError` on a bad shape)."""
    parsed: _CostPage = parse_page(page, _CostPage)
    records: list[VendorCost] = []
    for bucket in parsed.data:
        start = _at(bucket.start_time)
        for r in bucket.results:
            if r.amount.currency.lower() != "usd":
                raise VendorDataError(f"`amount.currency` {r.amount.currency!r} is not usd")
            try:
                micros = decimal_usd_to_micros(r.amount.value)
            except InvalidEvent as exc:
                raise VendorDataError(f"`amount.value`: {exc}") from None
            day = start.date()
            records.append(VendorCost(
                id=f"openai-cost:{day.isoformat()}:{id_part(r.project_id)}:{id_part(r.line_item)}",
                vendor=PROVIDER, day=day, starting_at=start, ending_at=_at(bucket.end_time),
                amount_micros=micros, currency="USD", scope=r.project_id, item=r.line_item,
            ))
    return records


def _unix(ts: datetime) -> int:
    return int(as_utc(ts).timestamp())


def sync_openai(client: VendorClient, since: datetime, until: datetime, *, bucket_width: str = "1d"
                ) -> tuple[list[UsageEvent], list[VendorCost]]:
    """Usage events and cost records for [since, until), every page of both endpoints."""
    if bucket_width not in BUCKET_LIMITS:
        raise ValueError(f"bucket_width must be one of {', '.join(BUCKET_LIMITS)}, got {bucket_width!r}")
    window: Params = {"start_time": _unix(since), "end_time": _unix(until)}
    usage_params: Params = {**window, "bucket_width": bucket_width, "limit": BUCKET_LIMITS[bucket_width],
                            "group_by[]": GROUP_BY}
    cost_params: Params = {**window, "bucket_width": "1d", "limit": COST_LIMIT, "group_by[]": COST_GROUP_BY}
    events = collect(client, USAGE_PATH, usage_params, usage_events)
    costs = collect(client, COST_PATH, cost_params, cost_records)
    return events, costs
