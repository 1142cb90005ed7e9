"""The wire-compatible views of OTLP requests: the same bytes, attributes read as raw values on demand."""

from __future__ import annotations

import math

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

from tokenpulse.errors import InvalidEvent
from tokenpulse.sources import otlp_view
from tokenpulse.sources.otlp import _pb_value

VALUES = [
    AnyValue(string_value=""), AnyValue(string_value="claude-sonnet-4-5"), AnyValue(string_value="é" * 100),
    AnyValue(string_value="x" * 300), AnyValue(int_value=0), AnyValue(int_value=127), AnyValue(int_value=128),
    AnyValue(int_value=2**53 + 1), AnyValue(int_value=-1), AnyValue(int_value=-(2**63)), AnyValue(double_value=0.0),
    AnyValue(double_value=0.00276519), AnyValue(double_value=-1e300), AnyValue(bool_value=True),
    AnyValue(bool_value=False), AnyValue(bytes_value=b"\x00\xff"),
    AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="a"), AnyValue(int_value=2)])),
    AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="k", value=AnyValue(string_value="v"))])),
    AnyValue(),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: v.WhichOneof("value") or "empty")
def test_any_value_reads_every_kind_as_protobuf_does(value: AnyValue) -> None:
    assert otlp_view.any_value(value.SerializeToString()) == _pb_value(value)


def test_nan_survives() -> None:
    assert math.isnan(otlp_view.any_value(AnyValue(double_value=math.nan).SerializeToString()))


def test_a_string_that_is_not_utf8_is_refused_when_read() -> None:
    with pytest.raises(InvalidEvent, match="not valid UTF-8"):
        otlp_view.any_value(b"\x0a\x02\xff\xfe")


def test_the_view_parses_the_official_messages_bytes() -> None:
    record = LogRecord(time_unix_nano=5, event_name="claude_code.api_request", attributes=[
        KeyValue(key="model", value=AnyValue(string_value="claude-haiku-4-5")),
        KeyValue(key="input_tokens", value=AnyValue(int_value=1200))])
    body = ExportLogsServiceRequest(resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(log_records=[record])])])
    view = otlp_view.request_type("logs").FromString(body.SerializeToString())
    (parsed,) = view.resource_logs[0].scope_logs[0].log_records
    assert (parsed.time_unix_nano, parsed.event_name) == (5, "claude_code.api_request")

    attributes = otlp_view.Attributes(parsed.attributes, {})
    assert dict(attributes) == {"model": "claude-haiku-4-5", "input_tokens": 1200}
    merged = attributes.over({"model": "from the resource", "team": "payments"})
    assert (merged["model"], merged.get("team"), merged.get("absent", "default")) == (
        "claude-haiku-4-5", "payments", "default")
    assert "team" in merged and "absent" not in merged
    assert sorted(merged) == ["input_tokens", "model", "team"] and len(merged) == 3
    with pytest.raises(KeyError):
        merged["absent"]


def test_one_request_decodes_a_repeated_value_once() -> None:
    memo: dict[bytes, object] = {}
    raw = {"model": AnyValue(string_value="claude-haiku-4-5").SerializeToString()}
    first, second = otlp_view.Attributes(raw, memo), otlp_view.Attributes(dict(raw), memo)
    assert first["model"] is second["model"]
    assert memo == {raw["model"]: "claude-haiku-4-5"}
