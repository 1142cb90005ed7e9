"""Claude Code transcripts: exact tokens and cost on every sample file, and what happens to bad lines.

Expected numbers were worked out by hand from the files (each line's `message.usage` read with a
separate script, never with the parser under test). Prices from the bundled book, in USD per million
tokens, which is the same number as micro-USD per token:

    claude-opus-4-6    input 5,  output 25, cache write 5m 6.25,  1h 10, cache read 0.5  (fast mode x6)
    claude-sonnet-4-5  input 3,  output 15, cache write 5m 3.75,  1h 6,  cache read 0.3
    claude-sonnet-4    input 3,  output 15, cache write 5m 3.75,  1h 6,  cache read 0.3
    claude-opus-4      input 15, output 75, cache write 5m 18.75, 1h 30, cache read 1.5  (no fast multiplier)

(The Sonnet long-context tier starts above 200,000 prompt tokens; no request here comes near it.)
A request's cost is rounded once, half to even, to integer micro-USD; sums add the rounded costs.
`service_tier: "standard"` and `inference_geo` other than "us" carry no multiplier.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from tokenpulse.events import UsageEvent
from tokenpulse.ingest import run_import
from tokenpulse.pricing import PriceBook
from tokenpulse.reports import ReportOptions, build_report
from tokenpulse.sources import Root, file_context
from tokenpulse.sources.base import ParseResult
from tokenpulse.sources.claude_code import parse

PROJECTS = Path(__file__).parent.parent / "data" / "claude" / "projects"
SUBAGENTS = "spotter/ae4a77f8-aedd-4bc1-888f-c94edc91af04/subagents"


def lines_of(path: Path) -> list[tuple[int, bytes]]:
    return [(n, raw) for n, raw in enumerate(path.read_bytes().splitlines(), 1)]


def parse_file(relative: str) -> ParseResult:
    path = PROJECTS / relative
    return parse(lines_of(path), file_context(path, PROJECTS, "claude_code", None))


def parse_lines(*raw: bytes, where: str = "proj/sess.jsonl") -> ParseResult:
    """Parse inline lines as if they were `projects/<where>`."""
    root = Path("/logs/projects")
    return parse(list(enumerate(raw, 1)), file_context(root / where, root, "claude_code", None))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def usage_line(*, id: str | None = "msg_1", ts: str | None = "2026-03-01T10:00:00.000Z",
               model: str = "claude-sonnet-4-5", usage: str = '{"input_tokens":10,"output_tokens":5}',
               extra: str = "") -> bytes:
    """An assistant line in Claude Code's shape (`extra` is spliced in as more top-level fields)."""
    parts = ['"type":"assistant"']
    if ts is not None:
        parts.append(f'"timestamp":"{ts}"')
    message = [f'"model":"{model}"', f'"usage":{usage}']
    if id is not None:
        message.insert(0, f'"id":"{id}"')
    parts.append('"message":{' + ",".join(message) + "}")
    if extra:
        parts.append(extra)
    return ("{" + ",".join(parts) + "}").encode()


# --- every sample file, request by request ---------------------------------------------------------

