"""OpenTelemetry records from AI coding tools, as usage and outcome events.

Pure functions over the records `otlp.decode` yields (formats in the project's formats reference,
§4). What maps to what:

- Claude Code: `claude_code.api_request` -> a usage event (id: session + request id, else the event
  sequence); `api_error` -> an error (or rate-limited) usage event with no tokens; `user_prompt` -> a
  prompt record (its length; its text only when the client sent it); metrics `commit.count`,
  `pull_request.count`, `lines_of_code.count`, `code_edit_tool.decision`, `active_time.total` ->
  outcome events. Its token and cost metrics repeat the `api_request` events and are not counted.
- Codex: `codex.sse_event` with `event.kind = response.completed` (input includes cached tokens).
- Gemini CLI: `gemini_cli.api_response` (input includes cached content; thoughts are billed as output);
  metric `gemini_cli.lines.changed` -> line outcomes.
- Any client following the GenAI semantic conventions: spans and events with `gen_ai.usage.*` (not agent
  or tool spans, which sum their children, and not the GenAI spans or events of the tools above, whose own
  events count: Gemini CLI sends `gen_ai.client.inference.operation.details` beside each `api_response`).

The person is a raw identity — `user.email`, else `account:<user.account_uuid or user.account_id>`,
else `user:<user.id>` — that the collector maps through the alias table. Resource attributes set with
`OTEL_RESOURCE_ATTRIBUTES` (team, department, …) are kept on the event. Records of any other kind are
counted by name and ignored, never errors.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import InvalidEvent
from ..events import OutcomeEvent, PromptEvent, UsageEvent
from ..money import decimal_usd_to_micros
from . import otlp_view
from .otlp import LogRecord, MetricPoint, Rejected, Span

# Resource attributes that describe the process, not the organisation.
_PROCESS_PREFIXES = ("service.", "telemetry.", "os.", "host.", "process.", "wsl.", "terminal.")


@dataclass
class SeriesPoint:
    """A point of a cumulative counter: the collector turns it into an increment with the series' state."""

    series: str
    start_ns: int
    time_ns: int
    value: int
    outcome: OutcomeEvent
    """The outcome to record, its `count` to be set to the increment."""


@dataclass
class OtelResult:
    usage: list[UsageEvent] = field(default_factory=list)
    outcomes: list[OutcomeEvent] = field(default_factory=list)
    cumulative: list[SeriesPoint] = field(default_factory=list)
    prompts: list[PromptEvent] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    """Records of kinds that carry no usage, by name."""
    rejected: list[str] = field(default_factory=list)
    """Records of a known kind that could not be read, with why."""


# --- small readers --------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    """Token counts arrive as int, string or double depending on the exporter."""
    if type(value) is int and value >= 0:  # the common case, first
        return value
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, str) and not value.lstrip("-").isdigit() else value
        result = int(number)
    except (TypeError, ValueError):
        raise ValueError(f"not a number: {value!r}") from None
    if result < 0:
        raise ValueError(f"negative count: {value!r}")
    return result


def _count(attrs: dict[str, Any], key: str) -> int:
    return _int(attrs.get(key)) or 0


