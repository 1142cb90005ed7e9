"""OpenTelemetry records -> usage, outcome and prompt events (`tokenpulse.sources.otel`).

Every record here comes from an OTLP/JSON body built by the helpers below and decoded with
`otlp.decode(..., "json")`, as the receiver does. The mapping follows the formats reference §4:

- Claude Code `api_request` (the captured 2.1.294 record from §4.1 is one case): tokens as sent (its
  input already excludes the cache), cost from `cost_usd_micros` else `cost_usd`, dedup id from session
  + `request_id` else `event.sequence`, a record with neither is rejected (not raised); `api_error`
  (429 -> rate_limited); `user_prompt` with, without and with redacted text; the short `event.name`
  form and the body form; identity precedence; custom resource attributes kept, process ones not.
- Codex `codex.sse_event` `response.completed` (input includes cached -> split), other kinds ignored.
- Gemini CLI `gemini_cli.api_response` (cached subtracted from input, thoughts are output and reasoning),
  and its GenAI-convention copy of the same call not counted twice.
- Claude Code counters as outcomes (delta directly; cumulative as series points and `increments()`),
  token/cost counters neither counted nor listed as ignored, unknown names counted in `ignored`.
- GenAI spans and events: `chat` spans with `gen_ai.usage.*` (input includes cache reads and writes ->
  split), one id per response for a span and an event of the same call; agent, tool and tool-owned
  spans ignored; `copilot_chat.agent.turn` ignored.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import msgspec

from tokenpulse.events import OutcomeEvent, PromptEvent, UsageEvent
from tokenpulse.sources import otlp
from tokenpulse.sources.otel import SeriesPoint, from_logs, from_metrics, from_spans, identity, increments

# Times (ns since the epoch) and the instants they stand for.
START = 1_772_359_145_000_000_000  # 2026-03-01T09:59:05Z: the counters' start
T1 = 1_772_359_205_250_000_000  # 2026-03-01T10:00:05.250Z
T2 = 1_772_359_265_000_000_000  # 2026-03-01T10:01:05Z
RESTART = 1_772_359_300_000_000_000  # 2026-03-01T10:01:40Z: a new process's start
T3 = 1_772_359_325_000_000_000  # 2026-03-01T10:02:05Z
T4 = 1_772_359_385_000_000_000  # 2026-03-01T10:03:05Z
AT_T1 = datetime(2026, 3, 1, 10, 0, 5, 250000, tzinfo=UTC)
AT_T2 = datetime(2026, 3, 1, 10, 1, 5, tzinfo=UTC)
AT_T3 = datetime(2026, 3, 1, 10, 2, 5, tzinfo=UTC)

SESSION = "0f3b6c1e-5d2a-4c7e-9a41-2b8d7e6f1a90"
# What Claude Code puts on its resource, plus OTEL_RESOURCE_ATTRIBUTES=department=platform-eng,team.id=payments
CLAUDE_RESOURCE = {"service.name": "claude-code", "service.version": "2.1.294", "os.type": "linux",
                   "os.version": "6.8.0", "host.arch": "amd64", "wsl.version": "2",
                   "department": "platform-eng", "team.id": "payments"}
ORG = {"department": "platform-eng", "team.id": "payments"}
# The standard attributes on all of Claude Code's metrics and events (OAuth login: email present).
CLAUDE_USER = {"session.id": SESSION, "organization.id": "org-7", "user.account_uuid": "5e1c2a9b-acc",
               "user.id": "a1b2c3-install", "user.email": "Ana.Silva@Example.COM", "terminal.type": "vscode"}
ANA = "ana.silva@example.com"

COPILOT_RESOURCE = {"service.name": "copilot-chat", "service.version": "0.37.0", "team.id": "payments"}
TRACE_ID = "5b8efff798038103d269b633813fc60c"

# --- OTLP/JSON builders ------------------------------------------------------------------------------


def any_value(value: Any) -> dict[str, Any]:
    """A python value as an OTLP/JSON AnyValue (int64 written as a string, as the spec says)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": attributes(value)}}
    return {"stringValue": value}


