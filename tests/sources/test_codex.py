"""Codex rollouts: exact tokens and cost on every sample file, incremental reads, and bad lines.

Expected numbers were worked out by hand from the files (the `token_count` lines read with a separate
script, never with the parser under test). The rule: a request is a positive step of the thread's
running `total_token_usage`; a `token_count` that repeats the previous totals is a re-emit and adds
nothing. Codex's input includes cached tokens and its output includes reasoning, so per request:

    input      = step of input_tokens - step of cached_input_tokens
    cache read = step of cached_input_tokens
    output     = step of output_tokens (reasoning = step of reasoning_output_tokens, a part of it)

Prices (bundled book, USD per million tokens = micro-USD per token): gpt-5.3-codex and gpt-5.2-codex
both input 1.75, output 14 (reasoning billed as output), cache read 0.175. A request's cost is rounded
once, half to even, to integer micro-USD; sums add the rounded costs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tokenpulse.events import UsageEvent
from tokenpulse.ingest import run_import
from tokenpulse.pricing import PriceBook
from tokenpulse.reports import ReportOptions, build_report
from tokenpulse.sources import Root, file_context
from tokenpulse.sources.base import ParseResult
from tokenpulse.sources.codex import parse

DATA = Path(__file__).parent.parent / "data"
SESSIONS = DATA / "codex" / "sessions"
DAY = SESSIONS / "2026" / "02" / "23"
LONG = DAY / "rollout-2026-02-23T12-41-04-019c8a4d-8f45-7010-8b5d-7fad920aa6f9.jsonl"
SINGLE = DAY / "rollout-2026-02-23T13-19-38-019c8a70-dda7-7f33-98ea-f30553347322.jsonl"
MULTI = DAY / "rollout-2026-02-23T20-34-25-019c8bfe-ec25-79e0-97d7-bda6a9c575ff.jsonl"
SYNTHETIC = DATA / "codex-synthetic" / "session-alpha.jsonl"


def lines_of(path: Path) -> list[tuple[int, bytes]]:
    return [(n, raw) for n, raw in enumerate(path.read_bytes().splitlines(), 1)]


def parse_path(path: Path, lines: list[tuple[int, bytes]] | None = None, state: dict | None = None) -> ParseResult:
    root = SYNTHETIC.parent if path == SYNTHETIC else SESSIONS
    return parse(lines_of(path) if lines is None else lines, file_context(path, root, "codex", state))


INLINE_PATH = Path("/codex/sessions/2026/03/01/rollout-2026-03-01T10-00-00-0199aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee.jsonl")


def parse_lines(*raw: bytes, state: dict | None = None) -> ParseResult:
    return parse(list(enumerate(raw, 1)), file_context(INLINE_PATH, INLINE_PATH.parents[3], "codex", state))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _usage(values: tuple[int, ...]) -> dict[str, int]:
    return dict(zip(("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens"),
                    values, strict=True))


def token_count(ts: str | None, total: tuple[int, ...] | None, last: tuple[int, ...] | None = None,
                **info_fields: Any) -> bytes:
    """A `token_count` event; totals given as (input incl. cached, cached, output incl. reasoning, reasoning)."""
    info: dict[str, Any] = dict(info_fields)
    if total is not None:
        info["total_token_usage"] = _usage(total)
    if last is not None:
        info["last_token_usage"] = _usage(last)
    line: dict[str, Any] = {"type": "event_msg", "payload": {"type": "token_count", "info": info}}
    if ts is not None:
        line = {"timestamp": ts, **line}
    return json.dumps(line).encode()


def turn_context(model: str, ts: str = "2026-03-01T10:00:00.000Z") -> bytes:
    return json.dumps({"timestamp": ts, "type": "turn_context", "payload": {"model": model, "cwd": "/w"}}).encode()


def session_meta(id: str, cwd: str) -> bytes:
    return json.dumps({"timestamp": "2026-03-01T09:59:59.000Z", "type": "session_meta",
                       "payload": {"id": id, "cwd": cwd, "originator": "codex_cli_rs"}}).encode()


# --- every sample file, request by request ---------------------------------------------------------

# (timestamp, input, cache read, output, reasoning, cost in micro-USD); model gpt-5.3-codex from turn_context.
EXPECTED_REQUESTS: dict[Path, list[tuple[str, int, int, int, int, int]]] = {
    # One turn: line 12 has info null (a rate-limit refresh, skipped); line 19 is the only usage.
    # Totals 34469 in (3456 cached), 431 out (264 reasoning) from zero: input 34469 - 3456 = 31013.
    SINGLE: [
        ("2026-02-23T12:19:52.689Z", 31013, 3456, 431, 264, 60912),  # 31013*1.75 + 3456*0.175 + 431*14 = 60911.55
    ],
    # Six steps; each token_count except the last (line 62) is re-emitted once with identical totals
    # after a turn_context (lines 21, 30, 39, 48, 57): those add nothing. Line 27, for example:
    # totals 86990/46336/300/141 after 42772/3456/204/124 -> input (86990-42772) - (46336-3456) = 1338,
    # cache read 42880, output 96, reasoning 17.
    MULTI: [
        ("2026-02-23T19:34:39.388Z", 39316, 3456, 204, 124, 72264),  # l.18: 39316*1.75 + 3456*0.175 + 204*14 = 72263.8
        ("2026-02-23T19:34:44.075Z", 1338, 42880, 96, 17, 11190),    # l.27: 1338*1.75 + 42880*0.175 + 96*14 = 11189.5
        #                                                              -> 11190 (half to even: 11189 is odd)
        ("2026-02-23T19:34:51.541Z", 4681, 44288, 245, 143, 19372),  # l.36: 4681*1.75 + 44288*0.175 + 245*14 = 19372.15
        ("2026-02-23T19:34:55.899Z", 174, 49152, 179, 81, 11412),    # l.45: 174*1.75 + 49152*0.175 + 179*14 = 11412.1
        ("2026-02-23T19:35:00.520Z", 239, 49408, 113, 22, 10647),    # l.54: 239*1.75 + 49408*0.175 + 113*14 = 10646.65
        ("2026-02-23T19:36:02.633Z", 13777, 49664, 286, 96, 36805),  # l.62: 13777*1.75 + 49664*0.175 + 286*14 = 36804.95
    ],
    # 28 steps, each re-emitted once (the re-emit follows the turn_context two or so lines later), and
    # the last one (line 416) not. Line 12 has info null. First step (line 19): 17102 in, 3456 cached ->
    # input 13646; second (line 32): 35186-17102 = 18084 in, 20736-3456 = 17280 cached -> input 804.
    LONG: [
        ("2026-02-23T11:41:38.914Z", 13646, 3456, 281, 141, 28419),     # l.19: 13646*1.75 + 3456*0.175 + 281*14 = 28419.3
        ("2026-02-23T11:41:44.974Z", 804, 17280, 319, 110, 8897),       # l.32: 804*1.75 + 17280*0.175 + 319*14 = 8897
        ("2026-02-23T11:41:50.524Z", 1524, 18304, 293, 30, 9972),       # l.48: 1524*1.75 + 18304*0.175 + 293*14 = 9972.2
        ("2026-02-23T11:41:56.271Z", 1252, 20096, 219, 29, 8774),       # l.62: 1252*1.75 + 20096*0.175 + 219*14 = 8773.8
        ("2026-02-23T11:42:01.522Z", 925, 21504, 277, 0, 9260),         # l.76: 925*1.75 + 21504*0.175 + 277*14 = 9259.95
        ("2026-02-23T11:42:07.414Z", 739, 22656, 291, 22, 9332),        # l.92: 739*1.75 + 22656*0.175 + 291*14 = 9332.05
        ("2026-02-23T11:42:12.706Z", 1188, 23552, 275, 0, 10051),       # l.108: 1188*1.75 + 23552*0.175 + 275*14 = 10050.6
        ("2026-02-23T11:42:19.187Z", 714, 24960, 322, 119, 10126),      # l.123: 714*1.75 + 24960*0.175 + 322*14 = 10125.5
        #                                                                 -> 10126 (half to even: 10125 is odd)
        ("2026-02-23T11:42:26.163Z", 4356, 25856, 299, 16, 16334),      # l.138: 4356*1.75 + 25856*0.175 + 299*14 = 16333.8
        ("2026-02-23T11:42:34.016Z", 6966, 30464, 376, 97, 22786),      # l.155: 6966*1.75 + 30464*0.175 + 376*14 = 22785.7
        ("2026-02-23T11:42:40.719Z", 8053, 37760, 359, 36, 25727),      # l.173: 8053*1.75 + 37760*0.175 + 359*14 = 25726.75
        ("2026-02-23T11:42:51.900Z", 9319, 46080, 434, 106, 30448),     # l.192: 9319*1.75 + 46080*0.175 + 434*14 = 30448.25
        ("2026-02-23T11:42:59.678Z", 4859, 55808, 405, 205, 23940),     # l.208: 4859*1.75 + 55808*0.175 + 405*14 = 23939.65
        ("2026-02-23T11:43:07.301Z", 6197, 60928, 358, 44, 26519),      # l.224: 6197*1.75 + 60928*0.175 + 358*14 = 26519.15
        ("2026-02-23T11:43:13.761Z", 1362, 67072, 283, 123, 18083),     # l.239: 1362*1.75 + 67072*0.175 + 283*14 = 18083.1
        ("2026-02-23T11:43:18.078Z", 203, 68608, 115, 31, 13972),       # l.248: 203*1.75 + 68608*0.175 + 115*14 = 13971.65
        ("2026-02-23T11:43:27.374Z", 2738, 68864, 542, 208, 24431),     # l.263: 2738*1.75 + 68864*0.175 + 542*14 = 24430.7
        ("2026-02-23T11:43:34.462Z", 1679, 72064, 306, 26, 19833),      # l.280: 1679*1.75 + 72064*0.175 + 306*14 = 19833.45
        ("2026-02-23T11:43:42.401Z", 2435, 73984, 310, 71, 21548),      # l.296: 2435*1.75 + 73984*0.175 + 310*14 = 21548.45
        ("2026-02-23T11:43:51.725Z", 11671, 76672, 313, 53, 38224),     # l.311: 11671*1.75 + 76672*0.175 + 313*14 = 38223.85
        ("2026-02-23T11:43:59.358Z", 10063, 88576, 345, 33, 37941),     # l.328: 10063*1.75 + 88576*0.175 + 345*14 = 37941.05
        ("2026-02-23T11:44:09.276Z", 1676, 98944, 483, 98, 27010),      # l.347: 1676*1.75 + 98944*0.175 + 483*14 = 27010.2
        ("2026-02-23T11:44:12.531Z", 892, 100992, 89, 36, 20481),       # l.358: 892*1.75 + 100992*0.175 + 89*14 = 20480.6
        ("2026-02-23T11:44:20.922Z", 146, 101888, 337, 67, 22804),      # l.370: 146*1.75 + 101888*0.175 + 337*14 = 22803.9
        ("2026-02-23T11:44:29.393Z", 4689, 102272, 369, 188, 31269),    # l.385: 4689*1.75 + 102272*0.175 + 369*14 = 31269.35
        ("2026-02-23T11:44:34.606Z", 350, 107264, 243, 101, 22786),     # l.395: 350*1.75 + 107264*0.175 + 243*14 = 22785.7
        ("2026-02-23T11:44:38.648Z", 433, 107776, 168, 20, 21971),      # l.406: 433*1.75 + 107776*0.175 + 168*14 = 21970.55
        ("2026-02-23T11:46:43.614Z", 581, 108288, 6189, 2283, 106613),  # l.416: 581*1.75 + 108288*0.175 + 6189*14 = 106613.15
    ],
}

# Each rollout is one thread: session = session_meta.id (the same id as in the file name),
# project = last part of session_meta.cwd.
EXPECTED_PLACE = {
    SINGLE: ("019c8a70-dda7-7f33-98ea-f30553347322", "da0ba47443"),
    MULTI: ("019c8bfe-ec25-79e0-97d7-bda6a9c575ff", "ea96e59ed9"),
    LONG: ("019c8a4d-8f45-7010-8b5d-7fad920aa6f9", "da0ba47443"),
}


def request_row(e: UsageEvent) -> tuple[str, int, int, int, int, int | None]:
    return (e.ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"), e.input_tokens,
            e.cache_read_tokens, e.output_tokens, e.reasoning_tokens, e.cost_micros)


@pytest.mark.parametrize("path", [SINGLE, MULTI, LONG], ids=["single", "multi", "long"])
def test_each_sample_rollout_request_by_request(path: Path, book: PriceBook) -> None:
    result = parse_path(path)
    assert result.errors == []
    for event in result.usage:
        book.price(event)
    assert [request_row(e) for e in result.usage] == EXPECTED_REQUESTS[path]
    assert {(e.session, e.project) for e in result.usage} == {EXPECTED_PLACE[path]}
    assert {(e.model, e.priced_model, e.tool, e.provider, e.source, e.confidence, e.cache_write_tokens)
            for e in result.usage} == {
        ("gpt-5.3-codex", "gpt-5.3-codex", "codex", "openai", "local_log", "estimated", 0)}
    assert len({e.id for e in result.usage}) == len(result.usage)


def test_event_ids_are_the_timestamp_and_running_totals() -> None:
    """Stable ids: the same row read from sessions/ and archived_sessions/ is stored once."""
    # (totals: input, cached, cache write, output, reasoning)
    assert [e.id for e in parse_path(SINGLE).usage] == ["codex:2026-02-23T12:19:52.689Z:34469:3456:0:431:264"]
    assert [e.id for e in parse_path(MULTI).usage][:2] == [
        "codex:2026-02-23T19:34:39.388Z:42772:3456:0:204:124",
        "codex:2026-02-23T19:34:44.075Z:86990:46336:0:300:141",
    ]


def test_synthetic_rollout_model_per_event(book: PriceBook) -> None:
    # turn_context (line 1) says gpt-5.2-codex; each token_count also names its own model in info.model,
    # and the second one names gpt-5.3-codex, which wins for that request.
    result = parse_path(SYNTHETIC)
    assert result.errors == []
    for event in result.usage:
        book.price(event)
    rows = [(e.id, e.model, *request_row(e)) for e in result.usage]
    assert rows == [
        # line 2: totals 1000 in (250 cached), 125 out (75 reasoning) -> input 750.
        # 750*1.75 + 250*0.175 + 125*14 = 1312.5 + 43.75 + 1750 = 3106.25 -> 3106
        ("codex:2026-05-13T09:01:00.000Z:1000:250:0:125:75", "gpt-5.2-codex",
         "2026-05-13T09:01:00.000Z", 750, 250, 125, 75, 3106),
        # line 3: totals 3500/750/425/275 minus 1000/250/125/75 = 2500 in (500 cached), 300 out (200 reasoning)
        # -> input 2000. 2000*1.75 + 500*0.175 + 300*14 = 3500 + 87.5 + 4200 = 7787.5 -> 7788 (7787 is odd)
        ("codex:2026-05-14T10:00:00.000Z:3500:750:0:425:275", "gpt-5.3-codex",
         "2026-05-14T10:00:00.000Z", 2000, 500, 300, 200, 7788),
    ]
    # No session_meta and not a rollout-… name: whatever the session is, the file is one session.
    assert len({e.session for e in result.usage}) == 1


# --- per session and per day -------------------------------------------------------------------------

# (requests, input, cache read, output, reasoning, cost in micro-USD)
EXPECTED_SESSIONS = {
    # Sums of the rows above. Cross-check: token sums equal each file's last total_token_usage, e.g. the
    # long file ends at 1751428 in / 1651968 cached / 14600 out / 4293 reasoning: 1751428-1651968 = 99460.
    "019c8a4d-8f45-7010-8b5d-7fad920aa6f9": (28, 99460, 1651968, 14600, 4293, 667551),
    "019c8a70-dda7-7f33-98ea-f30553347322": (1, 31013, 3456, 431, 264, 60912),
    # 298373-238848 = 59525 in; cost 72264+11190+19372+11412+10647+36805.
    "019c8bfe-ec25-79e0-97d7-bda6a9c575ff": (6, 59525, 238848, 1123, 483, 161690),
}
EXPECTED_DAYS = {
    # All three real rollouts are on 2026-02-23 UTC: 28 + 1 + 6 requests; input 99460+31013+59525,
    # cache read 1651968+3456+238848, output 14600+431+1123, reasoning 4293+264+483,
    # cost 667551 + 60912 + 161690.
    "2026-02-23": (35, 189998, 1894272, 16154, 5040, 890153),
}
EXPECTED_SYNTHETIC_DAYS = {
    "2026-05-13": (1, 750, 250, 125, 75, 3106),
    "2026-05-14": (1, 2000, 500, 300, 200, 7788),
}


def _sum(events: list[UsageEvent]) -> tuple[int, ...]:
    return (len(events), sum(e.input_tokens for e in events), sum(e.cache_read_tokens for e in events),
            sum(e.output_tokens for e in events), sum(e.reasoning_tokens for e in events),
            sum(e.cost_micros or 0 for e in events))


def _priced(paths: list[Path], book: PriceBook) -> list[UsageEvent]:
    events = [e for path in paths for e in parse_path(path).usage]
    for event in events:
        book.price(event)
    return events


def test_totals_per_session_and_day_from_the_parsed_events(book: PriceBook) -> None:
    events = _priced([SINGLE, MULTI, LONG], book)
    by_session: dict[str | None, list[UsageEvent]] = defaultdict(list)
    by_day: dict[str, list[UsageEvent]] = defaultdict(list)
    for event in events:
        by_session[event.session].append(event)
        by_day[event.ts.date().isoformat()].append(event)
    assert {k: _sum(v) for k, v in by_session.items()} == EXPECTED_SESSIONS
    assert {k: _sum(v) for k, v in by_day.items()} == EXPECTED_DAYS

    by_day = defaultdict(list)
    for event in _priced([SYNTHETIC], book):
        by_day[event.ts.date().isoformat()].append(event)
    assert {k: _sum(v) for k, v in by_day.items()} == EXPECTED_SYNTHETIC_DAYS


def _report_totals(store, kind: str) -> dict[str, tuple[int, ...]]:
    report = build_report(store, ReportOptions(kind=kind, tz="UTC"))
    return {row.key: (row.totals.requests, row.totals.input_tokens, row.totals.cache_read_tokens,
                      row.totals.output_tokens, row.totals.reasoning_tokens, row.totals.cost_micros)
            for row in report.rows}


def test_import_and_reports_give_the_same_totals(store, book: PriceBook) -> None:
    result = run_import(store, book, [Root(SESSIONS, "codex")])
    assert not result.partial, result.to_json()
    assert _report_totals(store, "daily") == EXPECTED_DAYS
    assert _report_totals(store, "session") == EXPECTED_SESSIONS


# --- incremental reads: the state carried between two reads --------------------------------------


def _split_parse(path: Path, cuts: list[int]) -> tuple[list[UsageEvent], list, dict | None]:
    lines = lines_of(path)
    events: list[UsageEvent] = []
    errors: list = []
    state = None
    for start, end in zip([0, *cuts], [*cuts, len(lines)], strict=True):
        result = parse_path(path, lines[start:end], state)
        events += result.usage
        errors += result.errors
        state = result.state
    return events, errors, state


@pytest.mark.parametrize("path", [SINGLE, MULTI, SYNTHETIC], ids=["single", "multi", "synthetic"])
def test_any_split_into_two_reads_gives_the_same_events(path: Path) -> None:
    whole = parse_path(path)
    for cut in range(len(lines_of(path)) + 1):
        events, errors, state = _split_parse(path, [cut])
        assert events == whole.usage, f"split after line {cut}"
        assert errors == []
        assert state == whole.state


def test_the_long_rollout_read_in_many_pieces_gives_the_same_events() -> None:
    whole = parse_path(LONG)
    # Cuts between a step and its re-emit (32|33..38), between turn_context and token_count (22|23),
    # right after session_meta (1) and turn_context (11), and a read with nothing new (200, 200).
    events, errors, state = _split_parse(LONG, [1, 11, 22, 33, 37, 200, 200, 415])
    assert events == whole.usage
    assert errors == []
    assert state == whole.state
    assert len(events) == 28


def test_state_remembers_session_project_model_and_totals() -> None:
    first = parse_path(SINGLE, lines_of(SINGLE)[:12])  # session_meta and turn_context, no usage yet
    assert first.usage == []
    assert first.state is not None
    # The second read has no session_meta or turn_context: all of it comes from the state.
    second = parse_path(SINGLE, lines_of(SINGLE)[12:], first.state)
    [event] = second.usage
    assert (event.session, event.project, event.model) == (
        "019c8a70-dda7-7f33-98ea-f30553347322", "da0ba47443", "gpt-5.3-codex")
    # Reading the last line again with the final state: a re-emit, nothing new.
    assert parse_path(SINGLE, lines_of(SINGLE)[18:], second.state).usage == []


# --- the rules, on inline lines ----------------------------------------------------------------------


def test_re_emitted_totals_add_nothing() -> None:
    events = parse_lines(
        turn_context("gpt-5.3-codex"),
        token_count("2026-03-01T10:00:01.000Z", (100, 40, 10, 4), last=(100, 40, 10, 4)),
        turn_context("gpt-5.3-codex"),
        token_count("2026-03-01T10:00:02.000Z", (100, 40, 10, 4), last=(100, 40, 10, 4)),  # re-emit
        token_count("2026-03-01T10:00:03.000Z", (250, 90, 30, 4), last=(150, 50, 20, 0)),
    ).usage
    assert [(e.ts, e.input_tokens, e.cache_read_tokens, e.output_tokens, e.reasoning_tokens) for e in events] == [
        (at("2026-03-01T10:00:01Z"), 60, 40, 10, 4),   # 100 in incl. 40 cached
        (at("2026-03-01T10:00:03Z"), 100, 50, 20, 0),  # (250-100) - (90-40) = 100, cached 50, output 20
    ]


def test_a_decrease_is_a_reset_and_the_last_usage_is_the_request() -> None:
    events = parse_lines(
        turn_context("gpt-5.3-codex"),
        token_count("2026-03-01T10:00:01.000Z", (1000, 400, 100, 10)),
        # totals went down: a new running count; this row's last_token_usage is the request
        token_count("2026-03-01T10:00:02.000Z", (300, 100, 50, 5), last=(120, 20, 15, 1)),
        # deltas resume from the new totals: 500-300 = 200 in, 150-100 = 50 cached, 70-50 = 20 out
        token_count("2026-03-01T10:00:03.000Z", (500, 150, 70, 5)),
        # a reset without last_token_usage: the new totals are the request
        token_count("2026-03-01T10:00:04.000Z", (60, 10, 6, 2)),
    ).usage
    assert [(e.input_tokens, e.cache_read_tokens, e.output_tokens, e.reasoning_tokens) for e in events] == [
        (600, 400, 100, 10),
        (100, 20, 15, 1),
        (150, 50, 20, 0),
        (50, 10, 6, 2),
    ]
    assert len({e.id for e in events}) == 4


def test_token_count_without_usable_info_is_skipped() -> None:
    result = parse_lines(
        turn_context("gpt-5.3-codex"),
        b'{"timestamp":"2026-03-01T10:00:01.000Z","type":"event_msg","payload":{"type":"token_count","info":null,'
        b'"rate_limits":{"primary":{"used_percent":7.0,"window_minutes":300}}}}',
        b'{"timestamp":"2026-03-01T10:00:02.000Z","type":"event_msg","payload":{"type":"token_count"}}',
        token_count("2026-03-01T10:00:03.000Z", None, model_context_window=258400),
    )
    assert result.usage == []
    assert result.errors == []


def test_only_last_token_usage_is_counted_as_is() -> None:
    # Without total_token_usage the row's last_token_usage is the request (and totals are not touched).
    [event] = parse_lines(turn_context("gpt-5.3-codex"),
                          token_count("2026-03-01T10:00:01.000Z", None, last=(11, 1, 3, 0))).usage
    assert (event.input_tokens, event.cache_read_tokens, event.output_tokens) == (10, 1, 3)
    assert event.id == "codex:2026-03-01T10:00:01.000Z:last:11:1:0:3:0"


def test_the_first_session_meta_names_the_thread() -> None:
    # A forked thread carries a second session_meta, its parent's: it must not rename this file's session.
    result = parse_lines(
        session_meta("0199aaaa-0000-7000-8000-000000000001", "/home/ana/src/payments-api"),
        session_meta("0199aaaa-0000-7000-8000-00000000000f", "/home/ana/src/parent-project"),
        turn_context("gpt-5.3-codex"),
        token_count("2026-03-01T10:00:01.000Z", (10, 0, 1, 0)),
    )
    [event] = result.usage
    assert (event.session, event.project) == ("0199aaaa-0000-7000-8000-000000000001", "payments-api")
    # ... also when the parent's session_meta comes in a later read.
    later = parse_lines(session_meta("0199aaaa-0000-7000-8000-00000000000f", "/home/ana/src/parent-project"),
                        token_count("2026-03-01T10:00:02.000Z", (20, 0, 2, 0)), state=result.state)
    assert [(e.session, e.project) for e in later.usage] == [
        ("0199aaaa-0000-7000-8000-000000000001", "payments-api")]


def test_without_session_meta_the_session_is_the_thread_id_in_the_file_name() -> None:
    [event] = parse_lines(token_count("2026-03-01T10:00:01.000Z", (10, 0, 1, 0))).usage
    assert event.session == "0199aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"
    assert event.project is None


def test_model_comes_from_turn_context_unless_the_event_names_one(book: PriceBook) -> None:
    events = parse_lines(
        token_count("2026-03-01T10:00:01.000Z", (10, 0, 1, 0)),  # before any turn_context: unknown
        turn_context("gpt-5.2-codex"),
        token_count("2026-03-01T10:00:02.000Z", (20, 0, 2, 0)),
        token_count("2026-03-01T10:00:03.000Z", (30, 0, 3, 0), model="gpt-5.3-codex"),  # info.model wins
        token_count("2026-03-01T10:00:04.000Z", (40, 0, 4, 0)),  # ... for that event only
        turn_context("gpt-5.1-codex-mini"),
        token_count("2026-03-01T10:00:05.000Z", (50, 0, 5, 0)),
    ).usage
    for event in events:
        book.price(event)
    assert [e.model for e in events] == [None, "gpt-5.2-codex", "gpt-5.3-codex", "gpt-5.2-codex", "gpt-5.1-codex-mini"]
    # Unknown model: unpriced, never $0. gpt-5.1-codex-mini: 10*0.25 + 1*2 = 4.5 -> 4 (half to even).
    assert [e.cost_micros for e in events] == [None, 32, 32, 32, 4]  # 10*1.75 + 1*14 = 31.5 -> 32


def test_cached_and_reasoning_are_parts_not_extras() -> None:
    # 1000 input of which 800 cached; 300 output of which 120 reasoning.
    [event] = parse_lines(turn_context("gpt-5.3-codex"),
                          token_count("2026-03-01T10:00:01.000Z", (1000, 800, 300, 120))).usage
    assert (event.input_tokens, event.cache_read_tokens, event.output_tokens, event.reasoning_tokens) == (
        200, 800, 300, 120)
    assert event.total_tokens == 1300  # what Codex calls total_tokens: input + output


# --- malformed lines ---------------------------------------------------------------------------------


def test_a_token_count_without_timestamp_is_reported() -> None:
    result = parse_lines(token_count(None, (10, 0, 1, 0)), token_count("2026-03-01T10:00:01.000Z", (20, 0, 2, 0)))
    assert result.errors == [(1, "token_count without a `timestamp`")]
    [event] = result.usage
    # The unreadable row was not counted, so the next step (from zero) carries its tokens: none are lost.
    assert event.input_tokens == 20


def test_a_string_token_count_is_reported_with_the_field_name() -> None:
    bad = (b'{"timestamp":"2026-03-01T10:00:01.000Z","type":"event_msg","payload":{"type":"token_count",'
           b'"info":{"total_token_usage":{"input_tokens":"5","output_tokens":1}}}}')
    result = parse_lines(bad, token_count("2026-03-01T10:00:02.000Z", (20, 0, 2, 0)))
    [error] = result.errors
    assert error.line == 1
    assert "payload.info.total_token_usage.input_tokens" in error.message
    assert len(result.usage) == 1


def test_a_negative_token_count_is_reported() -> None:
    bad = token_count("2026-03-01T10:00:01.000Z", (10, 0, -1, 0))
    result = parse_lines(bad)
    assert result.usage == []
    [error] = result.errors
    assert "payload.info.total_token_usage.output_tokens" in error.message
    assert ">= 0" in error.message


def test_bad_json_on_a_token_count_line_is_reported_and_the_rest_kept() -> None:
    cut = token_count("2026-03-01T10:00:01.000Z", (10, 0, 1, 0))[:-30]
    result = parse_lines(cut, token_count("2026-03-01T10:00:02.000Z", (20, 0, 2, 0)))
    assert [(e.line, e.message.startswith("invalid JSON")) for e in result.errors] == [(1, True)]
    assert [e.input_tokens for e in result.usage] == [20]


def test_a_bad_turn_context_is_reported() -> None:
    result = parse_lines(b'{"timestamp":"2026-03-01T10:00:00.000Z","type":"turn_context","payload":{"model":5}}')
    [error] = result.errors
    assert "payload.model" in error.message


@pytest.mark.parametrize("raw", [b"[1, 2]", b"7", b'"token_count"'])
def test_a_line_that_is_not_a_json_object_is_reported(raw: bytes) -> None:
    [error] = parse_lines(raw).errors
    assert error.line == 1
    assert "object" in error.message


def test_lines_we_do_not_read_are_only_checked_for_being_cut_short() -> None:
    cut = b'{"timestamp":"2026-03-01T10:00:00.000Z","type":"response_item","payload":{"type":"message","content":"hal'
    odd = [
        b'{"timestamp":"2026-03-01T10:00:00.000Z","type":"response_item","payload":["not","an","object"]}',
        # mentions token_count, but is not one: its payload may hold anything
        b'{"timestamp":1,"type":"response_item","payload":{"type":"message","info":"token_count is a word"}}',
        b'{"type":"compacted","payload":{"message":"","replacement_history":[]}}',
        b'{"timestamp":"2026-03-01T10:00:00.000Z","type":"event_msg","payload":{"type":"agent_message","message":"hi"}}',
    ]
    result = parse_lines(cut, *odd)
    assert result.errors == [(1, result.errors[0].message)]
    assert result.errors[0].message.startswith("invalid JSON")
    assert result.usage == []