def _ts(attrs: dict[str, Any], time_ns: int, observed_ns: int = 0) -> datetime:
    text = attrs.get("event.timestamp")
    if isinstance(text, str) and text:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    nanos = time_ns or observed_ns
    if not nanos:
        raise ValueError("no timestamp (neither event.timestamp nor timeUnixNano)")
    return datetime.fromtimestamp(nanos // 1_000_000_000, UTC).replace(microsecond=(nanos // 1000) % 1_000_000)


def identity(attrs: dict[str, Any]) -> str | None:
    """The raw identity of whoever used the tool (mapped to a person through the alias table)."""
    if email := attrs.get("user.email"):
        return str(email).strip().lower()
    for key in ("user.account_uuid", "user.account_id"):
        if value := attrs.get(key):
            return f"account:{value}"
    if value := attrs.get("user.id"):
        return f"user:{value}"
    return None


_org_cache: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def _org_attributes(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource's organisation attributes (every record of one resource shares its dict: computed once)."""
    cached = _org_cache.get(id(resource))
    if cached is not None and cached[0] is resource:
        return cached[1]
    kept = {k: v for k, v in resource.items() if not k.startswith(_PROCESS_PREFIXES)}
    if len(_org_cache) > 256:
        _org_cache.clear()
    _org_cache[id(resource)] = (resource, kept)
    return kept


def _extra(resource: dict[str, Any], **fields: Any) -> dict[str, Any] | None:
    kept = _org_attributes(resource)
    extra = {"resource": dict(kept)} if kept else {}
    for k, v in fields.items():
        if v is not None and v != "":
            extra[k] = v
    return extra or None


def _event_name(record: LogRecord) -> str:
    """`claude_code.api_request` whether the tool put it in the record's `event_name` field, in the body,
    or (short) in the `event.name` attribute."""
    short = str(record.attributes.get("event.name") or "")
    body = record.body if isinstance(record.body, str) else ""
    for candidate in (record.event_name, body):
        if "." in candidate and (not short or candidate.endswith(short)):
            return candidate
    name = record.event_name or short
    if name and "." not in name:
        service = str(record.resource.get("service.name", ""))
        if service.startswith("claude-code") or record.scope.startswith("com.anthropic.claude_code"):
            return f"claude_code.{name}"
    return name or body or "(unnamed)"


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


# --- logs ---------------------------------------------------------------------------------------------


def from_logs(records: list[LogRecord]) -> OtelResult:
    result = OtelResult()
    for record in records:
        if isinstance(record, Rejected):
            result.rejected.append(record.message)
            continue
        name = _event_name(record)
        handler = _LOG_HANDLERS.get(name)
        attrs = _attributes(record)
        if handler is None and _is_genai_call(attrs) and not name.endswith(".turn") \
                and not str(record.resource.get("service.name", "")).startswith(_EVENT_TOOLS):
            handler = _genai_log
        if handler is None:
            result.ignored[name] += 1
            continue
        try:
            handler(record, attrs, result)
        except (ValueError, InvalidEvent) as exc:
            result.rejected.append(f"{name}: {exc}")
    return result


def _attributes(record: LogRecord) -> Mapping[str, Any]:
    """The record's attributes over its resource's (the record's win)."""
    if isinstance(record.attributes, otlp_view.Attributes):
        return record.attributes.over(record.resource)  # protobuf: read in place, decoded when read
    return {**record.resource, **record.attributes}


def _claude_request(record: LogRecord, attrs: dict[str, Any], result: OtelResult) -> None:
    session = attrs.get("session.id")
    request_id = attrs.get("request_id")
    sequence = attrs.get("event.sequence")
    if not request_id and sequence is None:
        raise ValueError("neither request_id nor event.sequence: cannot tell a resent copy from a new request")
    micros = _int(attrs.get("cost_usd_micros"))
    if micros is None and attrs.get("cost_usd") is not None:
        micros = decimal_usd_to_micros(str(attrs["cost_usd"]))
    result.usage.append(UsageEvent(
        id=f"claude_code:otel:{session}:{request_id or f'seq{sequence}'}",
        ts=_ts(attrs, record.time_ns, record.observed_ns),
        tool="claude_code",
        provider="anthropic",
        model=attrs.get("model"),
        person=identity(attrs),
        input_tokens=_count(attrs, "input_tokens"),
        output_tokens=_count(attrs, "output_tokens"),
        cache_read_tokens=_count(attrs, "cache_read_tokens"),
        cache_write_tokens=_count(attrs, "cache_creation_tokens"),
        session=session,
        request_id=request_id,
        duration_ms=_int(attrs.get("duration_ms")),
        speed="fast" if attrs.get("speed") == "fast" else None,
        reported_cost_micros=micros,
        source="otlp",
        confidence="metered",
        extra=_extra(record.resource, prompt_id=attrs.get("prompt.id"), query_source=attrs.get("query_source")),
    ))


def _claude_error(record: LogRecord, attrs: dict[str, Any], result: OtelResult) -> None:
    session = attrs.get("session.id")
    request_id = attrs.get("request_id")
    status_code = _int(attrs.get("status_code"))
    key = request_id or f"seq{attrs.get('event.sequence')}"
    result.usage.append(UsageEvent(
        id=f"claude_code:otel:{session}:error:{key}:{attrs.get('attempt', '')}",
        ts=_ts(attrs, record.time_ns, record.observed_ns),
        tool="claude_code",
        provider="anthropic",
        model=attrs.get("model"),
        person=identity(attrs),
        session=session,
        request_id=request_id,
        status="rate_limited" if status_code == 429 else "error",
        duration_ms=_int(attrs.get("duration_ms")),
        source="otlp",
        confidence="metered",
        extra=_extra(record.resource, error=attrs.get("error"), status_code=status_code),
    ))


def _prompt(tool: str, id_key: str) -> Any:
    def handle(record: LogRecord, attrs: dict[str, Any], result: OtelResult) -> None:
        session = attrs.get("session.id") or attrs.get("conversation.id")
        prompt_id = attrs.get(id_key)
        ts = _ts(attrs, record.time_ns, record.observed_ns)
        text = attrs.get("prompt")
        if text == "[REDACTED]" or not isinstance(text, str) or not text:
            text = None
        result.prompts.append(PromptEvent(
            id=f"{tool}:{session}:{prompt_id or ts.isoformat()}", ts=ts, tool=tool, person=identity(attrs),
            session=session, prompt_id=prompt_id, length=_int(attrs.get("prompt_length")), text=text))
    return handle


def _codex_sse(record: LogRecord, attrs: dict[str, Any], result: OtelResult) -> None:
    if attrs.get("event.kind") != "response.completed":
        result.ignored["codex.sse_event"] += 1
        return
    input_total = _count(attrs, "input_token_count")
    cached = min(_count(attrs, "cached_token_count"), input_total)
    output = _count(attrs, "output_token_count")
    ts = _ts(attrs, record.time_ns, record.observed_ns)
    session = attrs.get("conversation.id")
    result.usage.append(UsageEvent(
        id=f"codex:otel:{session}:{_digest(ts.isoformat(), input_total, cached, output)}",
        ts=ts, tool="codex", provider="openai", model=attrs.get("model"), person=identity(attrs),
        input_tokens=input_total - cached, output_tokens=output, cache_read_tokens=cached,
        reasoning_tokens=min(_count(attrs, "reasoning_token_count"), output), session=session,
        duration_ms=_int(attrs.get("duration_ms")), source="otlp", confidence="metered",
        extra=_extra(record.resource),
    ))


def _gemini_response(record: LogRecord, attrs: dict[str, Any], result: OtelResult) -> None:
    prompt = _count(attrs, "input_token_count")
    cached = min(_count(attrs, "cached_content_token_count"), prompt)
    thoughts = _count(attrs, "thoughts_token_count")
    output = _count(attrs, "output_token_count") + thoughts  # thinking is billed as output
    ts = _ts(attrs, record.time_ns, record.observed_ns)
    session = attrs.get("session.id")
    result.usage.append(UsageEvent(
        id=f"gemini_cli:otel:{session}:{_digest(attrs.get('prompt_id'), ts.isoformat(), prompt, output)}",
        ts=ts, tool="gemini_cli", provider="google", model=attrs.get("model"), person=identity(attrs),
        input_tokens=prompt - cached + _count(attrs, "tool_token_count"), output_tokens=output,
        cache_read_tokens=cached, reasoning_tokens=thoughts, session=session,
        status="ok" if _int(attrs.get("status_code")) in (None, 200) else "error",
        duration_ms=_int(attrs.get("duration_ms")), source="otlp", confidence="metered",
        extra=_extra(record.resource, prompt_id=attrs.get("prompt_id")),
    ))


def _genai_log(record: LogRecord, attrs: dict[str, Any], result: OtelResult) -> None:
    """Any other event with GenAI usage, e.g. `gen_ai.client.inference.operation.details`."""
    ts = _ts(attrs, record.time_ns, record.observed_ns)
    fallback = _digest(_event_name(record), ts.isoformat(), sorted(record.attributes.items(), key=lambda kv: kv[0]))
    result.usage.append(_genai_usage(attrs, record.resource, ts, _int(attrs.get("duration_ms")), fallback))


_LOG_HANDLERS = {
    "claude_code.api_request": _claude_request,
    "claude_code.api_error": _claude_error,
    "claude_code.user_prompt": _prompt("claude_code", "prompt.id"),
    "codex.sse_event": _codex_sse,
    "codex.user_prompt": _prompt("codex", "prompt.id"),
    "gemini_cli.api_response": _gemini_response,
    "gemini_cli.user_prompt": _prompt("gemini_cli", "prompt_id"),
}


# --- metrics ------------------------------------------------------------------------------------------

# metric name -> (tool, outcome type, or a function of the point's attributes giving the type)
_OUTCOME_METRICS: dict[str, tuple[str, Any]] = {
    "claude_code.commit.count": ("claude_code", "commit"),
    "claude_code.pull_request.count": ("claude_code", "pull_request"),
    "claude_code.lines_of_code.count": ("claude_code", lambda a: {"added": "lines_added",
                                                                  "removed": "lines_removed"}.get(a.get("type"))),
    "claude_code.code_edit_tool.decision": ("claude_code", lambda a: {"accept": "edit_accepted",
                                                                      "reject": "edit_rejected"}.get(a.get("decision"))),
    "claude_code.active_time.total": ("claude_code", "active_ms"),
    "gemini_cli.lines.changed": ("gemini_cli", lambda a: {"added": "lines_added",
                                                          "removed": "lines_removed"}.get(a.get("type"))),
}
# Known metrics that repeat what the events above already count.
_COUNTED_BY_EVENTS = {"claude_code.token.usage", "claude_code.cost.usage", "codex.turn.token_usage",
                      "gemini_cli.token.usage", "gen_ai.client.token.usage"}


def from_metrics(points: list[MetricPoint]) -> OtelResult:
    """Outcome events from counters: delta points directly; cumulative points as `SeriesPoint`s, which
    the collector turns into increments with each series' previous value."""
    result = OtelResult()
    for point in points:
        if isinstance(point, Rejected):
            result.rejected.append(point.message)
            continue
        known = _OUTCOME_METRICS.get(point.name)
        if known is None:
            result.ignored[point.name] += 1
            continue
        if point.kind != "sum":
            result.rejected.append(f"{point.name}: expected a sum (counter), got {point.kind}")
            continue
        tool, kind = known
        outcome_type = kind(point.attributes) if callable(kind) else kind
        if outcome_type is None:
            result.ignored[point.name] += 1
            continue
        attrs = {**point.resource, **point.attributes}
        value = point.value or 0
        amount = round(value * 1000) if outcome_type == "active_ms" else int(value)
        series = _digest(point.name, sorted(point.resource.items()), sorted(point.attributes.items()))
        try:
            ts = _ts({}, point.time_ns)
        except ValueError as exc:
            result.rejected.append(f"{point.name}: {exc}")
            continue
        outcome = OutcomeEvent(
            id=f"otel:{point.name}:{series}:{point.start_ns}:{point.time_ns}", ts=ts, type=outcome_type,
            count=amount, person=identity(attrs), tool=tool, session=attrs.get("session.id"), source="otlp",
            extra=_extra(point.resource, **{k: v for k, v in point.attributes.items()
                                            if k in ("model", "tool_name", "language", "type", "decision")}))
        if point.temporality == "cumulative":
            result.cumulative.append(SeriesPoint(series, point.start_ns, point.time_ns, amount, outcome))
        elif amount > 0:
            result.outcomes.append(outcome)
    for name in list(result.ignored):
        if name in _COUNTED_BY_EVENTS:
            del result.ignored[name]
    return result


def increments(points: list[SeriesPoint], state: dict[str, tuple[int, int, int]]
               ) -> tuple[list[OutcomeEvent], dict[str, tuple[int, int, int]]]:
    """Cumulative counter points as outcomes of their increments.

    `state` maps a series to its last (start, time, value). A new start time means the counter
    restarted from zero; a point no later than the last one seen is a resend and adds nothing (also a
    late copy of a point from before a restart)."""
    state = dict(state)
    outcomes = []
    for point in sorted(points, key=lambda p: (p.series, p.time_ns, p.start_ns)):
        previous = state.get(point.series)
        if previous is not None and point.time_ns <= previous[1]:
            continue
        if previous is None or previous[0] != point.start_ns:
            increase = point.value
        else:
            increase = point.value - previous[2] if point.value >= previous[2] else point.value
        state[point.series] = (point.start_ns, point.time_ns, point.value)
        if increase > 0:
            outcome = point.outcome
            outcome.count = increase
            outcomes.append(outcome)
    return outcomes, state


# --- spans (GenAI semantic conventions) ---------------------------------------------------------------

_AGGREGATE_OPERATIONS = {"invoke_agent", "create_agent", "invoke_workflow", "execute_tool", "retrieval"}
# Tools whose log events are their usage record; their spans repeat it.
_EVENT_TOOLS = ("claude-code", "claude_code", "codex", "gemini")


def from_spans(spans: list[Span]) -> OtelResult:
    result = OtelResult()
    for span in spans:
        if isinstance(span, Rejected):
            result.rejected.append(span.message)
            continue
        attrs = {**span.resource, **span.attributes}
        service = str(span.resource.get("service.name", ""))
        if not _is_genai_call(attrs) or span.name.startswith("claude_code.") or service.startswith(_EVENT_TOOLS):
            result.ignored[span.name or "(span)"] += 1
            continue
        try:
            ts = _ts({}, span.end_ns or span.start_ns)
            duration = (span.end_ns - span.start_ns) // 1_000_000 if span.end_ns else None
            result.usage.append(_genai_usage(attrs, span.resource, ts, duration, f"{span.trace_id}:{span.span_id}"))
        except ValueError as exc:
            result.rejected.append(f"{span.name}: {exc}")
    return result


def _is_genai_call(attrs: dict[str, Any]) -> bool:
    """A record of one model call with GenAI usage (agent, workflow and tool records sum their children)."""
    has_usage = "gen_ai.usage.input_tokens" in attrs or "gen_ai.usage.output_tokens" in attrs
    return has_usage and attrs.get("gen_ai.operation.name") not in _AGGREGATE_OPERATIONS


def _genai_usage(attrs: dict[str, Any], resource: dict[str, Any], ts: datetime, duration_ms: int | None,
                 fallback_id: str) -> UsageEvent:
    """A usage event from `gen_ai.usage.*` (input includes cache reads and writes; output includes reasoning)."""
    total_input = _count(attrs, "gen_ai.usage.input_tokens")
    cache_read = min(_count(attrs, "gen_ai.usage.cache_read.input_tokens"), total_input)
    cache_write = min(_count(attrs, "gen_ai.usage.cache_creation.input_tokens"), total_input - cache_read)
    output = _count(attrs, "gen_ai.usage.output_tokens")
    reasoning = _count(attrs, "gen_ai.usage.reasoning.output_tokens") or _count(attrs, "gen_ai.usage.reasoning_tokens")
    response_id = attrs.get("gen_ai.response.id")
    # The response id when there is one, so a span and an event for the same call count once.
    return UsageEvent(
        id=f"genai:{response_id or fallback_id}", ts=ts, tool=str(resource.get("service.name") or "genai"),
        provider=attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system"),
        model=attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model"), person=identity(attrs),
        input_tokens=total_input - cache_read - cache_write, output_tokens=output, cache_read_tokens=cache_read,
        cache_write_tokens=cache_write, reasoning_tokens=min(reasoning, output),
        session=attrs.get("gen_ai.conversation.id") or attrs.get("session.id"), request_id=response_id,
        duration_ms=duration_ms, source="otlp", confidence="metered", extra=_extra(resource),
    )