def attributes(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": any_value(v)} for k, v in values.items()]


def resource(values: dict[str, Any]) -> dict[str, Any]:
    return {"attributes": attributes(values)}


def log(attrs: dict[str, Any], *, body: str | None = None, time_ns: int = T1) -> dict[str, Any]:
    record: dict[str, Any] = {"timeUnixNano": str(time_ns), "observedTimeUnixNano": str(time_ns + 1_000_000),
                              "attributes": attributes(attrs)}
    if body is not None:
        record["body"] = {"stringValue": body}
    return record


def logs(*records: dict[str, Any], res: dict[str, Any] = CLAUDE_RESOURCE,
         scope: str = "com.anthropic.claude_code.events") -> list[otlp.LogRecord]:
    body = {"resourceLogs": [{"resource": resource(res),
                              "scopeLogs": [{"scope": {"name": scope}, "logRecords": list(records)}]}]}
    return otlp.decode("logs", json.dumps(body).encode(), "json")


def number(value: int | float, attrs: dict[str, Any], *, start: int = START, time: int = T2) -> dict[str, Any]:
    point: dict[str, Any] = {"attributes": attributes(attrs), "startTimeUnixNano": str(start),
                             "timeUnixNano": str(time)}
    if isinstance(value, int):
        point["asInt"] = str(value)
    else:
        point["asDouble"] = value
    return point


def counter(name: str, *points: dict[str, Any], cumulative: bool = False, unit: str = "") -> dict[str, Any]:
    temporality = "AGGREGATION_TEMPORALITY_CUMULATIVE" if cumulative else "AGGREGATION_TEMPORALITY_DELTA"
    return {"name": name, "unit": unit,
            "sum": {"aggregationTemporality": temporality, "isMonotonic": True, "dataPoints": list(points)}}


def metrics(*items: dict[str, Any], res: dict[str, Any] = CLAUDE_RESOURCE) -> list[otlp.MetricPoint]:
    body = {"resourceMetrics": [{"resource": resource(res), "scopeMetrics": [
        {"scope": {"name": "com.anthropic.claude_code"}, "metrics": list(items)}]}]}
    return otlp.decode("metrics", json.dumps(body).encode(), "json")


def span(name: str, attrs: dict[str, Any], *, span_id: str = "eee19b7ec3c1b174", start: int = T1,
         end: int = T1 + 2_500_000_000) -> dict[str, Any]:
    return {"traceId": TRACE_ID, "spanId": span_id, "name": name, "kind": 3, "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(end), "attributes": attributes(attrs)}


def spans(*items: dict[str, Any], res: dict[str, Any] = COPILOT_RESOURCE) -> list[otlp.Span]:
    body = {"resourceSpans": [{"resource": resource(res),
                               "scopeSpans": [{"scope": {"name": "copilot-chat"}, "spans": list(items)}]}]}
    return otlp.decode("traces", json.dumps(body).encode(), "json")


def api_request(**overrides: Any) -> dict[str, Any]:
    """Attributes of a Claude Code `api_request` event (a `None` override drops the attribute)."""
    attrs = {**CLAUDE_USER, "event.name": "api_request", "event.timestamp": "2026-03-01T10:00:05.123Z",
             "event.sequence": 15, "prompt.id": "7d1e0c44-prompt", "model": "claude-sonnet-5",
             "input_tokens": 1200, "output_tokens": 850, "cache_read_tokens": 48000,
             "cache_creation_tokens": 3100, "cost_usd": 0.0456, "cost_usd_micros": 45600, "duration_ms": 5120,
             "request_id": "req_011CXyZabc", "speed": "normal", "query_source": "repl_main_thread", **overrides}
    return {k: v for k, v in attrs.items() if v is not None}


def without_id(event: OutcomeEvent) -> OutcomeEvent:
    return msgspec.structs.replace(event, id="")


# --- Claude Code: api_request -----------------------------------------------------------------------

# The record captured from Claude Code 2.1.294 (formats reference §4.1), as the fixture printed it.
CAPTURED_API_REQUEST = """
{"timeUnixNano":"1791447318137000000","body":{"stringValue":"claude_code.api_request"},
 "attributes":[{"key":"session.id","value":{"stringValue":"eec3945a-…"}},
  {"key":"event.name","value":{"stringValue":"api_request"}},{"key":"event.sequence","value":{"intValue":15}},
  {"key":"prompt.id","value":{"stringValue":"a50257c3-…"}},{"key":"model","value":{"stringValue":"claude-haiku-5-5"}},
  {"key":"input_tokens","value":{"intValue":2}},{"key":"output_tokens","value":{"intValue":4}},
  {"key":"cache_read_tokens","value":{"intValue":9179}},{"key":"cache_creation_tokens","value":{"intValue":13356}},
  {"key":"cost_usd","value":{"doubleValue":0.00276519}},{"key":"cost_usd_micros","value":{"intValue":2765}},
  {"key":"duration_ms","value":{"intValue":742}},{"key":"request_id","value":{"stringValue":"req_011Cfp…"}},
  {"key":"speed","value":{"stringValue":"normal"}},{"key":"query_source","value":{"stringValue":"sdk"}}]}
"""


def test_the_captured_claude_code_api_request_becomes_one_usage_event() -> None:
    result = from_logs(logs(json.loads(CAPTURED_API_REQUEST)))

    assert result.usage == [UsageEvent(
        id="claude_code:otel:eec3945a-…:req_011Cfp…",
        ts=datetime(2026, 10, 8, 8, 15, 18, 137000, tzinfo=UTC),  # from timeUnixNano: no event.timestamp
        tool="claude_code", provider="anthropic", model="claude-haiku-5-5", person=None,
        input_tokens=2, output_tokens=4, cache_read_tokens=9179, cache_write_tokens=13356,
        session="eec3945a-…", request_id="req_011Cfp…", duration_ms=742, speed=None,
        reported_cost_micros=2765, source="otlp", confidence="metered",
        extra={"resource": ORG, "prompt_id": "a50257c3-…", "query_source": "sdk"},
    )]
    assert (result.outcomes, result.prompts, result.rejected, result.ignored) == ([], [], [], Counter())


def test_api_request_maps_every_field() -> None:
    result = from_logs(logs(log(api_request(speed="fast"), body="claude_code.api_request")))

    assert result.usage == [UsageEvent(
        id=f"claude_code:otel:{SESSION}:req_011CXyZabc",
        ts=datetime(2026, 3, 1, 10, 0, 5, 123000, tzinfo=UTC),  # event.timestamp wins over timeUnixNano
        tool="claude_code", provider="anthropic", model="claude-sonnet-5", person=ANA,
        input_tokens=1200, output_tokens=850, cache_read_tokens=48000, cache_write_tokens=3100,
        cache_write_1h_tokens=0, reasoning_tokens=0, session=SESSION, request_id="req_011CXyZabc",
        status="ok", duration_ms=5120, speed="fast", reported_cost_micros=45600, source="otlp",
        confidence="metered",
        extra={"resource": ORG, "prompt_id": "7d1e0c44-prompt", "query_source": "repl_main_thread"},
    )]


def test_extra_keeps_custom_resource_attributes_but_not_process_ones() -> None:
    res = {**CLAUDE_RESOURCE, "telemetry.sdk.language": "nodejs", "process.pid": 4242, "host.name": "devbox",
           "cost_center": "cc-1234"}

    event = from_logs(logs(log(api_request()), res=res)).usage[0]

    assert event.extra == {"resource": {"department": "platform-eng", "team.id": "payments",
                                        "cost_center": "cc-1234"},
                           "prompt_id": "7d1e0c44-prompt", "query_source": "repl_main_thread"}


def test_no_resource_key_in_extra_when_the_resource_is_only_process_attributes() -> None:
    res = {"service.name": "claude-code", "service.version": "2.1.294", "os.type": "darwin", "host.arch": "arm64"}

    event = from_logs(logs(log(api_request(**{"query_source": None})), res=res)).usage[0]

    assert event.extra == {"prompt_id": "7d1e0c44-prompt"}


def test_reported_cost_falls_back_to_cost_usd_when_micros_are_missing() -> None:
    event = from_logs(logs(log(api_request(cost_usd_micros=None, cost_usd=0.00276519)))).usage[0]

    assert event.reported_cost_micros == 2765  # 2765.19 micro-USD, rounded


def test_reported_cost_prefers_integer_micros_over_the_decimal() -> None:
    event = from_logs(logs(log(api_request(cost_usd_micros=2765, cost_usd=0.0028)))).usage[0]

    assert event.reported_cost_micros == 2765


def test_numbers_sent_as_strings_are_read() -> None:
    # captures show numeric attributes as stringValue on some events
    attrs = api_request(input_tokens="1200", output_tokens="850", cache_read_tokens="48000",
                        cache_creation_tokens="3100", duration_ms="5120", cost_usd_micros="45600")

    event = from_logs(logs(log(attrs))).usage[0]

    assert (event.input_tokens, event.output_tokens, event.cache_read_tokens, event.cache_write_tokens,
            event.duration_ms, event.reported_cost_micros) == (1200, 850, 48000, 3100, 5120, 45600)


def test_no_cost_attribute_leaves_the_reported_cost_unknown() -> None:
    event = from_logs(logs(log(api_request(cost_usd=None, cost_usd_micros=None)))).usage[0]

    assert event.reported_cost_micros is None


def test_the_dedup_id_is_session_and_request_id_and_a_resend_gets_the_same_id() -> None:
    first = from_logs(logs(log(api_request(), time_ns=T1)))
    resent = from_logs(logs(log(api_request(), time_ns=T2)))

    assert [e.id for e in first.usage] == [f"claude_code:otel:{SESSION}:req_011CXyZabc"]
    assert [e.id for e in resent.usage] == [f"claude_code:otel:{SESSION}:req_011CXyZabc"]


def test_without_request_id_the_dedup_id_uses_the_event_sequence() -> None:
    result = from_logs(logs(log(api_request(request_id=None, **{"event.sequence": 16}))))

    assert [(e.id, e.request_id) for e in result.usage] == [(f"claude_code:otel:{SESSION}:seq16", None)]


def test_an_api_request_with_neither_request_id_nor_sequence_is_rejected_not_raised() -> None:
    result = from_logs(logs(log(api_request(request_id=None, **{"event.sequence": None})),
                            log(api_request(request_id="req_ok"))))

    assert [e.request_id for e in result.usage] == ["req_ok"]
    assert result.rejected == ["claude_code.api_request: neither request_id nor event.sequence: "
                               "cannot tell a resent copy from a new request"]


def test_a_negative_token_count_is_rejected() -> None:
    result = from_logs(logs(log(api_request(output_tokens=-5))))

    assert (result.usage, result.rejected) == ([], ["claude_code.api_request: negative count: -5"])


def test_a_cost_usd_that_is_not_an_amount_is_rejected_not_raised() -> None:
    result = from_logs(logs(log(api_request(cost_usd_micros=None, cost_usd="n/a"))))

    assert (result.usage, result.rejected) == ([], ["claude_code.api_request: not a decimal amount: 'n/a'"])


def test_short_event_name_form_and_body_form_give_the_same_event() -> None:
    body_form = from_logs(logs(log(api_request(), body="claude_code.api_request")))
    short_form = from_logs(logs(log(api_request())))  # no body: event.name `api_request` + service.name
    by_scope = from_logs(logs(log(api_request()), res={"team.id": "payments", "department": "platform-eng"}))

    assert len(body_form.usage) == 1
    assert short_form.usage == body_form.usage
    assert by_scope.usage == body_form.usage  # no service.name, but Claude Code's scope


def test_the_record_event_name_field_names_the_event_too() -> None:
    record = log(api_request())
    record["eventName"] = "claude_code.api_request"  # newer SDKs: the field, not the body
    by_field = from_logs(logs(record, res=ORG, scope="some-sdk"))  # neither Claude Code's service nor scope

    assert len(by_field.usage) == 1
    assert by_field.usage == from_logs(logs(log(api_request(), body="claude_code.api_request"), res=ORG,
                                            scope="some-sdk")).usage


def test_a_malformed_record_is_rejected_and_the_rest_of_the_request_kept() -> None:
    bad = log(api_request())
    bad["timeUnixNano"] = "yesterday"
    result = from_logs(logs(log(api_request(), body="claude_code.api_request"), bad))

    assert len(result.usage) == 1
    assert result.rejected == ["a log record: `timeUnixNano` must be an integer, got 'yesterday'"]


def test_a_short_event_name_from_another_service_is_not_claude_code() -> None:
    result = from_logs(logs(log(api_request()), res={"service.name": "my-agent"}, scope="my-agent"))

    assert (result.usage, result.ignored) == ([], Counter({"api_request": 1}))


# --- identity ---------------------------------------------------------------------------------------


def test_identity_prefers_the_email_lower_cased() -> None:
    assert identity(CLAUDE_USER) == ANA
    assert identity({"user.email": "  Bob@Corp.example "}) == "bob@corp.example"


def test_identity_falls_back_to_the_account_then_the_install_id() -> None:
    assert identity({"user.account_uuid": "5e1c2a9b-acc", "user.account_id": "user_01X",
                     "user.id": "a1b2c3-install"}) == "account:5e1c2a9b-acc"
    assert identity({"user.account_id": "user_01X", "user.id": "a1b2c3-install"}) == "account:user_01X"
    assert identity({"user.id": "a1b2c3-install", "session.id": SESSION}) == "user:a1b2c3-install"
    assert identity({"session.id": SESSION}) is None


def test_events_carry_the_identity_of_their_record() -> None:
    records = logs(log(api_request(request_id="r1", **{"user.email": None})),
                   log(api_request(request_id="r2", **{"user.email": None, "user.account_uuid": None})),
                   log(api_request(request_id="r3", **{"user.email": None, "user.account_uuid": None,
                                                       "user.id": None})))

    assert [e.person for e in from_logs(records).usage] == ["account:5e1c2a9b-acc", "user:a1b2c3-install", None]


# --- Claude Code: api_error, user_prompt, other events ------------------------------------------------


def api_error(status_code: Any) -> dict[str, Any]:
    return {**CLAUDE_USER, "event.name": "api_error", "event.timestamp": "2026-03-01T10:00:05.250Z",
            "event.sequence": 21, "model": "claude-sonnet-5", "error": "Request rate limit exceeded",
            "status_code": status_code, "duration_ms": 180, "attempt": 2, "request_id": "req_011CErr",
            "speed": "normal", "query_source": "repl_main_thread"}


def test_api_error_429_is_a_rate_limited_usage_event_without_tokens() -> None:
    result = from_logs(logs(log(api_error("429"), body="claude_code.api_error")))

    assert result.usage == [UsageEvent(
        id=f"claude_code:otel:{SESSION}:error:req_011CErr:2", ts=AT_T1, tool="claude_code",
        provider="anthropic", model="claude-sonnet-5", person=ANA, session=SESSION, request_id="req_011CErr",
        status="rate_limited", duration_ms=180, source="otlp", confidence="metered",
        extra={"resource": ORG, "error": "Request rate limit exceeded", "status_code": 429},
    )]
    assert result.usage[0].total_tokens == 0


def test_api_error_other_than_429_is_an_error() -> None:
    result = from_logs(logs(log(api_error(529), body="claude_code.api_error"),
                            log({**api_error(500), "attempt": 3}, body="claude_code.api_error")))

    assert [(e.id, e.status, e.extra["status_code"]) for e in result.usage] == [
        (f"claude_code:otel:{SESSION}:error:req_011CErr:2", "error", 529),
        (f"claude_code:otel:{SESSION}:error:req_011CErr:3", "error", 500),
    ]


def user_prompt(**overrides: Any) -> dict[str, Any]:
    attrs = {**CLAUDE_USER, "event.name": "user_prompt", "event.timestamp": "2026-03-01T10:00:05.250Z",
             "event.sequence": 14, "prompt.id": "7d1e0c44-prompt", "prompt_length": 31, **overrides}
    return {k: v for k, v in attrs.items() if v is not None}


def test_user_prompt_with_text_keeps_the_text() -> None:
    result = from_logs(logs(log(user_prompt(prompt="Fix the flaky test in ci.yml"),
                                body="claude_code.user_prompt")))

    assert result.prompts == [PromptEvent(
        id=f"claude_code:{SESSION}:7d1e0c44-prompt", ts=AT_T1, tool="claude_code", person=ANA, session=SESSION,
        prompt_id="7d1e0c44-prompt", length=31, text="Fix the flaky test in ci.yml")]
    assert result.usage == []


def test_user_prompt_redacted_keeps_only_the_length() -> None:
    result = from_logs(logs(log(user_prompt(prompt="[REDACTED]", prompt_length="31"))))

    assert [(p.id, p.length, p.text) for p in result.prompts] == [
        (f"claude_code:{SESSION}:7d1e0c44-prompt", 31, None)]


def test_user_prompt_without_text_keeps_only_the_length() -> None:
    result = from_logs(logs(log(user_prompt())))

    assert [(p.prompt_id, p.person, p.length, p.text) for p in result.prompts] == [
        ("7d1e0c44-prompt", ANA, 31, None)]


def test_unknown_log_events_are_counted_by_name_and_ignored() -> None:
    base = {**CLAUDE_USER, "event.sequence": 30}
    result = from_logs(logs(
        log({**base, "event.name": "tool_result", "tool_name": "Bash", "success": "true"},
            body="claude_code.tool_result"),
        log({**base, "event.name": "tool_result", "tool_name": "Edit", "success": "false"},
            body="claude_code.tool_result"),
        log({**base, "event.name": "api_refusal", "model": "claude-sonnet-5"}, body="claude_code.api_refusal"),
        log({**base, "event.name": "tool_decision", "decision": "accept"}),  # short form
    ))

    assert result.ignored == Counter({"claude_code.tool_result": 2, "claude_code.api_refusal": 1,
                                      "claude_code.tool_decision": 1})
    assert (result.usage, result.prompts, result.rejected) == ([], [], [])


# --- Codex ------------------------------------------------------------------------------------------

CODEX_RESOURCE = {"service.name": "codex_cli_rs", "service.version": "0.98.0", "department": "research"}
CODEX_USER = {"conversation.id": "019c8a4d-8f45-7010-8b5d-7fad920aa6f9", "app.version": "0.98.0",
              "auth_mode": "ChatGPT", "originator": "codex_cli_rs", "user.account_id": "acct-42",
              "user.email": "Dev@Example.org", "terminal.type": "iTerm.app", "model": "gpt-5.3-codex",
              "slug": "gpt-5.3-codex"}


def sse_event(kind: str, **tokens: Any) -> dict[str, Any]:
    return {**CODEX_USER, "event.name": "codex.sse_event", "event.timestamp": "2026-03-01T10:00:05.250Z",
            "event.kind": kind, "duration_ms": 4200, **tokens}


COMPLETED = {"input_token_count": 12000, "output_token_count": 800, "cached_token_count": 9000,
             "reasoning_token_count": 300, "tool_token_count": 0}


def test_codex_response_completed_splits_cached_tokens_out_of_input() -> None:
    result = from_logs(logs(log(sse_event("response.completed", **COMPLETED)), res=CODEX_RESOURCE,
                            scope="codex_otel"))

    [event] = result.usage
    assert re.fullmatch(r"codex:otel:019c8a4d-8f45-7010-8b5d-7fad920aa6f9:[0-9a-f]{24}", event.id)
    assert msgspec.structs.replace(event, id="") == UsageEvent(
        id="", ts=AT_T1, tool="codex", provider="openai", model="gpt-5.3-codex", person="dev@example.org",
        input_tokens=3000, output_tokens=800, cache_read_tokens=9000, cache_write_tokens=0, reasoning_tokens=300,
        session="019c8a4d-8f45-7010-8b5d-7fad920aa6f9", request_id=None, duration_ms=4200, source="otlp",
        confidence="metered", extra={"resource": {"department": "research"}})


def test_codex_resent_response_keeps_its_id_and_another_response_gets_another() -> None:
    first = from_logs(logs(log(sse_event("response.completed", **COMPLETED)), res=CODEX_RESOURCE))
    resent = from_logs(logs(log(sse_event("response.completed", **COMPLETED), time_ns=T2), res=CODEX_RESOURCE))
    other = from_logs(logs(log(sse_event("response.completed", **{**COMPLETED, "output_token_count": 801})),
                           res=CODEX_RESOURCE))

    assert first.usage[0].id == resent.usage[0].id
    assert other.usage[0].id != first.usage[0].id


def test_codex_other_sse_event_kinds_are_ignored() -> None:
    result = from_logs(logs(log(sse_event("response.created")), log(sse_event("response.output_text.delta")),
                            log(sse_event("response.completed", **COMPLETED)), res=CODEX_RESOURCE))

    assert len(result.usage) == 1
    assert result.ignored == Counter({"codex.sse_event": 2})


def test_codex_user_prompt_redacted_by_default() -> None:
    result = from_logs(logs(log({**CODEX_USER, "event.name": "codex.user_prompt",
                                 "event.timestamp": "2026-03-01T10:00:05.250Z", "prompt_length": 57,
                                 "prompt": "[REDACTED]"}), res=CODEX_RESOURCE))

    assert [(p.tool, p.session, p.person, p.length, p.text) for p in result.prompts] == [
        ("codex", "019c8a4d-8f45-7010-8b5d-7fad920aa6f9", "dev@example.org", 57, None)]


# --- Gemini CLI -------------------------------------------------------------------------------------

GEMINI_RESOURCE = {"service.name": "gemini-cli", "service.version": "0.30.0"}
GEMINI_USER = {"session.id": "gem-session-1", "installation.id": "inst-1", "user.email": "Li.Wei@Example.com",
               "active_approval_mode": "default"}


def gemini_response(**overrides: Any) -> dict[str, Any]:
    return {**GEMINI_USER, "event.name": "gemini_cli.api_response", "event.timestamp": "2026-03-01T10:00:05.250Z",
            "model": "gemini-2.5-pro", "status_code": 200, "duration_ms": 1234, "input_token_count": 5000,
            "output_token_count": 400, "cached_content_token_count": 2000, "thoughts_token_count": 600,
            "tool_token_count": 100, "total_token_count": 6100, "prompt_id": "p-7", "auth_type": "gemini-api-key",
            "finish_reasons": ["STOP"], **overrides}


def test_gemini_api_response_subtracts_cache_and_counts_thoughts_as_output() -> None:
    result = from_logs(logs(log(gemini_response(), body="API response from gemini-2.5-pro. Status: 200. "
                                                        "Duration: 1234ms."), res=GEMINI_RESOURCE, scope="gemini-cli"))

    [event] = result.usage
    assert re.fullmatch(r"gemini_cli:otel:gem-session-1:[0-9a-f]{24}", event.id)
    assert msgspec.structs.replace(event, id="") == UsageEvent(
        id="", ts=AT_T1, tool="gemini_cli", provider="google", model="gemini-2.5-pro", person="li.wei@example.com",
        input_tokens=3100,  # 5000 prompt - 2000 cached + 100 tool-use prompt
        output_tokens=1000,  # 400 candidates + 600 thoughts
        cache_read_tokens=2000, reasoning_tokens=600, session="gem-session-1", status="ok", duration_ms=1234,
        source="otlp", confidence="metered", extra={"prompt_id": "p-7"})
    assert event.total_tokens == 6100  # the response's total_token_count


def test_gemini_semantic_copy_of_a_response_is_not_counted_twice() -> None:
    # Gemini CLI logs each response twice: its own event and a GenAI-convention event.
    semantic = {**GEMINI_USER, "event.name": "gen_ai.client.inference.operation.details",
                "event.timestamp": "2026-03-01T10:00:05.250Z", "gen_ai.response.id": "resp-g1",
                "gen_ai.operation.name": "generate_content", "gen_ai.provider.name": "gcp.gen_ai",
                "gen_ai.request.model": "gemini-2.5-pro", "gen_ai.response.model": "gemini-2.5-pro",
                "gen_ai.usage.input_tokens": 5000, "gen_ai.usage.output_tokens": 400}
    result = from_logs(logs(
        log(gemini_response(), body="API response from gemini-2.5-pro. Status: 200. Duration: 1234ms."),
        log(semantic, body="GenAI operation details from gemini-2.5-pro. Status: 200. Duration: 1234ms."),
        res=GEMINI_RESOURCE, scope="gemini-cli"))

    assert [e.tool for e in result.usage] == ["gemini_cli"]
    assert result.ignored == Counter({"gen_ai.client.inference.operation.details": 1})


def test_gemini_user_prompt_keeps_the_text_it_was_sent() -> None:
    result = from_logs(logs(log({**GEMINI_USER, "event.name": "gemini_cli.user_prompt",
                                 "event.timestamp": "2026-03-01T10:00:05.250Z", "prompt_id": "p-7",
                                 "prompt_length": 12, "prompt": "explain this"}), res=GEMINI_RESOURCE))

    assert result.prompts == [PromptEvent(
        id="gemini_cli:gem-session-1:p-7", ts=AT_T1, tool="gemini_cli", person="li.wei@example.com",
        session="gem-session-1", prompt_id="p-7", length=12, text="explain this")]


# --- metrics: delta counters ------------------------------------------------------------------------

CLAUDE_METRIC_ATTRS = {"session.id": SESSION, "organization.id": "org-7", "user.account_uuid": "5e1c2a9b-acc",
                       "user.email": "Ana.Silva@Example.COM", "terminal.type": "vscode"}
OUTCOME_ID = re.compile(r"otel:(?P<name>[a-z_.]+):(?P<series>[0-9a-f]{24}):(?P<start>\d+):(?P<time>\d+)")


def outcome(type_: str, count: int, extra: dict[str, Any]) -> OutcomeEvent:
    return OutcomeEvent(id="", ts=AT_T2, type=type_, count=count, person=ANA, tool="claude_code", session=SESSION,
                        source="otlp", extra={"resource": ORG, **extra})


def test_delta_counters_become_outcomes_with_exact_counts() -> None:
    a = CLAUDE_METRIC_ATTRS
    result = from_metrics(metrics(
        counter("claude_code.commit.count", number(2, a)),
        counter("claude_code.pull_request.count", number(1, a)),
        counter("claude_code.lines_of_code.count", number(120, {**a, "type": "added", "model": "claude-sonnet-5"}),
                number(30, {**a, "type": "removed", "model": "claude-sonnet-5"})),
        counter("claude_code.code_edit_tool.decision",
                number(3, {**a, "tool_name": "Edit", "decision": "accept", "source": "user_temporary",
                           "language": "Python"}),
                number(1, {**a, "tool_name": "Write", "decision": "reject", "source": "user_reject",
                           "language": "Markdown"})),
        counter("claude_code.active_time.total", number(12.5, {**a, "type": "user"}), unit="s"),
    ))

    assert [without_id(o) for o in result.outcomes] == [
        outcome("commit", 2, {}),
        outcome("pull_request", 1, {}),
        outcome("lines_added", 120, {"type": "added", "model": "claude-sonnet-5"}),
        outcome("lines_removed", 30, {"type": "removed", "model": "claude-sonnet-5"}),
        outcome("edit_accepted", 3, {"tool_name": "Edit", "decision": "accept", "language": "Python"}),
        outcome("edit_rejected", 1, {"tool_name": "Write", "decision": "reject", "language": "Markdown"}),
        outcome("active_ms", 12500, {"type": "user"}),  # 12.5 s
    ]
    ids = [OUTCOME_ID.fullmatch(o.id) for o in result.outcomes]
    assert [(m["name"], int(m["start"]), int(m["time"])) for m in ids if m] == [
        ("claude_code.commit.count", START, T2), ("claude_code.pull_request.count", START, T2),
        ("claude_code.lines_of_code.count", START, T2), ("claude_code.lines_of_code.count", START, T2),
        ("claude_code.code_edit_tool.decision", START, T2), ("claude_code.code_edit_tool.decision", START, T2),
        ("claude_code.active_time.total", START, T2)]
    assert len({o.id for o in result.outcomes}) == 7
    assert (result.cumulative, result.ignored, result.rejected) == ([], Counter(), [])


def test_a_resent_delta_point_gets_the_same_outcome_id_and_the_next_interval_another() -> None:
    def commits(start: int, time: int) -> OutcomeEvent:
        return from_metrics(metrics(counter("claude_code.commit.count", number(1, CLAUDE_METRIC_ATTRS,
                                                                               start=start, time=time)))).outcomes[0]

    assert commits(START, T2).id == commits(START, T2).id
    assert commits(T2, T3).id != commits(START, T2).id


def test_a_delta_point_of_zero_records_nothing() -> None:
    result = from_metrics(metrics(counter("claude_code.commit.count", number(0, CLAUDE_METRIC_ATTRS))))

    assert (result.outcomes, result.rejected) == ([], [])


def test_gemini_lines_changed_become_line_outcomes() -> None:
    result = from_metrics(metrics(counter("gemini_cli.lines.changed",
                                          number(40, {**GEMINI_USER, "type": "added", "function_name": "replace"}),
                                          number(6, {**GEMINI_USER, "type": "removed", "function_name": "replace"})),
                                  res=GEMINI_RESOURCE))

    assert [(o.type, o.count, o.tool, o.person, o.session, o.extra) for o in result.outcomes] == [
        ("lines_added", 40, "gemini_cli", "li.wei@example.com", "gem-session-1", {"type": "added"}),
        ("lines_removed", 6, "gemini_cli", "li.wei@example.com", "gem-session-1", {"type": "removed"}),
    ]


def test_token_and_cost_counters_are_neither_counted_nor_listed_as_ignored() -> None:
    a = {**CLAUDE_METRIC_ATTRS, "model": "claude-sonnet-5", "query_source": "main"}
    result = from_metrics(metrics(
        counter("claude_code.token.usage", number(1200, {**a, "type": "input"}),
                number(48000, {**a, "type": "cacheRead"}), unit="tokens"),
        counter("claude_code.cost.usage", number(0.0456, a), unit="USD"),
    ))

    assert (result.outcomes, result.cumulative, result.ignored, result.rejected) == ([], [], Counter(), [])


def test_unknown_metrics_are_counted_by_name_in_ignored() -> None:
    a = CLAUDE_METRIC_ATTRS
    result = from_metrics(metrics(
        counter("claude_code.session.count", number(1, {**a, "start_type": "fresh"}),
                number(1, {**a, "start_type": "resume"})),
        counter("claude_code.commit.count", number(1, a)),
        {"name": "process.memory.usage", "unit": "By", "gauge": {"dataPoints": [number(52_428_800, {})]}},
    ))

    assert [o.type for o in result.outcomes] == ["commit"]
    assert result.ignored == Counter({"claude_code.session.count": 2, "process.memory.usage": 1})


def test_a_known_counter_sent_as_a_gauge_is_rejected() -> None:
    result = from_metrics(metrics({"name": "claude_code.commit.count",
                                   "gauge": {"dataPoints": [number(3, CLAUDE_METRIC_ATTRS)]}}))

    assert (result.outcomes, result.rejected) == (
        [], ["claude_code.commit.count: expected a sum (counter), got gauge"])


# --- metrics: cumulative counters and increments() --------------------------------------------------


def commits(value: int, *, start: int = START, time: int = T2, attrs: dict[str, Any] | None = None) -> SeriesPoint:
    [point] = from_metrics(metrics(counter("claude_code.commit.count",
                                           number(value, attrs or CLAUDE_METRIC_ATTRS, start=start, time=time),
                                           cumulative=True))).cumulative
    return point


def counts(outcomes: list[OutcomeEvent]) -> list[int]:
    return [o.count for o in outcomes]


def test_cumulative_points_become_series_points_not_outcomes() -> None:
    result = from_metrics(metrics(
        counter("claude_code.commit.count", number(5, CLAUDE_METRIC_ATTRS), cumulative=True),
        counter("claude_code.active_time.total", number(90.25, {**CLAUDE_METRIC_ATTRS, "type": "cli"}),
                cumulative=True, unit="s"),
    ))

    assert result.outcomes == []
    assert [(p.start_ns, p.time_ns, p.value, without_id(p.outcome)) for p in result.cumulative] == [
        (START, T2, 5, outcome("commit", 5, {})),
        (START, T2, 90250, outcome("active_ms", 90250, {"type": "cli"})),
    ]
    assert result.cumulative[0].series != result.cumulative[1].series


def test_a_series_is_the_same_across_requests_and_differs_by_attributes() -> None:
    assert commits(5).series == commits(8, time=T3).series
    assert commits(5).series != commits(5, attrs={**CLAUDE_METRIC_ATTRS, "session.id": "other-session"}).series


def test_increments_the_first_point_counts_its_full_value() -> None:
    point = commits(5)

    outcomes, state = increments([point], {})

    assert counts(outcomes) == [5]
    assert (outcomes[0].type, outcomes[0].ts, outcomes[0].person) == ("commit", AT_T2, ANA)
    assert state == {point.series: (START, T2, 5)}


def test_increments_a_later_point_counts_the_difference() -> None:
    _, state = increments([commits(5)], {})

    outcomes, state = increments([commits(8, time=T3)], state)

    assert counts(outcomes) == [3]
    assert outcomes[0].ts == AT_T3
    assert list(state.values()) == [(START, T3, 8)]


def test_increments_a_resend_counts_nothing() -> None:
    _, state = increments([commits(5)], {})

    outcomes, after = increments([commits(5)], state)

    assert (outcomes, after) == ([], state)


def test_increments_an_earlier_point_counts_nothing() -> None:
    _, state = increments([commits(5), commits(8, time=T3)], {})

    outcomes, after = increments([commits(5)], state)

    assert (outcomes, after) == ([], state)


def test_increments_a_new_start_time_counts_from_zero() -> None:
    _, state = increments([commits(8, time=T3)], {})

    outcomes, state = increments([commits(2, start=RESTART, time=T4)], state)  # the process restarted

    assert counts(outcomes) == [2]
    assert list(state.values()) == [(RESTART, T4, 2)]


def test_increments_a_counter_that_goes_down_without_a_new_start_counts_the_new_value() -> None:
    _, state = increments([commits(8)], {})

    outcomes, _ = increments([commits(3, time=T3)], state)

    assert counts(outcomes) == [3]


def test_increments_a_late_point_from_before_a_restart_counts_nothing() -> None:
    _, state = increments([commits(5), commits(2, start=RESTART, time=T3)], {})

    late, state = increments([commits(8, time=RESTART - 1)], state)
    after, _ = increments([commits(3, start=RESTART, time=T4)], state)

    assert counts(late) == []
    assert counts(after) == [1]


def test_increments_orders_the_points_of_a_batch_by_time() -> None:
    outcomes, state = increments([commits(9, time=T4), commits(5), commits(8, time=T3)], {})

    assert counts(outcomes) == [5, 3, 1]
    assert [o.ts for o in outcomes] == [AT_T2, AT_T3, datetime(2026, 3, 1, 10, 3, 5, tzinfo=UTC)]
    assert len({o.id for o in outcomes}) == 3
    assert list(state.values()) == [(START, T4, 9)]


def test_increments_keeps_series_apart_and_leaves_the_given_state_alone() -> None:
    mine, theirs = commits(4), commits(10, attrs={**CLAUDE_METRIC_ATTRS, "session.id": "other-session"})
    state = {theirs.series: (START, T1, 7)}

    outcomes, after = increments([mine, theirs], state)

    assert sorted(counts(outcomes)) == [3, 4]
    assert state == {theirs.series: (START, T1, 7)}
    assert after == {mine.series: (START, T2, 4), theirs.series: (START, T2, 10)}


def test_increments_of_a_cumulative_active_time_are_milliseconds() -> None:
    def active(seconds: float, time: int) -> SeriesPoint:
        return from_metrics(metrics(counter("claude_code.active_time.total",
                                            number(seconds, {**CLAUDE_METRIC_ATTRS, "type": "user"}, time=time),
                                            cumulative=True, unit="s"))).cumulative[0]

    outcomes, _ = increments([active(10.5, T2), active(12.75, T3)], {})

    assert [(o.type, o.count) for o in outcomes] == [("active_ms", 10500), ("active_ms", 2250)]


# --- GenAI spans and events -------------------------------------------------------------------------

CHAT = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "github", "gen_ai.request.model": "gpt-5",
        "gen_ai.response.model": "gpt-5-2026-01-01", "gen_ai.response.id": "chatcmpl-Abc123",
        "gen_ai.conversation.id": "conv-42", "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 10000, "gen_ai.usage.cache_read.input_tokens": 6000,
        "gen_ai.usage.cache_creation.input_tokens": 1000, "gen_ai.usage.output_tokens": 500,
        "gen_ai.usage.reasoning.output_tokens": 200}


def test_a_genai_chat_span_becomes_a_usage_event_with_input_split_from_cache() -> None:
    result = from_spans(spans(span("chat gpt-5", CHAT)))

    assert result.usage == [UsageEvent(
        id="genai:chatcmpl-Abc123", ts=datetime(2026, 3, 1, 10, 0, 7, 750000, tzinfo=UTC),  # span end
        tool="copilot-chat", provider="github", model="gpt-5-2026-01-01", person=None,
        input_tokens=3000,  # 10000 - 6000 read - 1000 written
        output_tokens=500, cache_read_tokens=6000, cache_write_tokens=1000, reasoning_tokens=200,
        session="conv-42", request_id="chatcmpl-Abc123", duration_ms=2500, source="otlp", confidence="metered",
        extra={"resource": {"team.id": "payments"}})]
    assert (result.ignored, result.rejected) == (Counter(), [])


def test_a_chat_span_with_legacy_attributes_and_no_response_id() -> None:
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
             "gen_ai.usage.input_tokens": 800, "gen_ai.usage.output_tokens": 120,
             "gen_ai.usage.reasoning_tokens": 64, "session.id": "s-9"}

    [event] = from_spans(spans(span("chat gpt-4o", attrs, span_id="0102030405060708"),
                               res={"service.name": "my-agent"})).usage

    assert (event.id, event.tool, event.provider, event.model, event.request_id, event.session) == (
        f"genai:{TRACE_ID}:0102030405060708", "my-agent", "openai", "gpt-4o", None, "s-9")
    assert (event.input_tokens, event.cache_read_tokens, event.output_tokens, event.reasoning_tokens) == (
        800, 0, 120, 64)


