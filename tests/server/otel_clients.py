"""The OpenTelemetry Python SDK's own OTLP/HTTP exporters, pointed at a collector.

The SDK ships protobuf exporters only; for OTLP/JSON the same exporter's request is re-encoded as the
OTLP JSON mapping (lowerCamelCase names, 64-bit integers as strings, ids in hex) just before it is
sent, so everything else — batching, headers, compression, retries — is the SDK's.
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

_REQUESTS = {"logs": ExportLogsServiceRequest, "metrics": ExportMetricsServiceRequest,
             "traces": ExportTraceServiceRequest}


def _hex_ids(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str)
                else _hex_ids(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_hex_ids(v) for v in obj]
    return obj


def to_otlp_json(signal: str, data: bytes) -> bytes:
    message = _REQUESTS[signal].FromString(data)
    return msgspec.json.encode(_hex_ids(json_format.MessageToDict(message)))


def _instrument(exporter: Any, signal: str, encoding: str) -> Any:
    """Record each request body as sent (to resend it verbatim), re-encoding as JSON if asked."""
    original = exporter._client.export
    exporter.sent = []

    def export(data: bytes) -> Any:
        if encoding == "json":
            data = to_otlp_json(signal, data)
        exporter.sent.append(data)
        return original(data)

    exporter._client.export = export
    return exporter


def _headers(key: str, encoding: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}",
            "Content-Type": "application/json" if encoding == "json" else "application/x-protobuf"}


def log_exporter(url: str, key: str, encoding: str, compression: Any = None) -> OTLPLogExporter:
    exporter = OTLPLogExporter(endpoint=f"{url}/v1/logs", headers=_headers(key, encoding), timeout=10,
                               compression=compression)
    return _instrument(exporter, "logs", encoding)


def logger_provider(exporter: OTLPLogExporter, resource: dict[str, Any]) -> LoggerProvider:
    provider = LoggerProvider(resource=Resource.create(resource))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    return provider


def meter_provider(url: str, key: str, encoding: str, resource: dict[str, Any], temporality: str
                   ) -> tuple[MeterProvider, OTLPMetricExporter]:
    preferred = {Counter: AggregationTemporality.DELTA if temporality == "delta" else AggregationTemporality.CUMULATIVE}
    exporter = OTLPMetricExporter(endpoint=f"{url}/v1/metrics", headers=_headers(key, encoding), timeout=10,
                                  preferred_temporality=preferred)
    _instrument(exporter, "metrics", encoding)
    # Exports only when flushed: the test decides when a collection happens.
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    return MeterProvider(resource=Resource.create(resource), metric_readers=[reader]), exporter


def tracer_provider(url: str, key: str, encoding: str, resource: dict[str, Any]) -> tuple[TracerProvider, Any]:
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", headers=_headers(key, encoding), timeout=10)
    _instrument(exporter, "traces", encoding)
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter
