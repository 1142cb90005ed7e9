"""OTLP/HTTP request bodies (protobuf or JSON) as plain records.

The receiver decodes an export request into flat records — a log record, a metric data point or a
span, each with its resource's and its own attributes as a dict — and `otel.py` maps those to events.
Both encodings land in the same records, so the mapping is written once.

The JSON form follows the OTLP/JSON rules: lowerCamelCase keys, 64-bit integers as strings (numbers
are accepted too), trace and span ids in hex.

A body that cannot be read as a request at all raises `InvalidEvent` (the receiver answers 400). In
JSON, one record can be malformed while the rest of the request is fine: it comes out as a
`Rejected` record, so the good ones are kept and the client is told how many were refused.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from ..errors import DECODE_ERRORS, InvalidEvent, json_problem
from . import otlp_view

Encoding = Literal["protobuf", "json"]
Temporality = Literal["delta", "cumulative", "unspecified"]
_TEMPORALITY: dict[int, Temporality] = {0: "unspecified", 1: "delta", 2: "cumulative"}


@dataclass
class LogRecord:
    resource: dict[str, Any]
    scope: str
    time_ns: int
    observed_ns: int
    body: Any
    attributes: Mapping[str, Any]
    """A dict from JSON; from protobuf, `otlp_view.Attributes` (values decoded when read: a value that
    cannot be raises `InvalidEvent` then)."""
    event_name: str = ""
    """The record's own `event_name` field (newer SDKs set it instead of, or besides, attributes)."""


@dataclass
class Rejected:
    """A record that could not be read; the others in its request are kept."""

    message: str


@dataclass
class MetricPoint:
    resource: dict[str, Any]
    scope: str
    name: str
    unit: str
    kind: Literal["sum", "gauge", "histogram", "other"]
    monotonic: bool
    temporality: Temporality
    attributes: dict[str, Any]
    start_ns: int
    time_ns: int
    value: float | int | None = None
    """A sum or gauge point's value; a histogram point's sum."""
    count: int | None = None
    """A histogram point's count."""


@dataclass
class Span:
    resource: dict[str, Any]
    scope: str
    name: str
    trace_id: str
    span_id: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)


# --- protobuf ---------------------------------------------------------------------------------------


def _pb_value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind == "int_value":
        return v.int_value
    if kind == "double_value":
        return v.double_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "bytes_value":
        return v.bytes_value.hex()
    if kind == "array_value":
        return [_pb_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in v.kvlist_value.values}
    return None


def _parse_pb(signal: str, body: bytes) -> Any:
    from google.protobuf.message import DecodeError

    try:
        return otlp_view.request_type(signal).FromString(body)
    except (DecodeError, RuntimeWarning, ValueError) as exc:
        raise InvalidEvent(f"not a valid OTLP protobuf message: {exc}") from None


def _pb_resource(resource: Any) -> dict[str, Any]:
    try:
        return otlp_view.attributes(resource.attributes)
    except InvalidEvent as exc:
        raise InvalidEvent(f"a resource attribute: {exc}") from None


def _logs_pb(body: bytes) -> Iterator[LogRecord | Rejected]:
    request = _parse_pb("logs", body)
    memo: dict[bytes, Any] = {}
    for rl in request.resource_logs:
        resource = _pb_resource(rl.resource)
        for sl in rl.scope_logs:
            scope = sl.scope.name
            for r in sl.log_records:
                attributes = otlp_view.Attributes(r.attributes, memo)
                text = r.body.string_value
                body_value = text if text else _pb_value(r.body) if r.HasField("body") else None
                yield LogRecord(resource, scope, r.time_unix_nano, r.observed_time_unix_nano, body_value,
                                attributes, r.event_name)


def _metrics_pb(body: bytes) -> Iterator[MetricPoint | Rejected]:
    request = _parse_pb("metrics", body)
    for rm in request.resource_metrics:
        resource = _pb_resource(rm.resource)
        for sm in rm.scope_metrics:
            scope = sm.scope.name
            for m in sm.metrics:
                data = m.WhichOneof("data")
                if data not in ("sum", "gauge", "histogram"):
                    yield MetricPoint(resource, scope, m.name, m.unit, "other", False, "unspecified", {}, 0, 0)
                    continue
                container = getattr(m, data)
                temporality = "unspecified" if data == "gauge" else _TEMPORALITY.get(
                    container.aggregation_temporality, "unspecified")
                for p in container.data_points:
                    try:
                        attributes = otlp_view.attributes(p.attributes)
                    except InvalidEvent as exc:
                        yield Rejected(f"a data point of {m.name or 'a metric'}: {exc}")
                        continue
                    if data == "histogram":
                        yield MetricPoint(resource, scope, m.name, m.unit, "histogram", True, temporality, attributes,
                                          p.start_time_unix_nano, p.time_unix_nano, p.sum, p.count)
                    else:
                        value = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                        yield MetricPoint(resource, scope, m.name, m.unit, data,
                                          container.is_monotonic if data == "sum" else False, temporality,
                                          attributes, p.start_time_unix_nano, p.time_unix_nano, value)