# (id, timestamp, model, input, output, cache write, of which 1h, cache read, list cost in micro-USD)
EXPECTED_REQUESTS: dict[str, list[tuple[str, str, str, int, int, int, int, int, int]]] = {
    "spotter/short.jsonl": [
        # Lines 5, 6, 7, 8 and 10 are five content blocks of one response (msg_01MKH1…, req_011CY15Q…),
        # all with the same usage (total 3 + 13 + 13835 + 11515): a tie, so the first copy is kept
        # (line 5, 21:11:59.186). Every cache write is 1h (ephemeral_1h 13835, ephemeral_5m 0).
        # 3*5 + 13*25 + 13835*10 + 11515*0.5 = 144447.5 -> 144448 (half to even: 144447 is odd)
        ("claude_code:msg_01MKH1ccEGrZGNPvu8pYiiQa", "2026-02-10T21:11:59.186Z", "claude-opus-4-6",
         3, 13, 13835, 13835, 11515, 144448),
    ],
    "spotter/tool_heavy.jsonl": [
        # line 5 only. 3*5 + 27*25 + 7883*10 + 17915*0.5 = 88477.5 -> 88478 (88477 is odd)
        ("claude_code:msg_0167kgZUrgcT7dg7uZK7hVSg", "2026-02-10T22:57:57.941Z", "claude-opus-4-6",
         3, 27, 7883, 7883, 17915, 88478),
        # lines 12, 13 identical: first (line 12) kept. 1*5 + 1*25 + 208*10 + 25798*0.5 = 15009
        ("claude_code:msg_01NUXWeNeduGBJVib8gyo9kz", "2026-02-10T22:58:02.040Z", "claude-opus-4-6",
         1, 1, 208, 208, 25798, 15009),
        # lines 27-30 identical: line 27 kept. 3*5 + 11*25 + 8490*10 + 18014*0.5 = 94197
        ("claude_code:msg_01LbyjvsALGe2gMsTgDSj7e6", "2026-02-10T22:59:25.207Z", "claude-opus-4-6",
         3, 11, 8490, 8490, 18014, 94197),
        # line 34 has the placeholder output 25, line 37 the final 173 (larger total): line 37 wins.
        # 47*5 + 173*25 + 1115*10 + 26504*0.5 = 28962 (web_search_requests 0: no search fee)
        ("claude_code:msg_019BN3FRqb7NU4DgBN5jdsym", "2026-02-10T22:59:37.598Z", "claude-opus-4-6",
         47, 173, 1115, 1115, 26504, 28962),
    ],
    f"{SUBAGENTS}/agent-aac57f5.jsonl": [
        # lines 2-7 identical (sidechain; all writes 5m): line 2 kept.
        # 3*3 + 3*15 + 13838*3.75 = 51946.5 -> 51946 (half to even: 51946 is even)
        ("claude_code:msg_01XnP8V9m3LNbxPnXbuinNKs", "2026-02-12T14:12:35.291Z", "claude-sonnet-4-5-20250929",
         3, 3, 13838, 0, 0, 51946),
        # lines 21-24, 29-31 identical: line 21 kept. 2326*3 + 3*15 + 1598*3.75 + 13838*0.3 = 17166.9 -> 17167
        ("claude_code:msg_01QUWJL4JqVhaSxqh4fsVEw3", "2026-02-12T14:12:45.005Z", "claude-sonnet-4-5-20250929",
         2326, 3, 1598, 0, 13838, 17167),
        # line 40 only. 79*3 + 1*15 + 3378*3.75 + 15436*0.3 = 17550.3 -> 17550
        ("claude_code:msg_01QGx4ZWACvqLdKD387cHH6u", "2026-02-12T14:13:05.048Z", "claude-sonnet-4-5-20250929",
         79, 1, 3378, 0, 15436, 17550),
    ],
    f"{SUBAGENTS}/agent-acompact-946d2b.jsonl": [
        # line 2 only (compaction agent, all writes 5m, inference_geo "global": no multiplier).
        # 3*5 + 8*25 + 121689*6.25 + 17842*0.5 = 769692.25 -> 769692
        ("claude_code:msg_01PKUiWZohLj43EHW343WeHF", "2026-02-12T14:48:36.518Z", "claude-opus-4-6",
         3, 8, 121689, 0, 17842, 769692),
    ],
    "project-alpha/session-alpha/chat.jsonl": [
        # ccusage's minimal lines: no `type`, no `cache_creation` split (so the write is priced as 5m).
        # line 1: 100*3 + 50*15 + 25*3.75 + 10*0.3 = 1146.75 -> 1147
        ("claude_code:msg-alpha-1", "2026-01-09T10:00:00.000Z", "claude-sonnet-4-20250514",
         100, 50, 25, 0, 10, 1147),
        # line 2 (speed "fast", but claude-opus-4 has no fast price):
        # 200*15 + 75*75 + 50*18.75 + 20*1.5 = 9592.5 -> 9592 (half to even: 9592 is even)
        ("claude_code:msg-alpha-2", "2026-01-09T12:30:00.000Z", "claude-opus-4-20250514",
         200, 75, 50, 0, 20, 9592),
        # line 3: 300*3 + 125*15 + 0 + 40*0.3 = 2787
        ("claude_code:msg-alpha-3", "2026-01-10T09:15:00.000Z", "claude-sonnet-4-20250514",
         300, 125, 0, 0, 40, 2787),
    ],
}

