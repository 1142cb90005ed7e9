"""The one data model: `UsageEvent` and `OutcomeEvent`, and their canonical NDJSON form.

Every path into tokenpulse (local logs, OpenTelemetry, the gateway, vendor ledgers, imports)
produces these events. The canonical line format is `tokenpulse-events/1`:

    {"kind":"usage","id":"…","ts":"2026-11-03T14:22:05.123Z","tool":"claude_code",
     "model":"claude-sonnet-4-5","input_tokens":1200,…,"cost_usd":null,"source":"import",
     "confidence":"metered"}

Token conventions (the same for every provider, converted on the way in):

- `input_tokens` excludes cache reads and cache writes (Anthropic's convention; OpenAI-style
  inputs that include cached tokens are split by the source parser);
- `cache_write_tokens` counts every token written to the prompt cache, and
  `cache_write_1h_tokens` is the part of them written with the 1-hour TTL (a subset);
- `output_tokens` includes reasoning; `reasoning_tokens` is the subset that was reasoning.

Money is integer micro-USD inside the system. On the wire, `cost_usd` is a decimal number
(a vendor-reported cost; null means "compute it from the price book").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from .errors import DECODE_ERRORS, InvalidEvent, json_problem
from .money import decimal_usd_to_micros, micros_to_decimal_usd

SCHEMA = "tokenpulse-events/1"

Status = Literal["ok", "error", "rate_limited"]
Source = Literal["gateway", "otlp", "local_log", "vendor_api", "import", "git"]
Confidence = Literal["billed", "metered", "estimated"]
OutcomeType = Literal[
    "commit", "pull_request", "lines_added", "lines_removed", "edit_accepted", "edit_rejected", "active_ms"
]
"""`active_ms`: milliseconds someone actively used the tool (Claude Code's `active_time.total`)."""
Count = Annotated[int, msgspec.Meta(ge=0)]
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                "cache_write_1h_tokens", "reasoning_tokens")
"""Every token count an event carries (the last two are parts of cache writes and of output)."""
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class UsageEvent(msgspec.Struct, kw_only=True):
    """One model request: who, which tool and model, how many tokens of each kind, what it cost."""

    id: str
    """Dedup key: the same request always gets the same id, so re-ingesting never double-counts."""
    ts: datetime
    """When the request happened, timezone-aware UTC."""
    tool: str
    provider: str | None = None
    model: str | None = None
    person: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    web_search_requests: int = 0
    session: str | None = None
    project: str | None = None
    request_id: str | None = None
    status: str = "ok"
    duration_ms: int | None = None
    prompt_hash: str | None = None
    speed: str | None = None
    """`fast` when the vendor's premium fast mode served the request."""
    service_tier: str | None = None
    inference_geo: str | None = None
    reported_cost_micros: int | None = None
    """A cost the vendor or tool reported, kept beside the computed one (never replaces it)."""
    source: str = "import"
    confidence: str = "metered"
    rank: int = 0
    """When two copies of one id arrive, the higher rank wins (ties keep the copy already stored).
    Claude Code writes early copies of a response with placeholder output counts; their rank is lower."""
    extra: dict[str, Any] | None = None
    """Fields we do not know, kept as they came."""
    # Set once, at ingest, by `tokenpulse.pricing.PriceBook.price`:
    cost_micros: int | None = None
    """List cost from the price book in integer micro-USD; None means the model is unpriced."""
    priced_model: str | None = None
    price_version: str | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def total_input_tokens(self) -> int:
        """The whole prompt: uncached input plus cache reads and writes (what long-context tiers look at)."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


class OutcomeEvent(msgspec.Struct, kw_only=True):
    """Something the work produced: commits, pull requests, lines, accepted or rejected edits."""

    id: str
    ts: datetime
    type: str
    count: int = 1
    person: str | None = None
    tool: str | None = None
    session: str | None = None
    project: str | None = None
    source: str = "import"
    extra: dict[str, Any] | None = None


class PromptEvent(msgspec.Struct, kw_only=True):
    """A user prompt as a tool reported it: its length always, its text only when the client chose to
    send it. The text is private to the person who wrote it: nothing shows it to anyone else."""

    id: str
    ts: datetime
    tool: str
    person: str | None = None
    session: str | None = None
    prompt_id: str | None = None
    length: int | None = None
    text: str | None = None


# --- the wire form -------------------------------------------------------------------------------


class _UsageLine(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    kind: Literal["usage"]
    id: Id
    ts: datetime
    tool: Annotated[str, msgspec.Meta(min_length=1)]
    person: str | None = None
    provider: str | None = None
    model: str | None = None
    input_tokens: Count = 0
    output_tokens: Count = 0
    cache_read_tokens: Count = 0
    cache_write_tokens: Count = 0
    cache_write_1h_tokens: Count = 0
    reasoning_tokens: Count = 0
    web_search_requests: Count = 0
    session: str | None = None
    project: str | None = None
    request_id: str | None = None
    status: Status = "ok"
    duration_ms: Count | None = None
    prompt_hash: str | None = None
    speed: str | None = None
    service_tier: str | None = None
    inference_geo: str | None = None
    cost_usd: Decimal | None = None
    source: Source = "import"
    confidence: Confidence = "metered"


class _OutcomeLine(msgspec.Struct, kw_only=True):
    kind: Literal["outcome"]
    id: Id
    ts: datetime
    type: OutcomeType
    count: Count = 1
    person: str | None = None
    tool: str | None = None
    session: str | None = None
    project: str | None = None
    source: Source = "import"


_USAGE_FIELDS = frozenset(_UsageLine.__struct_fields__)
_OUTCOME_FIELDS = frozenset(_OutcomeLine.__struct_fields__)
# Fields written on export that are computed here; ignored (recomputed) when read back in.
_COMPUTED_FIELDS = frozenset({"list_cost_usd", "priced_model", "price_version"})


def as_utc(ts: datetime) -> datetime:
    """The same instant in UTC; a timestamp without a zone is taken to be UTC already (tools write `Z`)."""
    if ts.tzinfo is UTC:
        return ts
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _extra(obj: dict[str, Any], known: frozenset[str]) -> dict[str, Any] | None:
    extra = {k: v for k, v in obj.items() if k not in known and k not in _COMPUTED_FIELDS}
    return extra or None


# JSON numbers with a fraction become Decimal, exactly as written (a cost is never a float here).
_decode_json = msgspec.json.Decoder(float_hook=Decimal).decode
_AT_PATH = re.compile(r"- at `\$\.([^`]+)`$")
_MISSING = re.compile(r"missing required field `([^`]+)`")


def explain_validation(exc: msgspec.ValidationError) -> tuple[str | None, str]:
    """(field, message) for a msgspec validation error: "`usage.input_tokens`: expected `int` >= 0"."""
    message = str(exc)
    path = _AT_PATH.search(message)
    missing = _MISSING.search(message)
    if missing:
        field = f"{path.group(1)}.{missing.group(1)}" if path else missing.group(1)
        return field, f"`{field}` is required"
    text = _AT_PATH.sub("", message).strip()
    text = text[:1].lower() + text[1:]
    if path is None:
        return None, text
    return path.group(1), f"`{path.group(1)}`: {text}"


def decode_line(line: bytes | str) -> UsageEvent | OutcomeEvent:
    """Parse one canonical NDJSON line. Raises `InvalidEvent` naming the offending field."""
    try:
        obj = _decode_json(line)
    except DECODE_ERRORS as exc:
        raise InvalidEvent(f"not valid JSON: {json_problem(exc)}") from None
    if not isinstance(obj, dict):
        raise InvalidEvent(f"expected a JSON object, got {type(obj).__name__}")
    kind = obj.get("kind")
    try:
        if kind == "usage":
            u = msgspec.convert(obj, _UsageLine, strict=True)
        elif kind == "outcome":
            o = msgspec.convert(obj, _OutcomeLine, strict=True)
        else:
            raise InvalidEvent(f"`kind` must be \"usage\" or \"outcome\", got {kind!r}", field="kind")
    except msgspec.ValidationError as exc:
        field, message = explain_validation(exc)
        raise InvalidEvent(message, field=field) from None
    if kind == "outcome":
        return OutcomeEvent(
            id=o.id, ts=as_utc(o.ts), type=o.type, count=o.count, person=o.person, tool=o.tool,
            session=o.session, project=o.project, source=o.source, extra=_extra(obj, _OUTCOME_FIELDS),
        )
    if u.cache_write_1h_tokens > u.cache_write_tokens:
        raise InvalidEvent("cache_write_1h_tokens is part of cache_write_tokens and cannot exceed it",
                           field="cache_write_1h_tokens")
    if u.reasoning_tokens > u.output_tokens:
        raise InvalidEvent("reasoning_tokens is part of output_tokens and cannot exceed it",
                           field="reasoning_tokens")
    try:
        reported = None if u.cost_usd is None else decimal_usd_to_micros(u.cost_usd)
    except InvalidEvent as exc:
        raise InvalidEvent(f"`cost_usd`: {exc}", field="cost_usd") from None
    return UsageEvent(
        id=u.id, ts=as_utc(u.ts), tool=u.tool, provider=u.provider, model=u.model, person=u.person,
        input_tokens=u.input_tokens, output_tokens=u.output_tokens, cache_read_tokens=u.cache_read_tokens,
        cache_write_tokens=u.cache_write_tokens, cache_write_1h_tokens=u.cache_write_1h_tokens,
        reasoning_tokens=u.reasoning_tokens, web_search_requests=u.web_search_requests,
        session=u.session, project=u.project, request_id=u.request_id, status=u.status,
        duration_ms=u.duration_ms, prompt_hash=u.prompt_hash, speed=u.speed,
        service_tier=u.service_tier, inference_geo=u.inference_geo,
        reported_cost_micros=reported,
        source=u.source, confidence=u.confidence, extra=_extra(obj, _USAGE_FIELDS),
    )


def format_ts(ts: datetime) -> str:
    """UTC ISO-8601 with `Z`; milliseconds unless the value has finer precision."""
    ts = as_utc(ts)
    spec = "milliseconds" if ts.microsecond % 1000 == 0 else "microseconds"
    return ts.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def to_wire(event: UsageEvent | OutcomeEvent) -> dict[str, Any]:
    """The canonical JSON object for an event (unknown fields it came with are written back)."""
    if isinstance(event, OutcomeEvent):
        obj: dict[str, Any] = {
            "kind": "outcome", "id": event.id, "ts": format_ts(event.ts), "person": event.person,
            "tool": event.tool, "type": event.type, "count": event.count, "session": event.session,
            "project": event.project, "source": event.source,
        }
    else:
        obj = {
            "kind": "usage", "id": event.id, "ts": format_ts(event.ts), "person": event.person,
            "tool": event.tool, "provider": event.provider, "model": event.model,
            "input_tokens": event.input_tokens, "output_tokens": event.output_tokens,
            "cache_read_tokens": event.cache_read_tokens, "cache_write_tokens": event.cache_write_tokens,
            "cache_write_1h_tokens": event.cache_write_1h_tokens, "reasoning_tokens": event.reasoning_tokens,
            "web_search_requests": event.web_search_requests,
            "session": event.session, "project": event.project, "request_id": event.request_id,
            "status": event.status, "duration_ms": event.duration_ms, "prompt_hash": event.prompt_hash,
            "speed": event.speed, "service_tier": event.service_tier, "inference_geo": event.inference_geo,
            "cost_usd": _micros_or_none(event.reported_cost_micros),
            "source": event.source, "confidence": event.confidence,
            "list_cost_usd": _micros_or_none(event.cost_micros),
            "priced_model": event.priced_model, "price_version": event.price_version,
        }
    if event.extra:
        for key, value in event.extra.items():
            obj.setdefault(key, value)
    return obj


def _micros_or_none(micros: int | None) -> Decimal | None:
    return None if micros is None else micros_to_decimal_usd(micros)


_encoder = msgspec.json.Encoder(decimal_format="number")


def extra_json(extra: dict[str, Any] | None) -> str | None:
    """Unknown fields as stored: JSON text (decimal numbers stay numbers), None when there are none."""
    return _encoder.encode(extra).decode() if extra else None


def encode_line(event: UsageEvent | OutcomeEvent) -> bytes:
    """One canonical NDJSON line, newline included."""
    return _encoder.encode(to_wire(event)) + b"\n"


def write_ndjson(events: Iterable[UsageEvent | OutcomeEvent]) -> Iterator[bytes]:
    for event in events:
        yield encode_line(event)
