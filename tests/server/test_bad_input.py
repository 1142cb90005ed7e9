"""Acceptance: bad input gets the right status and a clear message, the server keeps serving, and
nothing good in the same batch is lost."""

from __future__ import annotations

import gzip
import socket

import msgspec
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from otel_clients import to_otlp_json

from canonical_lines import ev
from http_helpers import call

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def claude_logs_pb(*requests: tuple[str, str]) -> bytes:
    """A protobuf logs request with one `claude_code.api_request` per (session, request id)."""
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    def kv(key: str, value: object) -> KeyValue:
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=str(value)))

    records = [LogRecord(time_unix_nano=1_793_000_000_000_000_000,
                         body=AnyValue(string_value="claude_code.api_request"),
                         attributes=[kv(k, v) for k, v in {
                             "session.id": session, "request_id": request_id, "user.email": "alice@example.com",
                             "model": "claude-sonnet-4-5", "input_tokens": 1000, "output_tokens": 100}.items()])
               for session, request_id in requests]
    return ExportLogsServiceRequest(resource_logs=[ResourceLogs(
        resource=Resource(attributes=[kv("service.name", "claude-code")]),
        scope_logs=[ScopeLogs(log_records=records)])]).SerializeToString()


def error_json(data: bytes) -> dict:
    body = msgspec.json.decode(data)
    assert set(body) == {"ok", "status", "error", "errors", "code", "message"}
    assert body["ok"] is False and body["message"] == body["error"]
    return body


def stored_ids(collector) -> list[str]:
    collector.stop()
    store = collector.store()
    try:
        return sorted(e.id for e in store.iter_usage())
    finally:
        store.close()


def still_serving(collector) -> None:
    status, _, _ = call("POST", f"{collector.url}/v1/logs", claude_logs_pb(("alive", "req_alive")),
                        {**collector.auth(), **PROTOBUF})
    assert status == 200
    assert call("GET", f"{collector.url}/healthz")[0] == 200


def test_truncated_protobuf_is_400_with_a_protobuf_status(collector) -> None:
    body = claude_logs_pb(("s", "req_1"), ("s", "req_2"))
    status, headers, data = call("POST", f"{collector.url}/v1/logs", body[:-7], {**collector.auth(), **PROTOBUF})
    assert status == 400 and headers["Content-Type"] == "application/x-protobuf"
    problem = status_pb2.Status.FromString(data)
    assert problem.code == 3  # INVALID_ARGUMENT
    assert problem.message.startswith("not a valid OTLP protobuf message")
    still_serving(collector)
    assert stored_ids(collector) == ["claude_code:otel:alive:req_alive"]


def test_wrong_json_types_refuse_the_request_or_only_the_bad_record(collector) -> None:
    url = f"{collector.url}/v1/logs"
    status, _, data = call("POST", url, b'{"resourceLogs": {"not": "a list"}}', {**collector.auth(), **JSON})
    assert (status, error_json(data)["error"]) == (400, "`resourceLogs` must be a list, got an object")

    # One record with a time that is not a number: it alone is refused; the others in the batch are kept.
    request = msgspec.json.decode(to_otlp_json("logs", claude_logs_pb(("s", "req_1"), ("s", "req_2"), ("s", "req_3"))))
    request["resourceLogs"][0]["scopeLogs"][0]["logRecords"][1]["timeUnixNano"] = "yesterday"
    status, _, data = call("POST", url, msgspec.json.encode(request), {**collector.auth(), **JSON})
    assert status == 200
    assert msgspec.json.decode(data) == {"partialSuccess": {
        "rejectedLogRecords": "1", "errorMessage": "a log record: `timeUnixNano` must be an integer, got 'yesterday'"}}
    still_serving(collector)
    assert stored_ids(collector) == ["claude_code:otel:alive:req_alive", "claude_code:otel:s:req_1",
                                     "claude_code:otel:s:req_3"]


