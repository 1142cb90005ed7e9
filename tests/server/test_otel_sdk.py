"""Acceptance: Claude Code-shaped events and metrics, exported by the real OpenTelemetry SDK over HTTP
(protobuf and JSON) to a running collector on each backend, are stored exactly, priced exactly, and
counted once however often they are sent."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from otel_clients import log_exporter, logger_provider, meter_provider

from http_helpers import call, post_json

RESOURCE = {"service.name": "claude-code", "service.version": "2.1.0", "os.type": "linux", "host.arch": "amd64",
            "team": "payments", "department": "platform"}
WHEN = datetime(2026, 11, 3, 14, 22, 5, 123000, tzinfo=UTC)
NANOS = int(WHEN.timestamp()) * 1_000_000_000 + 123_000_000


def common(**attributes: object) -> dict[str, object]:
    return {"event.timestamp": "2026-11-03T14:22:05.123Z", "organization.id": "org-1",
            "terminal.type": "vscode", **attributes}


LOG_RECORDS = [
    ("claude_code.api_request", common(**{
        "event.name": "api_request", "event.sequence": 1, "session.id": "s-1", "prompt.id": "p-1",
        "user.email": "Alice@Example.com", "user.account_uuid": "aaaa-1111", "model": "claude-sonnet-4-5",
        "input_tokens": 1200, "output_tokens": 350, "cache_read_tokens": 50000, "cache_creation_tokens": 2000,
        "cost_usd": 0.03135, "cost_usd_micros": 31350, "duration_ms": 2210, "request_id": "req_A",
        "speed": "normal", "query_source": "repl_main_thread"})),
    # No request id: the session's event sequence number tells a resend from a new request.
    ("claude_code.api_request", common(**{
        "event.name": "api_request", "event.sequence": 7, "session.id": "s-1", "user.email": "alice@example.com",
        "model": "claude-sonnet-4-5", "input_tokens": "10", "output_tokens": 20, "cache_read_tokens": 0,
        "cache_creation_tokens": 0, "duration_ms": 300})),
    # Only an account id: the people directory says whose it is.
    ("claude_code.api_request", common(**{
        "event.name": "api_request", "event.sequence": 2, "session.id": "s-2", "user.account_uuid": "4f1c-bbbb",
        "model": "claude-haiku-4-5", "input_tokens": 100000, "output_tokens": 2000, "cache_read_tokens": 0,
        "cache_creation_tokens": 0, "request_id": "req_B"})),
    ("claude_code.api_error", common(**{
        "event.name": "api_error", "event.sequence": 3, "session.id": "s-1", "user.email": "alice@example.com",
        "model": "claude-sonnet-4-5", "error": "rate limited", "status_code": "429", "attempt": 1,
        "request_id": "req_C", "duration_ms": 120})),
    ("claude_code.user_prompt", common(**{
        "event.name": "user_prompt", "session.id": "s-1", "prompt.id": "p-1", "user.email": "alice@example.com",
        "prompt_length": 24, "prompt": "refactor the billing job"})),
    ("claude_code.user_prompt", common(**{
        "event.name": "user_prompt", "session.id": "s-1", "prompt.id": "p-2", "user.email": "alice@example.com",
        "prompt_length": 11, "prompt": "[REDACTED]"})),
    ("claude_code.tool_result", common(**{
        "event.name": "tool_result", "session.id": "s-1", "tool_name": "Edit", "success": "true"})),
]

# (id, person, model, input, output, cache read, cache write, cost, reported cost, status, request id)
EXPECTED_USAGE = [
    ("claude_code:otel:s-1:error:req_C:1", "alice@example.com", "claude-sonnet-4-5", 0, 0, 0, 0, 0, None,
     "rate_limited", "req_C"),
    ("claude_code:otel:s-1:req_A", "alice@example.com", "claude-sonnet-4-5", 1200, 350, 50000, 2000,
     # 1,200 × $3 + 350 × $15 + 50,000 × $0.30 + 2,000 × $3.75 per million tokens
     3600 + 5250 + 15000 + 7500, 31350, "ok", "req_A"),
    ("claude_code:otel:s-1:seq7", "alice@example.com", "claude-sonnet-4-5", 10, 20, 0, 0, 30 + 300, None, "ok", None),
    ("claude_code:otel:s-2:req_B", "bob@example.com", "claude-haiku-4-5", 100000, 2000, 0, 0, 100000 + 10000, None,
     "ok", "req_B"),
]


def emit_claude_code_logs(url: str, key: str, encoding: str):
    exporter = log_exporter(url, key, encoding)
    provider = logger_provider(exporter, RESOURCE)
    logger = provider.get_logger("com.anthropic.claude_code.events")
    for body, attributes in LOG_RECORDS:
        logger.emit(timestamp=NANOS, observed_timestamp=NANOS, body=body, attributes=attributes)
    provider.force_flush()
    return provider, exporter


def export_claude_code_metrics(url: str, key: str, encoding: str, temporality: str, person: str) -> list[bytes]:
    """Counters as Claude Code records them, collected three times; returns the request bodies sent."""
    provider, exporter = meter_provider(url, key, encoding, RESOURCE, temporality)
    meter = provider.get_meter("com.anthropic.claude_code")
    who = {"user.email": person, "session.id": "s-1"}
    commits = meter.create_counter("claude_code.commit.count")
    pulls = meter.create_counter("claude_code.pull_request.count")
    lines = meter.create_counter("claude_code.lines_of_code.count")
    decisions = meter.create_counter("claude_code.code_edit_tool.decision")
    active = meter.create_counter("claude_code.active_time.total", unit="s")
    tokens = meter.create_counter("claude_code.token.usage", unit="tokens")  # repeats api_request: not counted
    commits.add(2, who)
    pulls.add(1, who)
    lines.add(120, {**who, "type": "added", "model": "claude-sonnet-4-5"})
    lines.add(30, {**who, "type": "removed", "model": "claude-sonnet-4-5"})
    decisions.add(3, {**who, "tool_name": "Edit", "decision": "accept", "language": "Python"})
    decisions.add(1, {**who, "tool_name": "Write", "decision": "reject", "language": "Python"})
    active.add(12.5, {**who, "type": "cli"})
    tokens.add(1200, {**who, "type": "input", "model": "claude-sonnet-4-5"})
    provider.force_flush()
    commits.add(1, who)
    provider.force_flush()
    provider.force_flush()  # nothing new: a delta exporter sends nothing, a cumulative one the same totals
    provider.shutdown()
    return exporter.sent


EXPECTED_OUTCOMES = {("commit", 3), ("pull_request", 1), ("lines_added", 120), ("lines_removed", 30),
                     ("edit_accepted", 3), ("edit_rejected", 1), ("active_ms", 12500)}


def outcome_totals(store, person: str) -> set[tuple[str, int]]:
    sums: Counter[str] = Counter()
    for outcome in store.iter_outcomes():
        if outcome.person == person:
            sums[outcome.type] += outcome.count
    return set(sums.items())


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_claude_code_telemetry_from_the_sdk_is_stored_exactly_once(collector, encoding: str) -> None:
    url = collector.url
    status, _, answer = post_json(f"{url}/api/v1/people", [{"email": "bob@example.com", "team": "search",
                                                            "aliases": ["account:4f1c-bbbb"]}],
                                  collector.auth("admin"))
    assert (status, answer["people"]) == (200, 1)

    provider, exporter = emit_claude_code_logs(url, collector.keys["ingest"], encoding)
    assert len(exporter.sent) == len(LOG_RECORDS)
    # The same requests again, byte for byte, and the same records through the SDK once more.
    for body in exporter.sent[:len(LOG_RECORDS)]:
        status, _, _ = call("POST", f"{url}/v1/logs", body, {**collector.auth(), "Content-Type": (
            "application/json" if encoding == "json" else "application/x-protobuf")})
        assert status == 200
    emit_claude_code_logs(url, collector.keys["ingest"], encoding)

    for temporality, person in (("delta", "alice@example.com"), ("cumulative", "carol@example.com")):
        sent = export_claude_code_metrics(url, collector.keys["ingest"], encoding, temporality, person)
        # Delta: two collections had news. Cumulative: three flushes and the final one at shutdown.
        assert len(sent) == (2 if temporality == "delta" else 4)
        for body in sent:  # every collection resent verbatim: nothing more is counted
            status, _, _ = call("POST", f"{url}/v1/metrics", body, {**collector.auth(), "Content-Type": (
                "application/json" if encoding == "json" else "application/x-protobuf")})
            assert status == 200

    # The owner reads her prompts; the text is there only where the client sent it.
    status, mine = collector.get("/api/v1/me/prompts", key="alice")
    assert status == 200
    assert sorted((p["prompt_id"], p["length"], p["text"]) for p in mine["prompts"]) == [
        ("p-1", 24, "refactor the billing job"), ("p-2", 11, None)]
    status, report = collector.get("/api/v1/reports/daily?tz=UTC")
    assert status == 200
    assert report["totals"]["requests"] == 4
    assert Decimal(str(report["totals"]["cost_usd"])) == Decimal("0.14168")
    assert [row["key"] for row in report["rows"]] == ["2026-11-03"]

    assert collector.stop() == 0
    store = collector.store()
    try:
        usage = sorted(store.iter_usage(), key=lambda e: e.id)
        assert [(e.id, e.person, e.model, e.input_tokens, e.output_tokens, e.cache_read_tokens, e.cache_write_tokens,
                 e.cost_micros, e.reported_cost_micros, e.status, e.request_id) for e in usage] == EXPECTED_USAGE
        first = usage[1]
        assert (first.ts, first.session, first.tool, first.provider, first.source, first.confidence,
                first.duration_ms) == (WHEN, "s-1", "claude_code", "anthropic", "otlp", "metered", 2210)
        # Organisation attributes set with OTEL_RESOURCE_ATTRIBUTES travel with the event; process ones do not.
        assert first.extra["resource"] == {"team": "payments", "department": "platform"}
        assert outcome_totals(store, "alice@example.com") == EXPECTED_OUTCOMES
        # Cumulative counters count their increments: 2 commits, then 1 more, then no change.
        assert outcome_totals(store, "carol@example.com") == EXPECTED_OUTCOMES
    finally:
        store.close()