def test_agent_and_tool_spans_are_ignored() -> None:
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "GitHub Copilot Chat",
             "gen_ai.conversation.id": "conv-42", "gen_ai.usage.input_tokens": 30000,
             "gen_ai.usage.output_tokens": 1500, "copilot_chat.turn_count": 3}
    tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "read_file"}

    result = from_spans(spans(span("invoke_agent GitHub Copilot Chat", agent),
                              span("chat gpt-5", CHAT, span_id="0102030405060708"),
                              span("execute_tool read_file", tool, span_id="0807060504030201")))

    assert [e.id for e in result.usage] == ["genai:chatcmpl-Abc123"]
    assert result.ignored == Counter({"invoke_agent GitHub Copilot Chat": 1, "execute_tool read_file": 1})


def test_spans_of_tools_whose_events_count_are_ignored() -> None:
    usage = {"gen_ai.usage.input_tokens": 12000, "gen_ai.usage.output_tokens": 800}
    claude = spans(span("claude_code.llm_request", {**usage, "gen_ai.system": "anthropic", "model": "claude-sonnet-5",
                                                    "input_tokens": 2, "request_id": "req_1"}), res=CLAUDE_RESOURCE)
    codex = spans(span("handle_responses", {**usage, "gen_ai.usage.cache_read.input_tokens": 9000}),
                  res=CODEX_RESOURCE)
    gemini = spans(span("llm_call", {**usage, "gen_ai.operation.name": "generate_content"}), res=GEMINI_RESOURCE)

    result = from_spans(claude + codex + gemini)

    assert result.usage == []
    assert result.ignored == Counter({"claude_code.llm_request": 1, "handle_responses": 1, "llm_call": 1})