def _spans_pb(body: bytes) -> Iterator[Span | Rejected]:
    request = _parse_pb("traces", body)
    for rs in request.resource_spans:
        resource = _pb_resource(rs.resource)
        for ss in rs.scope_spans:
            scope = ss.scope.name
            for s in ss.spans:
                try:
                    yield Span(resource, scope, s.name, s.trace_id.hex(), s.span_id.hex(), s.start_time_unix_nano,
                               s.end_time_unix_nano, otlp_view.attributes(s.attributes))
                except InvalidEvent as exc:
                    yield Rejected(f"a span: {exc}")


# --- JSON -------------------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _int(value: Any, where: str) -> int:
    """OTLP/JSON writes 64-bit integers as strings; some clients write numbers."""
    return _number(int, value, where, "an integer")


def _float(value: Any, where: str) -> float:
    """A double: a JSON number, or a string such as "1.5" or "NaN" (the protobuf JSON mapping)."""
    return _number(float, value, where, "a number")


def _number(kind: Any, value: Any, where: str, what: str) -> Any:
    if value is None or value == "":
        return kind(0)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InvalidEvent(f"`{where}` must be {what}, got {value!r}", field=where) from None


def _bytes(value: Any) -> str:
    """OTLP/JSON writes `bytesValue` in base64 (standard or URL-safe); hex, as the protobuf decoder gives."""
    if not isinstance(value, str):
        raise InvalidEvent(f"`bytesValue` must be a base64 string, got {_kind(value)}", field="bytesValue")
    text = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True).hex()
    except (binascii.Error, ValueError):
        raise InvalidEvent(f"`bytesValue` must be base64, got {value!r}", field="bytesValue") from None


def _json_value(v: Any) -> Any:
    if not isinstance(v, dict):
        return None
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return _int(v["intValue"], "intValue")
    if "doubleValue" in v:
        return _float(v["doubleValue"], "doubleValue")
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "bytesValue" in v:
        return _bytes(v["bytesValue"])
    if "arrayValue" in v:
        return [_json_value(x) for x in _list(_object(v["arrayValue"] or {}, "arrayValue"), "values")]
    if "kvlistValue" in v:
        return _json_attrs(_object(v["kvlistValue"] or {}, "kvlistValue").get("values"))
    return None


def _json_attrs(attributes: Any) -> dict[str, Any]:
    if not attributes:
        return {}
    if not isinstance(attributes, list):
        raise InvalidEvent("`attributes` must be a list of {key, value}", field="attributes")
    out = {}
    for kv in attributes:
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise InvalidEvent("an attribute needs a string `key`", field="attributes")
        out[kv["key"]] = _json_value(kv.get("value"))
    return out


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidEvent(f"`{where}` must be an object, got {_kind(value)}", field=where)
    return value


