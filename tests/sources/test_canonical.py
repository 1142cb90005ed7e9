"""Canonical NDJSON (`tokenpulse-events/1`): reading, per-line errors naming the field, and round trips."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tokenpulse.errors import InvalidEvent
from tokenpulse.events import OutcomeEvent, UsageEvent, decode_line, encode_line, write_ndjson
from tokenpulse.pricing import PriceBook
from tokenpulse.sources.base import FileContext
from tokenpulse.sources.canonical import parse

TS = "2026-11-03T14:22:05.123Z"


def usage(**fields: Any) -> bytes:
    line = {"kind": "usage", "id": "req-1", "ts": TS, "tool": "claude_code", **fields}
    return json.dumps({k: v for k, v in line.items() if v is not ...}).encode()


def outcome(**fields: Any) -> bytes:
    line = {"kind": "outcome", "id": "out-1", "ts": TS, "type": "commit", **fields}
    return json.dumps({k: v for k, v in line.items() if v is not ...}).encode()


def rejected(raw: bytes) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        decode_line(raw)
    return caught.value


# --- reading -------------------------------------------------------------------------------------------


def test_the_design_example_usage_line(book: PriceBook) -> None:
    raw = (b'{"kind":"usage","id":"req_01abc","ts":"2026-11-03T14:22:05.123Z","person":"alice@example.com",'
           b'"tool":"claude_code","provider":"anthropic","model":"claude-sonnet-4-5",'
           b'"input_tokens":1200,"output_tokens":350,"cache_read_tokens":50000,"cache_write_tokens":2000,'
           b'"cache_write_1h_tokens":0,"reasoning_tokens":0,'
           b'"session":"8f1c","project":"payments-api","request_id":"req_01","status":"ok","duration_ms":2210,'
           b'"prompt_hash":"9b2e","cost_usd":null,"source":"import","confidence":"metered"}')
    event = decode_line(raw)
    assert isinstance(event, UsageEvent)
    assert (event.id, event.ts, event.person, event.tool, event.provider, event.model) == (
        "req_01abc", datetime.fromisoformat("2026-11-03T14:22:05.123+00:00"), "alice@example.com",
        "claude_code", "anthropic", "claude-sonnet-4-5")
    assert (event.input_tokens, event.output_tokens, event.cache_read_tokens, event.cache_write_tokens,
            event.cache_write_1h_tokens, event.reasoning_tokens) == (1200, 350, 50000, 2000, 0, 0)
    assert (event.session, event.project, event.request_id, event.status, event.duration_ms,
            event.prompt_hash) == ("8f1c", "payments-api", "req_01", "ok", 2210, "9b2e")
    assert (event.reported_cost_micros, event.source, event.confidence, event.extra) == (
        None, "import", "metered", None)
    book.price(event)
    # sonnet-4-5: 1200*3 + 350*15 + 50000*0.3 + 2000*3.75 = 3600 + 5250 + 15000 + 7500
    assert event.cost_micros == 31_350


def test_optional_fields_may_be_absent() -> None:
    event = decode_line(usage())
    assert isinstance(event, UsageEvent)
    assert (event.input_tokens, event.output_tokens, event.status, event.source, event.confidence,
            event.model, event.person, event.reported_cost_micros) == (0, 0, "ok", "import", "metered",
                                                                       None, None, None)


def test_the_design_example_outcome_line() -> None:
    raw = (b'{"kind":"outcome","id":"o-1","ts":"2026-11-03T14:22:05.123Z","person":"alice@example.com",'
           b'"tool":"claude_code","type":"commit","count":2,"session":"8f1c","project":"payments-api"}')
    event = decode_line(raw)
    assert event == OutcomeEvent(id="o-1", ts=datetime.fromisoformat("2026-11-03T14:22:05.123+00:00"),
                                 type="commit", count=2, person="alice@example.com", tool="claude_code",
                                 session="8f1c", project="payments-api", source="import", extra=None)


@pytest.mark.parametrize("kind", ["commit", "pull_request", "lines_added", "lines_removed",
                                  "edit_accepted", "edit_rejected"])
def test_every_outcome_type_is_accepted(kind: str) -> None:
    event = decode_line(outcome(type=kind))
    assert isinstance(event, OutcomeEvent)
    assert (event.type, event.count) == (kind, 1)


def test_timestamps_become_utc() -> None:
    assert decode_line(usage(ts="2026-11-03T16:22:05+02:00")).ts == datetime.fromisoformat("2026-11-03T14:22:05+00:00")
    naive = decode_line(usage(ts="2026-11-03T14:22:05"))  # no offset: taken as UTC
    assert naive.ts == datetime.fromisoformat("2026-11-03T14:22:05+00:00")
    assert naive.ts.utcoffset().total_seconds() == 0


def test_a_reported_cost_is_kept_in_micro_usd() -> None:
    assert decode_line(usage(cost_usd=0.12)).reported_cost_micros == 120_000
    assert decode_line(usage(cost_usd="1.5")).reported_cost_micros == 1_500_000
    # beyond the sixth decimal: half to even (0.0000025 USD = 2.5 micro-USD -> 2; 0.0000035 -> 4)
    assert decode_line(usage(cost_usd="0.0000025")).reported_cost_micros == 2
    assert decode_line(usage(cost_usd="0.0000035")).reported_cost_micros == 4
    assert decode_line(usage(cost_usd=None)).reported_cost_micros is None


def test_unknown_fields_are_kept_in_extra() -> None:
    event = decode_line(usage(team="payments", labels={"env": "prod"}, attempts=[1, 2]))
    assert event.extra == {"team": "payments", "labels": {"env": "prod"}, "attempts": [1, 2]}
    out = decode_line(outcome(repo="acme/api", sha="abc123"))
    assert out.extra == {"repo": "acme/api", "sha": "abc123"}


def test_fields_computed_on_export_are_not_taken_back_as_extra() -> None:
    # `export` writes the list cost, the priced model and the price-book version; they are recomputed on import.
    event = decode_line(usage(list_cost_usd=1.23, priced_model="claude-sonnet-4-5", price_version="2026-12-01.x"))
    assert isinstance(event, UsageEvent)
    assert (event.extra, event.cost_micros, event.priced_model, event.price_version) == (None, None, None, None)


# --- per-line errors, naming the field ---------------------------------------------------------------


@pytest.mark.parametrize(("fields", "field"), [
    ({"input_tokens": "12"}, "input_tokens"),          # a string count
    ({"output_tokens": -1}, "output_tokens"),          # a negative count
    ({"cache_read_tokens": 1.5}, "cache_read_tokens"),  # not an integer
    ({"reasoning_tokens": True}, "reasoning_tokens"),
    ({"duration_ms": -5}, "duration_ms"),
    ({"status": "weird"}, "status"),
    ({"source": "carrier-pigeon"}, "source"),
    ({"confidence": "sure"}, "confidence"),
    ({"ts": "yesterday"}, "ts"),
    ({"id": ""}, "id"),
    ({"tool": ""}, "tool"),
    ({"cost_usd": "a lot"}, "cost_usd"),
    ({"cache_write_tokens": 10, "cache_write_1h_tokens": 11}, "cache_write_1h_tokens"),
    ({"output_tokens": 10, "reasoning_tokens": 11}, "reasoning_tokens"),
])
def test_a_bad_usage_field_is_named(fields: dict[str, Any], field: str) -> None:
    error = rejected(usage(**fields))
    assert error.field == field
    assert field in str(error)


def test_cache_write_1h_may_equal_cache_write() -> None:
    event = decode_line(usage(cache_write_tokens=10, cache_write_1h_tokens=10))
    assert (event.cache_write_tokens, event.cache_write_1h_tokens) == (10, 10)


@pytest.mark.parametrize(("fields", "field"), [
    ({"type": "merge"}, "type"),
    ({"count": -2}, "count"),
    ({"count": "2"}, "count"),
    ({"ts": 1730643725}, "ts"),
])
def test_a_bad_outcome_field_is_named(fields: dict[str, Any], field: str) -> None:
    error = rejected(outcome(**fields))
    assert error.field == field
    assert field in str(error)


@pytest.mark.parametrize(("line", "field"), [
    (usage(id=...), "id"),
    (usage(ts=...), "ts"),
    (usage(tool=...), "tool"),
    (outcome(type=...), "type"),
], ids=["usage-id", "usage-ts", "usage-tool", "outcome-type"])
def test_a_missing_required_field_is_named(line: bytes, field: str) -> None:
    error = rejected(line)
    assert field in str(error)
    assert error.field == field


def test_kind_must_be_usage_or_outcome() -> None:
    assert rejected(b'{"id":"x","ts":"2026-11-03T14:22:05Z","tool":"t"}').field == "kind"
    assert rejected(b'{"kind":"cost","id":"x"}').field == "kind"


@pytest.mark.parametrize("raw", [b"[1, 2]", b"42", b'"usage"', b"null"])
def test_a_line_that_is_not_an_object_is_rejected(raw: bytes) -> None:
    assert "object" in str(rejected(raw))


@pytest.mark.parametrize("raw", [b'{"kind":"usage","id":"x"', b"{bad json}", b"\xff\xfe"])
def test_bad_json_is_rejected(raw: bytes) -> None:
    assert "JSON" in str(rejected(raw))


@pytest.mark.parametrize("cost", ["NaN", "-Infinity", "1e999999"])
def test_a_cost_that_is_not_a_finite_amount_is_a_line_error_naming_the_field(cost: str) -> None:
    error = rejected(usage(cost_usd=cost))  # InvalidEvent, not some other exception
    assert error.field == "cost_usd"


# --- the parser: a batch of lines -------------------------------------------------------------------


def test_parse_keeps_the_good_lines_and_reports_the_bad_ones_by_line() -> None:
    lines = [
        (1, usage(id="a", input_tokens=5)),
        (2, usage(id="b", input_tokens="5")),
        (3, outcome(id="o", count=3)),
        (4, b'{"kind":"usage","id":"c"'),
        (5, usage(id="d", cache_write_tokens=1, cache_write_1h_tokens=2)),
        (6, usage(id="e", team="x")),
    ]
    result = parse(lines, FileContext(path="events.ndjson"))
    assert [e.id for e in result.usage] == ["a", "e"]
    assert [o.id for o in result.outcomes] == ["o"]
    assert [e.line for e in result.errors] == [2, 4, 5]
    assert "input_tokens" in result.errors[0].message
    assert "JSON" in result.errors[1].message
    assert "cache_write_1h_tokens" in result.errors[2].message


def test_parse_does_not_crash_on_an_overflowing_cost() -> None:
    lines = [(1, usage(id="a")), (2, usage(id="b", cost_usd="1e999999")), (3, usage(id="c"))]
    result = parse(lines, FileContext(path="events.ndjson"))
    assert [e.id for e in result.usage] == ["a", "c"]
    assert [e.line for e in result.errors] == [2]


# --- round trip ----------------------------------------------------------------------------------------


def test_usage_round_trip_keeps_every_field() -> None:
    event = UsageEvent(
        id="req-42", ts=datetime.fromisoformat("2026-11-03T14:22:05.123456+00:00"), tool="codex",
        provider="openai", model="gpt-5.3-codex", person="bob@example.com", input_tokens=1,
        output_tokens=20, cache_read_tokens=300, cache_write_tokens=4000, cache_write_1h_tokens=1000,
        reasoning_tokens=5, web_search_requests=2, session="s", project="p", request_id="r",
        status="rate_limited", duration_ms=1500, prompt_hash="h", speed="fast", service_tier="priority",
        inference_geo="us", reported_cost_micros=1_234_567, source="gateway", confidence="billed",
        extra={"team": "payments", "nested": {"a": [1, 2]}},
    )
    line = encode_line(event)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line)["cost_usd"] == 1.234567
    assert json.loads(line)["ts"] == "2026-11-03T14:22:05.123456Z"
    assert decode_line(line) == event


def test_outcome_round_trip() -> None:
    event = OutcomeEvent(id="o-9", ts=datetime.fromisoformat("2026-11-03T14:22:05+00:00"), type="lines_added",
                         count=120, person="a@example.com", tool="cursor", session="s", project="p",
                         source="otlp", extra={"repo": "acme/api"})
    line = encode_line(event)
    assert json.loads(line)["ts"] == "2026-11-03T14:22:05.000Z"
    assert decode_line(line) == event


def test_an_exported_priced_event_reads_back_without_its_computed_cost(book: PriceBook) -> None:
    event = decode_line(usage(model="claude-sonnet-4-5", input_tokens=1000, output_tokens=100))
    book.price(event)
    assert event.cost_micros == 4500  # 1000*3 + 100*15
    wire = json.loads(encode_line(event))
    assert (wire["list_cost_usd"], wire["priced_model"], wire["price_version"]) == (
        0.0045, "claude-sonnet-4-5", book.version)
    back = decode_line(encode_line(event))
    assert (back.cost_micros, back.priced_model, back.price_version, back.extra) == (None, None, None, None)
    book.price(back)
    assert back.cost_micros == 4500


def test_write_ndjson_is_readable_by_the_parser() -> None:
    events = [decode_line(usage(id=f"u{i}", input_tokens=i)) for i in range(3)] + [decode_line(outcome())]
    lines = list(enumerate((line.rstrip(b"\n") for line in write_ndjson(events)), 1))
    result = parse(lines, FileContext(path="export.ndjson"))
    assert result.errors == []
    assert result.usage + result.outcomes == events