def test_a_genai_log_event_and_the_span_of_the_same_call_share_one_id() -> None:
    details = {"event.name": "gen_ai.client.inference.operation.details", "gen_ai.operation.name": "chat",
               "gen_ai.request.model": "gpt-5", "gen_ai.response.model": "gpt-5-2026-01-01",
               "gen_ai.response.id": "chatcmpl-Abc123", "gen_ai.response.finish_reasons": ["stop"],
               "gen_ai.usage.input_tokens": 10000, "gen_ai.usage.output_tokens": 500}

    from_event = from_logs(logs(log(details, body="GenAI inference: gpt-5"), res=COPILOT_RESOURCE,
                                scope="copilot-chat")).usage
    from_span = from_spans(spans(span("chat gpt-5", CHAT))).usage

    assert [e.id for e in from_event] == [e.id for e in from_span] == ["genai:chatcmpl-Abc123"]
    assert [(e.tool, e.model, e.request_id, e.input_tokens, e.output_tokens) for e in from_event] == [
        ("copilot-chat", "gpt-5-2026-01-01", "chatcmpl-Abc123", 10000, 500)]


def test_copilot_agent_turn_events_are_ignored() -> None:
    turn = {"event.name": "copilot_chat.agent.turn", "turn.index": 3, "gen_ai.usage.input_tokens": 30000,
            "gen_ai.usage.output_tokens": 1500, "tool_call_count": 4}
    start = {"event.name": "copilot_chat.session.start", "session.id": "conv-42", "gen_ai.request.model": "gpt-5"}

    result = from_logs(logs(log(turn, body="copilot_chat.agent.turn: 3"),
                            log(start, body="copilot_chat.session.start"), res=COPILOT_RESOURCE, scope="copilot-chat"))

    assert result.usage == []
    assert result.ignored == Counter({"copilot_chat.agent.turn": 1, "copilot_chat.session.start": 1})