def test_invalid_utf8(collector) -> None:
    # OTLP/JSON that is not UTF-8 cannot be read at all.
    status, _, data = call("POST", f"{collector.url}/v1/logs", b'{"resourceLogs": [{"x": "\xff\xfe"}]}',
                           {**collector.auth(), **JSON})
    assert status == 400 and error_json(data)["error"].startswith("not valid OTLP JSON")
    # In NDJSON only that line is lost, and it is named.
    lines = [msgspec.json.encode(ev("good-1", "2026-11-03T09:00:00Z")), b'{"kind": "usage", "id": "bad-\xff"}',
             msgspec.json.encode(ev("good-2", "2026-11-03T09:01:00Z"))]
    status, _, data = call("POST", f"{collector.url}/api/v1/events", b"\n".join(lines),
                           {**collector.auth(), "Content-Type": "application/x-ndjson"})
    answer = msgspec.json.decode(data)
    assert (status, answer["accepted"], answer["rejected"]) == (200, 2, 1)
    assert answer["errors"][0]["line"] == 2 and "UTF-8" in answer["errors"][0]["message"]
    still_serving(collector)
    assert stored_ids(collector) == ["claude_code:otel:alive:req_alive", "good-1", "good-2"]


def test_ndjson_lines_with_wrong_types_are_named_and_the_good_ones_kept(collector) -> None:
    lines = [ev("n1", "2026-11-03T09:00:00Z"), ev("n2", "2026-11-03T09:00:00Z", input_tokens="many"),
             ev("n3", "2026-11-03T09:00:00Z", output_tokens=-5), {"kind": "usage", "ts": "2026-11-03T09:00:00Z"},
             ev("n5", "2026-11-03T09:00:00Z")]
    body = b"".join(msgspec.json.encode(line) + b"\n" for line in lines) + b"not json\n"
    status, _, data = call("POST", f"{collector.url}/api/v1/events", body,
                           {**collector.auth(), "Content-Type": "application/x-ndjson"})
    answer = msgspec.json.decode(data)
    assert (status, answer["ok"], answer["accepted"], answer["rejected"]) == (200, False, 2, 4)
    assert [(e["line"], e["field"]) for e in answer["errors"]] == [
        (2, "input_tokens"), (3, "output_tokens"), (4, "id"), (6, None)]
    assert answer["errors"][0]["message"] == "`input_tokens`: expected `int`, got `str`"

    status, _, data = call("POST", f"{collector.url}/api/v1/events", b"not json\n{}\n",
                           {**collector.auth(), "Content-Type": "application/x-ndjson"})
    problem = error_json(data)
    assert (status, problem["error"], len(problem["errors"])) == (400, "no line could be read (2 rejected)", 2)
    assert stored_ids(collector) == ["n1", "n5"]