def _list(obj: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """`obj[key]`, a list of objects (absent or null: empty)."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidEvent(f"`{key}` must be a list, got {_kind(value)}", field=key)
    for item in value:
        if not isinstance(item, dict):
            raise InvalidEvent(f"each entry of `{key}` must be an object, got {_kind(item)}", field=key)
    return value


def _json(body: bytes) -> dict[str, Any]:
    try:
        obj = msgspec.json.decode(body)
    except DECODE_ERRORS as exc:
        raise InvalidEvent(f"not valid OTLP JSON: {json_problem(exc)}") from None
    if not isinstance(obj, dict):
        raise InvalidEvent("an OTLP JSON request must be an object")
    return obj


def _scope(obj: dict[str, Any]) -> str:
    scope = _object(obj.get("scope") or {}, "scope")
    return str(scope.get("name") or "")


def _resource(obj: dict[str, Any]) -> dict[str, Any]:
    return _json_attrs(_object(obj.get("resource") or {}, "resource").get("attributes"))


def _logs_json(body: bytes) -> Iterator[LogRecord | Rejected]:
    for rl in _list(_json(body), "resourceLogs"):
        resource = _resource(rl)
        for sl in _list(rl, "scopeLogs"):
            scope = _scope(sl)
            for r in _list(sl, "logRecords"):
                try:
                    yield LogRecord(resource, scope, _int(r.get("timeUnixNano"), "timeUnixNano"),
                                    _int(r.get("observedTimeUnixNano"), "observedTimeUnixNano"),
                                    _json_value(r.get("body")), _json_attrs(r.get("attributes")),
                                    str(r.get("eventName") or ""))
                except InvalidEvent as exc:
                    yield Rejected(f"a log record: {exc}")


_JSON_TEMPORALITY = {"AGGREGATION_TEMPORALITY_DELTA": 1, "AGGREGATION_TEMPORALITY_CUMULATIVE": 2}


def _temporality(value: Any) -> Temporality:
    number = _JSON_TEMPORALITY.get(value, value) if isinstance(value, str) else value
    return _TEMPORALITY.get(number if isinstance(number, int) else 0, "unspecified")


def _metrics_json(body: bytes) -> Iterator[MetricPoint | Rejected]:
    for rm in _list(_json(body), "resourceMetrics"):
        resource = _resource(rm)
        for sm in _list(rm, "scopeMetrics"):
            for m in _list(sm, "metrics"):
                name, unit = str(m.get("name", "")), str(m.get("unit", ""))
                for data in ("sum", "gauge", "histogram"):
                    if isinstance(m.get(data), dict):
                        break
                else:
                    yield MetricPoint(resource, _scope(sm), name, unit, "other", False, "unspecified", {}, 0, 0)
                    continue
                container = m[data]
                temporality = _temporality(container.get("aggregationTemporality")) if data != "gauge" \
                    else "unspecified"
                for p in _list(container, "dataPoints"):
                    try:
                        yield _json_point(p, resource, _scope(sm), name, unit, data, container, temporality)
                    except InvalidEvent as exc:
                        yield Rejected(f"a data point of {name or 'a metric'}: {exc}")


def _json_point(p: dict[str, Any], resource: dict[str, Any], scope: str, name: str, unit: str, data: str,
                container: dict[str, Any], temporality: Temporality) -> MetricPoint:
    common = dict(attributes=_json_attrs(p.get("attributes")),
                  start_ns=_int(p.get("startTimeUnixNano"), "startTimeUnixNano"),
                  time_ns=_int(p.get("timeUnixNano"), "timeUnixNano"))
    if data == "histogram":
        return MetricPoint(resource, scope, name, unit, "histogram", True, temporality,
                           value=_float(p.get("sum"), "sum"), count=_int(p.get("count"), "count"), **common)
    value = _int(p["asInt"], "asInt") if "asInt" in p else _float(p.get("asDouble"), "asDouble")
    return MetricPoint(resource, scope, name, unit, data,  # type: ignore[arg-type]
                       bool(container.get("isMonotonic")) if data == "sum" else False, temporality, value=value,
                       **common)


def _spans_json(body: bytes) -> Iterator[Span | Rejected]:
    for rs in _list(_json(body), "resourceSpans"):
        resource = _resource(rs)
        for ss in _list(rs, "scopeSpans"):
            scope = _scope(ss)
            for s in _list(ss, "spans"):
                try:
                    yield Span(resource, scope, str(s.get("name", "")), str(s.get("traceId", "")),
                               str(s.get("spanId", "")), _int(s.get("startTimeUnixNano"), "startTimeUnixNano"),
                               _int(s.get("endTimeUnixNano"), "endTimeUnixNano"), _json_attrs(s.get("attributes")))
                except InvalidEvent as exc:
                    yield Rejected(f"a span: {exc}")


# --- entry points -----------------------------------------------------------------------------------

_DECODERS = {
    ("logs", "protobuf"): _logs_pb, ("logs", "json"): _logs_json,
    ("metrics", "protobuf"): _metrics_pb, ("metrics", "json"): _metrics_json,
    ("traces", "protobuf"): _spans_pb, ("traces", "json"): _spans_json,
}


def decode(signal: Literal["logs", "metrics", "traces"], body: bytes, encoding: Encoding) -> list[Any]:
    """All records of one export request (malformed ones as `Rejected`); raises `InvalidEvent` if the body
    cannot be decoded as a request at all."""
    return list(_DECODERS[(signal, encoding)](body))