# Where each file's requests belong: (session, project, request ids in order).
# Sessions come from the lines' `sessionId` (sub-agents carry their parent's), projects from the last
# part of `cwd`; chat.jsonl has no `cwd`, so its project is the folder under `projects/`.
EXPECTED_PLACE: dict[str, tuple[str, str, list[str]]] = {
    "spotter/short.jsonl": ("55604662-cf2a-4331-851a-ec234028f8ca", "spotter", ["req_011CY15QS2LGwAeBxdfa6e1V"]),
    "spotter/tool_heavy.jsonl": ("d6e0bada-1959-4eec-a9d2-0bfade768d8f", "spotter", [
        "req_011CY1DV6ZcyGeWGTb4kSw2L", "req_011CY1DVR7LRGxBs854DBvGb", "req_011CY1DbbVb9F8NCfb4b1CiC",
        "req_011CY1DcMwHdEPXMf4hW4MxJ"]),
    f"{SUBAGENTS}/agent-aac57f5.jsonl": ("ae4a77f8-aedd-4bc1-888f-c94edc91af04", "spotter-4te", [
        "req_011CY4K3HXfgRxtBDTKT1WE4", "req_011CY4K429UjYJVF2evcnrc4", "req_011CY4K4eLqJ5VnDwkuY6Eum"]),
    f"{SUBAGENTS}/agent-acompact-946d2b.jsonl": ("ae4a77f8-aedd-4bc1-888f-c94edc91af04", "spotter-4te",
                                                 ["req_011CY4MgNtPrVVYhpAZsWK7E"]),
    "project-alpha/session-alpha/chat.jsonl": ("session-alpha", "project-alpha",
                                               ["req-alpha-1", "req-alpha-2", "req-alpha-3"]),
}


def request_row(e: UsageEvent) -> tuple[str, str, str, int, int, int, int, int, int | None]:
    return (e.id, e.ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"), e.model or "",
            e.input_tokens, e.output_tokens, e.cache_write_tokens, e.cache_write_1h_tokens,
            e.cache_read_tokens, e.cost_micros)


@pytest.mark.parametrize("relative", sorted(EXPECTED_REQUESTS))
def test_each_sample_file_request_by_request(relative: str, book: PriceBook) -> None:
    result = parse_file(relative)
    assert result.errors == []
    for event in result.usage:
        book.price(event)
    assert [request_row(e) for e in result.usage] == EXPECTED_REQUESTS[relative]
    session, project, request_ids = EXPECTED_PLACE[relative]
    assert {(e.session, e.project) for e in result.usage} == {(session, project)}
    assert [e.request_id for e in result.usage] == request_ids
    assert {(e.tool, e.provider, e.source, e.confidence) for e in result.usage} == {
        ("claude_code", "anthropic", "local_log", "estimated")}
    assert all(e.reasoning_tokens == 0 and e.web_search_requests == 0 for e in result.usage)


def test_sub_agent_lines_name_their_agent() -> None:
    assert {e.extra["agent_id"] for e in parse_file(f"{SUBAGENTS}/agent-aac57f5.jsonl").usage} == {"aac57f5"}
    assert [e.extra for e in parse_file(f"{SUBAGENTS}/agent-acompact-946d2b.jsonl").usage] == [
        {"agent_id": "acompact-946d2b"}]
    assert all(e.extra is None for e in parse_file("spotter/short.jsonl").usage)


def test_legacy_cost_usd_is_kept_beside_the_computed_cost(book: PriceBook) -> None:
    # chat.jsonl lines 1-3 carry costUSD 0.12, 0.34, 0.56: kept as reported, never replacing the list cost.
    events = parse_file("project-alpha/session-alpha/chat.jsonl").usage
    for event in events:
        book.price(event)
    assert [(e.reported_cost_micros, e.cost_micros) for e in events] == [
        (120_000, 1147), (340_000, 9592), (560_000, 2787)]
    assert [e.speed for e in events] == [None, "fast", None]
    # Modern lines have no costUSD.
    assert all(e.reported_cost_micros is None for e in parse_file("spotter/tool_heavy.jsonl").usage)