def test_oversized_bodies_are_413(collector) -> None:
    collector.stop()
    collector.start("--decode-workers", "0", "--max-body-mb", "0.05")  # 52,428 bytes
    big = claude_logs_pb(*(("s", f"req_{i}") for i in range(600)))
    assert len(big) > 52_428
    status, _, data = call("POST", f"{collector.url}/v1/logs", big, {**collector.auth(), **JSON})
    assert (status, error_json(data)["error"]) == (413, f"the body is {len(big):,} bytes; the limit is 52,428")
    # Small on the wire, huge once inflated: refused on what it expands to.
    bomb = gzip.compress(b"\n" * 10_000_000)
    status, _, data = call("POST", f"{collector.url}/api/v1/events", bomb,
                           {**collector.auth(), "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})
    assert (status, error_json(data)["error"]) == (413, "the body expands beyond the limit of 52,428 bytes")
    # Without a Content-Length (chunked): refused as soon as it passes the limit.
    assert _chunked_post(collector, b"x" * 60_000)[0] == 413
    still_serving(collector)


def _chunked_post(collector, body: bytes) -> tuple[int, bytes]:
    host, port = collector.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (f"POST /api/v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {collector.keys['ingest']}"
                "\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        sock.sendall(head.encode())
        try:
            for start in range(0, len(body), 8192):
                chunk = body[start:start + 8192]
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole body is sent
        response = b""
        while data := sock.recv(65536):
            response += data
    status = int(response.split(b" ", 2)[1])
    return status, response


@pytest.mark.parametrize("header, expected", [
    (None, "missing credentials"),
    ("Bearer tpi_not-a-real-key", "unknown key"),
    ("Basic dXNlcjpwYXNz", "missing credentials"),
])
def test_missing_or_wrong_keys_are_401(collector, header: str | None, expected: str) -> None:
    headers = {**PROTOBUF, **({"Authorization": header} if header else {})}
    status, response_headers, data = call("POST", f"{collector.url}/v1/logs", claude_logs_pb(("s", "r")), headers)
    assert status == 401 and response_headers["WWW-Authenticate"] == 'Bearer realm="tokenpulse"'
    assert status_pb2.Status.FromString(data).message.startswith(expected)
    status, _, data = call("GET", f"{collector.url}/api/v1/reports/daily",
                           headers={"Authorization": header} if header else {})
    assert status == 401 and error_json(data)["error"].startswith(expected)
    still_serving(collector)
    assert stored_ids(collector) == ["claude_code:otel:alive:req_alive"]


def test_unsupported_content_type_and_encoding(collector) -> None:
    status, _, data = call("POST", f"{collector.url}/v1/logs", b"x", {**collector.auth(), "Content-Type": "text/xml"})
    assert (status, error_json(data)["error"]) == (
        415, "OTLP bodies must be application/x-protobuf or application/json, not text/xml")
    status, _, data = call("POST", f"{collector.url}/v1/logs", b"x", {**collector.auth(), **PROTOBUF,
                                                                      "Content-Encoding": "br"})
    assert status == 415 and status_pb2.Status.FromString(data).message.startswith("unsupported Content-Encoding")
    status, _, data = call("POST", f"{collector.url}/v1/logs", b"not gzip at all",
                           {**collector.auth(), **JSON, "Content-Encoding": "gzip"})
    assert status == 400 and error_json(data)["error"].startswith("the body is not valid gzip")
    assert call("GET", f"{collector.url}/v1/logs", headers=collector.auth())[0] == 405
    still_serving(collector)


def test_overload_is_503_with_retry_after_and_nothing_is_lost(pg_url: str, tmp_path, monkeypatch) -> None:
    import threading

    import psycopg
    from collector_process import Collector

    monkeypatch.setenv("TOKENPULSE_SERVE_MAX_PENDING_EVENTS", "3")
    collector = Collector(location=pg_url, home=tmp_path / "home")
    collector.make_keys()
    collector.start("--decode-workers", "0")
    blocker = psycopg.connect(pg_url)
    try:
        # Hold the events table so that the first write cannot commit yet.
        blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")

        def post(*ids: str) -> tuple[int, dict[str, str], bytes]:
            body = b"".join(msgspec.json.encode(ev(i, "2026-11-03T09:00:00Z")) + b"\n" for i in ids)
            return call("POST", f"{collector.url}/api/v1/events", body,
                        {**collector.auth(), "Content-Type": "application/x-ndjson"})

        first: list[tuple] = []
        waiting = threading.Thread(target=lambda: first.append(post("a1", "a2")))
        waiting.start()
        for _ in range(200):
            if msgspec.json.decode(call("GET", f"{collector.url}/healthz")[2])["pending_events"] == 2:
                break
            threading.Event().wait(0.05)
        status, headers, data = post("b1", "b2")
        assert (status, headers["Retry-After"]) == (503, "1")
        assert error_json(data)["error"] == "the collector is busy (2 events waiting to be written); retry shortly"
        assert first == []  # still waiting for its commit: no answer before the data is durable
        blocker.rollback()
        waiting.join(30)
        assert first[0][0] == 200
        assert post("b1", "b2")[0] == 200  # the retry the client was told to make
    finally:
        blocker.close()
        collector.stop()
    store = collector.store()
    try:
        assert sorted(e.id for e in store.iter_usage()) == ["a1", "a2", "b1", "b2"]
    finally:
        store.close()
