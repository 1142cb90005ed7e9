"""OTLP/HTTP request bodies -> flat records (`tokenpulse.sources.otlp.decode`).

Protobuf bodies are built with the `opentelemetry-proto` message classes and serialized with
`SerializeToString()`; the OTLP/JSON bodies are written by hand per the OTLP spec (lowerCamelCase keys,
int64 as strings — numbers accepted too —, `bytesValue` in base64, trace and span ids in hex). Covered:
every AnyValue kind, resource attributes and scope name on each record, times and bodies of log
records, sums (delta and cumulative, monotonic or not), gauges, histograms (sum and count), metric kinds
we do not read, span ids in hex, and that both encodings give the same records. Bad bodies — truncated
or random protobuf, JSON that is not an object, a list where an object belongs (and the reverse), a
non-integer `timeUnixNano`, attributes that are not a list, bad base64 — raise `InvalidEvent` with a
message that names the problem.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as PbLogRecord
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs, ScopeLogs
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from tokenpulse.errors import InvalidEvent
from tokenpulse.sources.otlp import LogRecord, MetricPoint, Rejected, Span, decode

T_START = 1_772_359_145_000_000_000  # 2026-03-01T09:59:05Z
T_LOG = 1_772_359_205_250_000_000  # 2026-03-01T10:00:05.250Z
T_OBSERVED = 1_772_359_205_300_000_000
T_END = 1_772_359_206_000_000_000

CLAUDE_RESOURCE = {"service.name": "claude-code", "service.version": "2.1.294", "team.id": "payments"}
CLAUDE_RESOURCE_PB = [KeyValue(key="service.name", value=AnyValue(string_value="claude-code")),
                      KeyValue(key="service.version", value=AnyValue(string_value="2.1.294")),
                      KeyValue(key="team.id", value=AnyValue(string_value="payments"))]
CLAUDE_RESOURCE_JSON = {"attributes": [
    {"key": "service.name", "value": {"stringValue": "claude-code"}},
    {"key": "service.version", "value": {"stringValue": "2.1.294"}},
    {"key": "team.id", "value": {"stringValue": "payments"}}]}


def pb_kv(key: str, **value: Any) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))


def json_body(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def invalid(signal: str, body: bytes, encoding: str) -> str:
    with pytest.raises(InvalidEvent) as caught:
        decode(signal, body, encoding)  # type: ignore[arg-type]
    return str(caught.value)


# --- logs -------------------------------------------------------------------------------------------

# One attribute of every AnyValue kind, and what each decodes to.
EVERY_KIND = {
    "s": "claude_code.api_request",
    "i": 9_007_199_254_740_993,  # above 2**53: only exact if int64 is not read through a double
    "neg": -7,
    "d": 0.00276519,
    "b_true": True,
    "b_false": False,
    "raw": "00ff10fe",  # bytes come out as hex
    "arr": ["Edit", 3, 1.5, False],
    "kv": {"model": "claude-sonnet-5", "tokens": 12, "nested": {"ok": True}},
}


def every_kind_pb() -> list[KeyValue]:
    return [
        pb_kv("s", string_value="claude_code.api_request"),
        pb_kv("i", int_value=9_007_199_254_740_993),
        pb_kv("neg", int_value=-7),
        pb_kv("d", double_value=0.00276519),
        pb_kv("b_true", bool_value=True),
        pb_kv("b_false", bool_value=False),
        pb_kv("raw", bytes_value=bytes.fromhex("00ff10fe")),
        pb_kv("arr", array_value=ArrayValue(values=[
            AnyValue(string_value="Edit"), AnyValue(int_value=3), AnyValue(double_value=1.5),
            AnyValue(bool_value=False)])),
        pb_kv("kv", kvlist_value=KeyValueList(values=[
            pb_kv("model", string_value="claude-sonnet-5"), pb_kv("tokens", int_value=12),
            pb_kv("nested", kvlist_value=KeyValueList(values=[pb_kv("ok", bool_value=True)]))])),
    ]


def every_kind_json() -> list[dict[str, Any]]:
    return [
        {"key": "s", "value": {"stringValue": "claude_code.api_request"}},
        {"key": "i", "value": {"intValue": "9007199254740993"}},
        {"key": "neg", "value": {"intValue": "-7"}},
        {"key": "d", "value": {"doubleValue": 0.00276519}},
        {"key": "b_true", "value": {"boolValue": True}},
        {"key": "b_false", "value": {"boolValue": False}},
        {"key": "raw", "value": {"bytesValue": "AP8Q/g=="}},
        {"key": "arr", "value": {"arrayValue": {"values": [
            {"stringValue": "Edit"}, {"intValue": "3"}, {"doubleValue": 1.5}, {"boolValue": False}]}}},
        {"key": "kv", "value": {"kvlistValue": {"values": [
            {"key": "model", "value": {"stringValue": "claude-sonnet-5"}},
            {"key": "tokens", "value": {"intValue": 12}},
            {"key": "nested", "value": {"kvlistValue": {"values": [
                {"key": "ok", "value": {"boolValue": True}}]}}}]}}},
    ]


def logs_pb(records: list[PbLogRecord], scope: str = "com.anthropic.claude_code.events") -> bytes:
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(
        resource=Resource(attributes=CLAUDE_RESOURCE_PB),
        scope_logs=[ScopeLogs(scope=InstrumentationScope(name=scope, version="2.1.294"),
                              log_records=records)])]).SerializeToString()


def logs_json(records: list[dict[str, Any]], scope: str = "com.anthropic.claude_code.events") -> bytes:
    return json_body({"resourceLogs": [{"resource": CLAUDE_RESOURCE_JSON, "scopeLogs": [
        {"scope": {"name": scope, "version": "2.1.294"}, "logRecords": records}]}]})


def test_protobuf_log_record_decodes_every_any_value_kind() -> None:
    body = logs_pb([PbLogRecord(time_unix_nano=T_LOG, observed_time_unix_nano=T_OBSERVED,
                                body=AnyValue(string_value="claude_code.api_request"),
                                attributes=every_kind_pb())])

    assert decode("logs", body, "protobuf") == [LogRecord(
        resource=CLAUDE_RESOURCE, scope="com.anthropic.claude_code.events", time_ns=T_LOG,
        observed_ns=T_OBSERVED, body="claude_code.api_request", attributes=EVERY_KIND)]


def test_json_log_record_decodes_every_any_value_kind() -> None:
    body = logs_json([{"timeUnixNano": str(T_LOG), "observedTimeUnixNano": str(T_OBSERVED),
                       "body": {"stringValue": "claude_code.api_request"}, "attributes": every_kind_json()}])

    assert decode("logs", body, "json") == [LogRecord(
        resource=CLAUDE_RESOURCE, scope="com.anthropic.claude_code.events", time_ns=T_LOG,
        observed_ns=T_OBSERVED, body="claude_code.api_request", attributes=EVERY_KIND)]


def test_the_same_logs_in_protobuf_and_json_give_the_same_records() -> None:
    pb = logs_pb([
        PbLogRecord(time_unix_nano=T_LOG, body=AnyValue(string_value="claude_code.user_prompt"),
                    attributes=[pb_kv("prompt_length", int_value=42)]),
        PbLogRecord(time_unix_nano=T_LOG + 1, attributes=every_kind_pb()),
    ])
    js = logs_json([
        {"timeUnixNano": T_LOG, "body": {"stringValue": "claude_code.user_prompt"},  # int64 as a number
         "attributes": [{"key": "prompt_length", "value": {"intValue": 42}}]},
        {"timeUnixNano": str(T_LOG + 1), "attributes": every_kind_json()},
    ])

    from_pb, from_json = decode("logs", pb, "protobuf"), decode("logs", js, "json")

    assert from_pb == from_json
    assert [(r.time_ns, r.body) for r in from_json] == [(T_LOG, "claude_code.user_prompt"), (T_LOG + 1, None)]


def test_json_bytes_value_accepts_url_safe_base64_without_padding() -> None:
    body = logs_json([{"timeUnixNano": "1", "attributes": [
        {"key": "raw", "value": {"bytesValue": "AP8Q_g"}}]}])

    assert decode("logs", body, "json")[0].attributes == {"raw": "00ff10fe"}


def test_non_string_log_body_is_decoded_as_its_value() -> None:
    pb = logs_pb([PbLogRecord(time_unix_nano=T_LOG, body=AnyValue(kvlist_value=KeyValueList(
        values=[pb_kv("message", string_value="hello"), pb_kv("n", int_value=2)])))])
    js = logs_json([{"timeUnixNano": str(T_LOG), "body": {"kvlistValue": {"values": [
        {"key": "message", "value": {"stringValue": "hello"}}, {"key": "n", "value": {"intValue": "2"}}]}}}])

    assert decode("logs", pb, "protobuf")[0].body == {"message": "hello", "n": 2}
    assert decode("logs", js, "json")[0].body == {"message": "hello", "n": 2}


def test_each_record_carries_its_own_resource_and_scope() -> None:
    body = ExportLogsServiceRequest(resource_logs=[
        ResourceLogs(resource=Resource(attributes=[pb_kv("service.name", string_value="claude-code")]),
                     scope_logs=[ScopeLogs(scope=InstrumentationScope(name="com.anthropic.claude_code.events"),
                                           log_records=[PbLogRecord(time_unix_nano=1)])]),
        ResourceLogs(resource=Resource(attributes=[pb_kv("service.name", string_value="gemini-cli")]),
                     scope_logs=[ScopeLogs(scope=InstrumentationScope(name="gemini-cli"),
                                           log_records=[PbLogRecord(time_unix_nano=2), PbLogRecord(time_unix_nano=3)]),
                                 ScopeLogs(log_records=[PbLogRecord(time_unix_nano=4)])]),
    ]).SerializeToString()

    records = decode("logs", body, "protobuf")

    assert [(r.resource, r.scope, r.time_ns) for r in records] == [
        ({"service.name": "claude-code"}, "com.anthropic.claude_code.events", 1),
        ({"service.name": "gemini-cli"}, "gemini-cli", 2),
        ({"service.name": "gemini-cli"}, "gemini-cli", 3),
        ({"service.name": "gemini-cli"}, "", 4),
    ]


def test_an_empty_request_has_no_records() -> None:
    assert decode("logs", b"", "protobuf") == []
    assert decode("logs", b"{}", "json") == []
    assert decode("metrics", b'{"resourceMetrics": []}', "json") == []
    assert decode("traces", ExportTraceServiceRequest().SerializeToString(), "protobuf") == []


# --- metrics ----------------------------------------------------------------------------------------

DELTA, CUMULATIVE = metrics_pb2.AGGREGATION_TEMPORALITY_DELTA, metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
SESSION_PB = [pb_kv("session.id", string_value="s-1")]
SESSION_JSON = [{"key": "session.id", "value": {"stringValue": "s-1"}}]


def metrics_pb(metrics: list[metrics_pb2.Metric]) -> bytes:
    return ExportMetricsServiceRequest(resource_metrics=[metrics_pb2.ResourceMetrics(
        resource=Resource(attributes=CLAUDE_RESOURCE_PB),
        scope_metrics=[metrics_pb2.ScopeMetrics(scope=InstrumentationScope(name="com.anthropic.claude_code"),
                                                metrics=metrics)])]).SerializeToString()


def metrics_json(metrics: list[dict[str, Any]]) -> bytes:
    return json_body({"resourceMetrics": [{"resource": CLAUDE_RESOURCE_JSON, "scopeMetrics": [
        {"scope": {"name": "com.anthropic.claude_code"}, "metrics": metrics}]}]})


def point(name: str, unit: str, kind: str, monotonic: bool, temporality: str, attributes: dict[str, Any],
          value: float | int | None, count: int | None = None) -> MetricPoint:
    return MetricPoint(resource=CLAUDE_RESOURCE, scope="com.anthropic.claude_code", name=name, unit=unit,
                       kind=kind, monotonic=monotonic, temporality=temporality,  # type: ignore[arg-type]
                       attributes=attributes, start_ns=T_START, time_ns=T_END, value=value, count=count)


EXPECTED_METRICS = [
    point("claude_code.commit.count", "", "sum", True, "delta", {"session.id": "s-1"}, 2),
    point("claude_code.lines_of_code.count", "", "sum", True, "delta",
          {"session.id": "s-1", "type": "added"}, 120),
    point("claude_code.lines_of_code.count", "", "sum", True, "delta",
          {"session.id": "s-1", "type": "removed"}, 30),
    point("claude_code.active_time.total", "s", "sum", True, "cumulative", {"type": "user"}, 12.5),
    point("queue.depth", "", "sum", False, "cumulative", {}, -3),
    point("process.memory", "By", "gauge", False, "unspecified", {}, 1048576.0),
    point("gen_ai.client.token.usage", "{token}", "histogram", True, "delta",
          {"gen_ai.token.type": "input"}, 1536.0, 4),
]


def test_protobuf_metrics_decode_sums_gauges_and_histograms() -> None:
    Metric, Sum, Gauge, Histogram = metrics_pb2.Metric, metrics_pb2.Sum, metrics_pb2.Gauge, metrics_pb2.Histogram
    NumberDataPoint, HistogramDataPoint = metrics_pb2.NumberDataPoint, metrics_pb2.HistogramDataPoint

    def number(attrs: list[KeyValue], **value: Any) -> metrics_pb2.NumberDataPoint:
        return NumberDataPoint(attributes=attrs, start_time_unix_nano=T_START, time_unix_nano=T_END, **value)

    body = metrics_pb([
        Metric(name="claude_code.commit.count", sum=Sum(
            aggregation_temporality=DELTA, is_monotonic=True, data_points=[number(SESSION_PB, as_int=2)])),
        Metric(name="claude_code.lines_of_code.count", sum=Sum(
            aggregation_temporality=DELTA, is_monotonic=True, data_points=[
                number([*SESSION_PB, pb_kv("type", string_value="added")], as_int=120),
                number([*SESSION_PB, pb_kv("type", string_value="removed")], as_int=30)])),
        Metric(name="claude_code.active_time.total", unit="s", sum=Sum(
            aggregation_temporality=CUMULATIVE, is_monotonic=True,
            data_points=[number([pb_kv("type", string_value="user")], as_double=12.5)])),
        Metric(name="queue.depth", sum=Sum(aggregation_temporality=CUMULATIVE, is_monotonic=False,
                                           data_points=[number([], as_int=-3)])),
        Metric(name="process.memory", unit="By", gauge=Gauge(data_points=[number([], as_double=1048576.0)])),
        Metric(name="gen_ai.client.token.usage", unit="{token}", histogram=Histogram(
            aggregation_temporality=DELTA, data_points=[HistogramDataPoint(
                attributes=[pb_kv("gen_ai.token.type", string_value="input")], start_time_unix_nano=T_START,
                time_unix_nano=T_END, count=4, sum=1536.0, bucket_counts=[0, 4], explicit_bounds=[256.0])])),
    ])

    assert decode("metrics", body, "protobuf") == EXPECTED_METRICS


def test_json_metrics_decode_to_the_same_points_as_protobuf() -> None:
    def number(attrs: list[dict[str, Any]], **value: Any) -> dict[str, Any]:
        return {"attributes": attrs, "startTimeUnixNano": str(T_START), "timeUnixNano": str(T_END), **value}

    body = metrics_json([
        # temporality as the enum's number, int64 as a string
        {"name": "claude_code.commit.count", "sum": {"aggregationTemporality": 1, "isMonotonic": True,
                                                     "dataPoints": [number(SESSION_JSON, asInt="2")]}},
        # ... and as the enum's name, int64 as a number
        {"name": "claude_code.lines_of_code.count", "sum": {
            "aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA", "isMonotonic": True, "dataPoints": [
                number([*SESSION_JSON, {"key": "type", "value": {"stringValue": "added"}}], asInt=120),
                number([*SESSION_JSON, {"key": "type", "value": {"stringValue": "removed"}}], asInt="30")]}},
        {"name": "claude_code.active_time.total", "unit": "s", "sum": {
            "aggregationTemporality": "AGGREGATION_TEMPORALITY_CUMULATIVE", "isMonotonic": True,
            "dataPoints": [number([{"key": "type", "value": {"stringValue": "user"}}], asDouble=12.5)]}},
        {"name": "queue.depth", "sum": {"aggregationTemporality": 2,
                                        "dataPoints": [number([], asInt="-3")]}},
        {"name": "process.memory", "unit": "By", "gauge": {"dataPoints": [number([], asDouble=1048576)]}},
        {"name": "gen_ai.client.token.usage", "unit": "{token}", "histogram": {
            "aggregationTemporality": 1, "dataPoints": [{
                "attributes": [{"key": "gen_ai.token.type", "value": {"stringValue": "input"}}],
                "startTimeUnixNano": str(T_START), "timeUnixNano": str(T_END), "count": "4", "sum": 1536,
                "bucketCounts": ["0", "4"], "explicitBounds": [256]}]}},
    ])

    points = decode("metrics", body, "json")

    assert points == EXPECTED_METRICS
    assert [type(p.value) for p in points] == [int, int, int, float, int, float, float]


def test_metric_kinds_not_read_are_reported_as_other() -> None:
    pb = metrics_pb([metrics_pb2.Metric(name="latency", summary=metrics_pb2.Summary(data_points=[
        metrics_pb2.SummaryDataPoint(count=3, sum=1.5, time_unix_nano=T_END)]))])
    js = metrics_json([{"name": "latency", "exponentialHistogram": {"dataPoints": [{"count": "3"}]}}])

    other = MetricPoint(resource=CLAUDE_RESOURCE, scope="com.anthropic.claude_code", name="latency", unit="",
                        kind="other", monotonic=False, temporality="unspecified", attributes={}, start_ns=0,
                        time_ns=0)
    assert decode("metrics", pb, "protobuf") == [other]
    assert decode("metrics", js, "json") == [other]


# --- traces -----------------------------------------------------------------------------------------

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"


def test_protobuf_span_ids_come_out_as_hex() -> None:
    body = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=Resource(attributes=[pb_kv("service.name", string_value="copilot-chat")]),
        scope_spans=[ScopeSpans(scope=InstrumentationScope(name="copilot-chat"), spans=[PbSpan(
            trace_id=bytes.fromhex(TRACE_ID), span_id=bytes.fromhex(SPAN_ID), name="chat gpt-4o",
            start_time_unix_nano=T_START, end_time_unix_nano=T_END,
            attributes=[pb_kv("gen_ai.operation.name", string_value="chat"),
                        pb_kv("gen_ai.usage.input_tokens", int_value=1200),
                        pb_kv("gen_ai.response.finish_reasons", array_value=ArrayValue(
                            values=[AnyValue(string_value="stop")]))])])])]).SerializeToString()

    assert decode("traces", body, "protobuf") == [Span(
        resource={"service.name": "copilot-chat"}, scope="copilot-chat", name="chat gpt-4o", trace_id=TRACE_ID,
        span_id=SPAN_ID, start_ns=T_START, end_ns=T_END,
        attributes={"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 1200,
                    "gen_ai.response.finish_reasons": ["stop"]})]


def test_json_spans_decode_to_the_same_records_as_protobuf() -> None:
    pb = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=Resource(attributes=[pb_kv("service.name", string_value="copilot-chat")]),
        scope_spans=[ScopeSpans(scope=InstrumentationScope(name="copilot-chat"), spans=[
            PbSpan(trace_id=bytes.fromhex(TRACE_ID), span_id=bytes.fromhex(SPAN_ID), name="invoke_agent",
                   start_time_unix_nano=T_START, end_time_unix_nano=T_END,
                   attributes=[pb_kv("gen_ai.operation.name", string_value="invoke_agent")]),
            PbSpan(trace_id=bytes.fromhex(TRACE_ID), span_id=bytes.fromhex("0102030405060708"),
                   parent_span_id=bytes.fromhex(SPAN_ID), name="chat", start_time_unix_nano=T_START + 5,
                   end_time_unix_nano=T_END - 5)])])]).SerializeToString()
    js = json_body({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "copilot-chat"}}]}, "scopeSpans": [{
            "scope": {"name": "copilot-chat"}, "spans": [
                {"traceId": TRACE_ID, "spanId": SPAN_ID, "name": "invoke_agent", "kind": 1,
                 "startTimeUnixNano": str(T_START), "endTimeUnixNano": str(T_END),
                 "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}}]},
                {"traceId": TRACE_ID, "spanId": "0102030405060708", "parentSpanId": SPAN_ID, "name": "chat",
                 "startTimeUnixNano": T_START + 5, "endTimeUnixNano": str(T_END - 5)}]}]}]})

    from_pb = decode("traces", pb, "protobuf")

    assert from_pb == decode("traces", js, "json")
    assert [(s.name, s.trace_id, s.span_id, s.start_ns, s.end_ns) for s in from_pb] == [
        ("invoke_agent", TRACE_ID, SPAN_ID, T_START, T_END),
        ("chat", TRACE_ID, "0102030405060708", T_START + 5, T_END - 5),
    ]


# --- bad bodies -------------------------------------------------------------------------------------


def test_truncated_protobuf_is_rejected() -> None:
    whole = logs_pb([PbLogRecord(time_unix_nano=T_LOG, attributes=every_kind_pb())])

    message = invalid("logs", whole[: len(whole) // 2], "protobuf")

    assert message.startswith("not a valid OTLP protobuf message: ")


@pytest.mark.parametrize("signal", ["logs", "metrics", "traces"])
def test_random_bytes_are_not_a_protobuf_request(signal: str) -> None:
    assert invalid(signal, b"\xff\xff\xff\xff\x07garbage", "protobuf").startswith(
        "not a valid OTLP protobuf message: ")


def test_a_json_body_sent_as_protobuf_is_rejected() -> None:
    assert invalid("logs", logs_json([]), "protobuf").startswith("not a valid OTLP protobuf message: ")


def test_json_that_does_not_parse_is_rejected() -> None:
    assert invalid("logs", b'{"resourceLogs": [', "json").startswith("not valid OTLP JSON: ")


@pytest.mark.parametrize("body", [b"[]", b'"resourceLogs"', b"42", b"null"])
def test_json_that_is_not_an_object_is_rejected(body: bytes) -> None:
    assert invalid("logs", body, "json") == "an OTLP JSON request must be an object"


def test_a_list_where_a_resource_entry_belongs_is_rejected() -> None:
    message = invalid("logs", json_body({"resourceLogs": [[{"scopeLogs": []}]]}), "json")

    assert message == "each entry of `resourceLogs` must be an object, got a list"


def test_a_list_where_a_log_record_belongs_is_rejected() -> None:
    message = invalid("logs", logs_json([["timeUnixNano", "1"]]), "json")  # type: ignore[list-item]

    assert message == "each entry of `logRecords` must be an object, got a list"


def test_a_list_where_a_data_point_belongs_is_rejected() -> None:
    body = metrics_json([{"name": "claude_code.commit.count", "sum": {"dataPoints": [[1]]}}])

    assert invalid("metrics", body, "json") == "each entry of `dataPoints` must be an object, got a list"


def test_a_list_where_the_resource_belongs_is_rejected() -> None:
    body = json_body({"resourceSpans": [{"resource": [{"key": "service.name"}], "scopeSpans": []}]})

    assert invalid("traces", body, "json") == "`resource` must be an object, got a list"


def test_an_object_where_a_list_belongs_is_rejected() -> None:
    body = json_body({"resourceMetrics": [{"scopeMetrics": {"metrics": []}}]})

    assert invalid("metrics", body, "json") == "`scopeMetrics` must be a list, got an object"


# A malformed record in an otherwise good JSON request is refused alone: the others are kept.

GOOD_LOG = {"timeUnixNano": "1", "body": {"stringValue": "claude_code.api_request"}}


def refused(signal: str, body: bytes) -> tuple[list[str], int]:
    """(messages of the records refused, how many records were kept)."""
    records = decode(signal, body, "json")  # type: ignore[arg-type]
    return [r.message for r in records if isinstance(r, Rejected)], sum(not isinstance(r, Rejected) for r in records)


def test_a_non_integer_time_unix_nano_refuses_that_record_only() -> None:
    body = logs_json([GOOD_LOG, {"timeUnixNano": "2026-03-01T10:00:05Z"}, GOOD_LOG])

    assert refused("logs", body) == (
        ["a log record: `timeUnixNano` must be an integer, got '2026-03-01T10:00:05Z'"], 2)


def test_a_non_integer_span_end_time_refuses_that_span_only() -> None:
    body = json_body({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"name": "chat", "startTimeUnixNano": "1", "endTimeUnixNano": "1.5e18"},
        {"name": "chat", "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]})

    assert refused("traces", body) == (["a span: `endTimeUnixNano` must be an integer, got '1.5e18'"], 1)


def test_attributes_that_are_not_a_list_refuse_the_record() -> None:
    body = logs_json([{"timeUnixNano": "1", "attributes": {"session.id": "s-1"}}, GOOD_LOG])

    assert refused("logs", body) == (["a log record: `attributes` must be a list of {key, value}"], 1)


def test_an_attribute_without_a_string_key_refuses_the_record() -> None:
    body = logs_json([{"timeUnixNano": "1", "attributes": [{"value": {"stringValue": "x"}}]}, GOOD_LOG])

    assert refused("logs", body) == (["a log record: an attribute needs a string `key`"], 1)


def test_a_non_integer_int_value_refuses_the_record() -> None:
    body = logs_json([{"timeUnixNano": "1", "attributes": [{"key": "input_tokens", "value": {"intValue": "12.5"}}]},
                      GOOD_LOG])

    assert refused("logs", body) == (["a log record: `intValue` must be an integer, got '12.5'"], 1)


def test_bytes_value_that_is_not_base64_refuses_the_record() -> None:
    body = logs_json([{"timeUnixNano": "1", "attributes": [{"key": "raw", "value": {"bytesValue": "not base64!"}}]},
                      GOOD_LOG])

    assert refused("logs", body) == (["a log record: `bytesValue` must be base64, got 'not base64!'"], 1)


def test_a_non_numeric_double_data_point_refuses_that_point_only() -> None:
    body = metrics_json([{"name": "claude_code.active_time.total", "sum": {
        "aggregationTemporality": 1, "dataPoints": [{"timeUnixNano": "1", "asDouble": "twelve"},
                                                    {"timeUnixNano": "2", "asDouble": 1.5}]}}])

    assert refused("metrics", body) == (
        ["a data point of claude_code.active_time.total: `asDouble` must be a number, got 'twelve'"], 1)


def test_the_event_name_field_of_a_record_is_read() -> None:
    (record,) = decode("logs", logs_json([{"timeUnixNano": "1", "eventName": "claude_code.api_request"}]), "json")

    assert record.event_name == "claude_code.api_request"