# --- per session and per day -------------------------------------------------------------------------

# (requests, input, output, cache write, of which 1h, cache read, cost in micro-USD)
EXPECTED_SESSIONS = {
    # short.jsonl: its one request.
    "55604662-cf2a-4331-851a-ec234028f8ca": (1, 3, 13, 13835, 13835, 11515, 144448),
    # tool_heavy.jsonl: input 3+1+3+47, output 27+1+11+173, writes 7883+208+8490+1115 (all 1h),
    # reads 17915+25798+18014+26504; cost 88478 + 15009 + 94197 + 28962.
    "d6e0bada-1959-4eec-a9d2-0bfade768d8f": (4, 54, 212, 17696, 17696, 88231, 226646),
    # both sub-agent files (parent session ae4a77f8…): input 3+2326+79+3, output 3+3+1+8,
    # writes 13838+1598+3378+121689 (all 5m), reads 0+13838+15436+17842; cost 51946+17167+17550+769692.
    "ae4a77f8-aedd-4bc1-888f-c94edc91af04": (4, 2411, 15, 140503, 0, 47116, 856355),
    # chat.jsonl: input 100+200+300, output 50+75+125, writes 25+50+0, reads 10+20+40; cost 1147+9592+2787.
    "session-alpha": (3, 600, 250, 75, 0, 70, 13526),
}

EXPECTED_DAYS = {  # UTC dates
    # chat.jsonl lines 1 and 2: input 100+200, output 50+75, writes 25+50, reads 10+20; cost 1147 + 9592.
    "2026-01-09": (2, 300, 125, 75, 0, 30, 10739),
    # chat.jsonl line 3.
    "2026-01-10": (1, 300, 125, 0, 0, 40, 2787),
    # short.jsonl + tool_heavy.jsonl: input 3+54, output 13+212, writes 13835+17696 (all 1h),
    # reads 11515+88231; cost 144448 + 226646.
    "2026-02-10": (5, 57, 225, 31531, 31531, 99746, 371094),
    # the two sub-agent files (session ae4a77f8…).
    "2026-02-12": (4, 2411, 15, 140503, 0, 47116, 856355),
}


def _sum(events: list[UsageEvent]) -> tuple[int, ...]:
    return (len(events), sum(e.input_tokens for e in events), sum(e.output_tokens for e in events),
            sum(e.cache_write_tokens for e in events), sum(e.cache_write_1h_tokens for e in events),
            sum(e.cache_read_tokens for e in events), sum(e.cost_micros or 0 for e in events))


def _all_sample_events(book: PriceBook) -> list[UsageEvent]:
    events = [e for relative in EXPECTED_REQUESTS for e in parse_file(relative).usage]
    for event in events:
        book.price(event)
    return events


def test_totals_per_session_from_the_parsed_events(book: PriceBook) -> None:
    by_session: dict[str | None, list[UsageEvent]] = defaultdict(list)
    for event in _all_sample_events(book):
        by_session[event.session].append(event)
    assert {k: _sum(v) for k, v in by_session.items()} == EXPECTED_SESSIONS


def test_totals_per_day_from_the_parsed_events(book: PriceBook) -> None:
    by_day: dict[str, list[UsageEvent]] = defaultdict(list)
    for event in _all_sample_events(book):
        by_day[event.ts.date().isoformat()].append(event)
    assert {k: _sum(v) for k, v in by_day.items()} == EXPECTED_DAYS


def _report_totals(store, kind: str) -> dict[str, tuple[int, ...]]:
    report = build_report(store, ReportOptions(kind=kind, tz="UTC"))
    return {row.key: (row.totals.requests, row.totals.input_tokens, row.totals.output_tokens,
                      row.totals.cache_write_tokens, row.totals.cache_write_1h_tokens,
                      row.totals.cache_read_tokens, row.totals.cost_micros) for row in report.rows}


def test_import_and_reports_give_the_same_totals(store, book: PriceBook) -> None:
    """The whole path: import the sample folder into the store, then the daily and session reports."""
    result = run_import(store, book, [Root(PROJECTS, "claude_code")])
    assert not result.partial, result.to_json()
    assert _report_totals(store, "daily") == EXPECTED_DAYS
    assert _report_totals(store, "session") == EXPECTED_SESSIONS
    # Importing the same files again changes nothing.
    run_import(store, book, [Root(PROJECTS, "claude_code")])
    assert _report_totals(store, "daily") == EXPECTED_DAYS


# --- which copy of a response is kept ---------------------------------------------------------------


def test_the_largest_copy_wins_whatever_the_order() -> None:
    placeholder = usage_line(usage='{"input_tokens":10,"output_tokens":1}', ts="2026-03-01T10:00:00.000Z")
    final = usage_line(usage='{"input_tokens":10,"output_tokens":90}', ts="2026-03-01T10:00:02.000Z")
    for lines in ((placeholder, final), (final, placeholder)):
        [event] = parse_lines(*lines).usage
        assert (event.id, event.output_tokens, event.ts) == ("claude_code:msg_1", 90, at("2026-03-01T10:00:02Z"))


def test_across_reads_the_final_copy_ranks_higher() -> None:
    """The parser sees one read at a time; the store keeps the higher rank, so later reads can improve."""
    [early] = parse_lines(usage_line(usage='{"input_tokens":10,"output_tokens":1}')).usage
    [late] = parse_lines(usage_line(usage='{"input_tokens":10,"output_tokens":90}')).usage
    assert early.id == late.id
    assert late.rank > early.rank


def test_on_a_tie_the_first_copy_is_kept() -> None:
    first = usage_line(ts="2026-03-01T10:00:00.000Z", extra='"requestId":"req_a"')
    second = usage_line(ts="2026-03-01T10:00:05.000Z", extra='"requestId":"req_b"')
    [event] = parse_lines(first, second).usage
    assert (event.request_id, event.ts) == ("req_a", at("2026-03-01T10:00:00Z"))


def test_on_a_tie_the_main_chain_beats_a_sidechain_replay() -> None:
    # A /btw side question replays a parent message: same message.id and usage, another requestId.
    main = usage_line(extra='"isSidechain":false,"requestId":"req_main"')
    replay = usage_line(extra='"isSidechain":true,"requestId":"req_side"')
    for lines in ((replay, main), (main, replay)):
        [event] = parse_lines(*lines).usage
        assert event.request_id == "req_main"
    # Across reads (or files) the store decides by rank: the main-chain copy must rank higher.
    [main_event] = parse_lines(main).usage
    [replay_event] = parse_lines(replay).usage
    assert main_event.rank > replay_event.rank
    # But a larger total still wins, sidechain or not.
    bigger_replay = usage_line(usage='{"input_tokens":10,"output_tokens":6}',
                               extra='"isSidechain":true,"requestId":"req_side"')
    [event] = parse_lines(main, bigger_replay).usage
    assert (event.request_id, event.output_tokens) == ("req_side", 6)


def test_distinct_message_ids_are_distinct_requests() -> None:
    events = parse_lines(usage_line(id="msg_a"), usage_line(id="msg_b"), usage_line(id="msg_a")).usage
    assert [e.id for e in events] == ["claude_code:msg_a", "claude_code:msg_b"]


def test_ids_without_message_id_fall_back_to_uuid_then_to_the_line_bytes() -> None:
    with_uuid = usage_line(id=None, extra='"uuid":"0b8f6a52-1111-2222-3333-444455556666"')
    bare = usage_line(id=None, usage='{"input_tokens":7,"output_tokens":2}')
    events = parse_lines(with_uuid, bare, bare).usage  # the same bare line twice is one request
    assert [e.id for e in events] == [
        "claude_code:uuid:0b8f6a52-1111-2222-3333-444455556666",
        "claude_code:line:" + hashlib.sha256(bare).hexdigest()[:32],
    ]
    # The same bytes read again (another import, another file) give the same id.
    assert parse_lines(bare, where="other/file.jsonl").usage[0].id == events[1].id


# --- token fields -------------------------------------------------------------------------------------


def test_cache_write_split_by_ttl_when_present_else_the_total(book: PriceBook) -> None:
    # With the split, the split is authoritative (here deliberately inconsistent with the total 999).
    split = usage_line(id="msg_split", usage='{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":999,'
                                            '"cache_creation":{"ephemeral_5m_input_tokens":100,'
                                            '"ephemeral_1h_input_tokens":50}}')
    # Without it (older lines), cache_creation_input_tokens, priced as 5-minute writes.
    total_only = usage_line(id="msg_total", usage='{"input_tokens":0,"output_tokens":0,'
                                                  '"cache_creation_input_tokens":200}')
    # An empty split object is no split.
    empty_split = usage_line(id="msg_empty", usage='{"input_tokens":0,"output_tokens":0,'
                                                  '"cache_creation_input_tokens":40,"cache_creation":{}}')
    events = parse_lines(split, total_only, empty_split).usage
    for event in events:
        book.price(event)
    assert [(e.cache_write_tokens, e.cache_write_1h_tokens, e.cost_micros) for e in events] == [
        (150, 50, 675),  # sonnet-4-5: 100*3.75 + 50*6 = 675
        (200, 0, 750),   # 200*3.75 = 750
        (40, 0, 150),    # 40*3.75 = 150
    ]


def test_fast_mode_is_kept_and_priced(book: PriceBook) -> None:
    line = usage_line(model="claude-opus-4-6", usage='{"input_tokens":1000,"output_tokens":100,"speed":"fast",'
                                                    '"service_tier":"standard","inference_geo":"global"}')
    [event] = parse_lines(line).usage
    book.price(event)
    assert (event.speed, event.service_tier, event.inference_geo) == ("fast", "standard", "global")
    assert event.cost_micros == 45_000  # (1000*5 + 100*25) * 6 = 7500 * 6


def test_thinking_and_web_searches_are_read(book: PriceBook) -> None:
    line = usage_line(usage='{"input_tokens":100,"output_tokens":40,"output_tokens_details":{"thinking_tokens":30},'
                            '"server_tool_use":{"web_search_requests":2}}')
    [event] = parse_lines(line).usage
    book.price(event)
    assert (event.reasoning_tokens, event.web_search_requests) == (30, 2)
    # sonnet-4-5: 100*3 + 40*15 + 2 searches * 10 USD per 1000 (= 10,000 micro-USD each) = 300 + 600 + 20000
    assert event.cost_micros == 20_900


def test_synthetic_lines_are_skipped_silently() -> None:
    synthetic = usage_line(id="msg_syn", model="<synthetic>", usage='{"input_tokens":0,"output_tokens":0}')
    result = parse_lines(synthetic, usage_line(id="msg_real"))
    assert [e.id for e in result.usage] == ["claude_code:msg_real"]
    assert result.errors == []


def test_timestamps_are_stored_in_utc() -> None:
    events = parse_lines(usage_line(id="a", ts="2026-03-01T01:30:00+02:00"),
                         usage_line(id="b", ts="2026-03-01T10:00:00")).usage  # naive: taken as UTC
    assert [e.ts for e in events] == [at("2026-02-28T23:30:00+00:00"), at("2026-03-01T10:00:00+00:00")]
    assert all(e.ts.utcoffset().total_seconds() == 0 for e in events)


def test_session_and_project_fall_back_to_where_the_file_is() -> None:
    bare = usage_line()  # no sessionId, no cwd
    [event] = parse_lines(bare, where="my-project/0e5c0f6a.jsonl").usage
    assert (event.session, event.project) == ("0e5c0f6a", "my-project")
    [event] = parse_lines(bare, where="my-project/0e5c0f6a/subagents/agent-x.jsonl").usage
    assert (event.session, event.project) == ("0e5c0f6a", "my-project")
    [event] = parse_lines(usage_line(extra='"sessionId":"s-1","cwd":"/home/ana/src/payments-api/"')).usage
    assert (event.session, event.project) == ("s-1", "payments-api")


# --- malformed lines: reported with their line number, the rest of the file kept -----------------------


def test_bad_json_on_a_usage_line_is_reported_and_the_rest_kept() -> None:
    cut = usage_line(id="msg_cut")[:-20]
    result = parse_lines(usage_line(id="msg_ok"), cut, usage_line(id="msg_after"))
    assert [e.id for e in result.usage] == ["claude_code:msg_ok", "claude_code:msg_after"]
    assert [(e.line, e.message.startswith("invalid JSON")) for e in result.errors] == [(2, True)]


def test_a_string_token_count_is_reported_with_the_field_name() -> None:
    result = parse_lines(usage_line(usage='{"input_tokens":"12","output_tokens":3}'))
    assert result.usage == []
    [error] = result.errors
    assert error.line == 1
    assert "message.usage.input_tokens" in error.message
    assert "str" in error.message


def test_a_negative_token_count_is_reported() -> None:
    result = parse_lines(usage_line(id="msg_bad", usage='{"input_tokens":5,"output_tokens":-3}'),
                         usage_line(id="msg_ok"))
    assert [e.id for e in result.usage] == ["claude_code:msg_ok"]
    [error] = result.errors
    assert error.line == 1
    assert "message.usage.output_tokens" in error.message
    assert ">= 0" in error.message


def test_a_bad_timestamp_on_a_usage_line_is_reported() -> None:
    result = parse_lines(usage_line(ts="yesterday"))
    assert result.usage == []
    [error] = result.errors
    assert "timestamp" in error.message


def test_a_usage_line_without_timestamp_is_reported() -> None:
    result = parse_lines(usage_line(ts=None), usage_line(id="msg_ok"))
    assert [e.id for e in result.usage] == ["claude_code:msg_ok"]
    assert result.errors == [(1, "usage line without a `timestamp`")]


@pytest.mark.parametrize("raw", [b"[1, 2, 3]", b"42", b'"text"', b'["usage"]', b"null"])
def test_a_line_that_is_not_a_json_object_is_reported(raw: bytes) -> None:
    result = parse_lines(raw, usage_line())
    assert len(result.usage) == 1
    [error] = result.errors
    assert error.line == 1
    assert "object" in error.message


def test_a_line_without_usage_that_was_cut_short_is_reported() -> None:
    cut = b'{"type":"user","message":{"role":"user","content":"please fix the bu'
    result = parse_lines(usage_line(), cut)
    assert len(result.usage) == 1
    [error] = result.errors
    assert error.line == 2
    assert error.message.startswith("invalid JSON")


def test_odd_but_complete_lines_without_usage_are_not_reported() -> None:
    odd = [
        b'{"type":"user","message":"plain text, not an object","timestamp":12,"odd":[1,{"x":null}]}',
        b'{"type":"future-kind","whatever":{"deep":[true,false]}}',
        # mentions "usage" but has no message.usage object; its other fields have unexpected types
        b'{"type":"user","message":{"content":"what is my \\"usage\\"?"},"timestamp":false,"isSidechain":"no"}',
        b'{"type":"assistant","message":{"id":"msg_x","usage":null},"timestamp":"2026-03-01T10:00:00Z"}',
        b'  {"type":"summary","summary":"padded with spaces"}  ',
        b'{"type":"system","content":"crlf line"}\r',
    ]
    result = parse_lines(*odd)
    assert result.errors == []
    assert result.usage == []


def test_a_non_finite_cost_usd_is_a_line_error_not_a_crash() -> None:
    """One bad value must not lose the rest of the file (DESIGN: every input path, bad input)."""
    bad = usage_line(id="msg_bad", extra='"costUSD":"NaN"')
    huge = usage_line(id="msg_huge", extra='"costUSD":1e999999')
    result = parse_lines(usage_line(id="msg_ok"), bad, huge)
    assert [e.id for e in result.usage] == ["claude_code:msg_ok"]
    assert [e.line for e in result.errors] == [2, 3]
    assert all("costUSD" in e.message for e in result.errors)
