"""Incremental import into the real DuckDB store: files read twice, grown, half-written, truncated,
rewritten, moved and deleted, malformed lines, and Codex running totals across imports.

Every test works on real files in tmp_path (copies of tests/data or lines written here the way the tools
write them: compact JSON, one object per line) and checks exact counts and token sums in the store."""

from __future__ import annotations

import json
import os
import random
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from tokenpulse import lines
from tokenpulse.ingest import ImportReport, run_import
from tokenpulse.pricing import PriceBook
from tokenpulse.sources import Root
from tokenpulse.store import UsageQuery, WriteResult
from tokenpulse.store.duckdb import DuckDBStore

SONNET = "claude-sonnet-4-5"


# --- writing log lines as the tools do ------------------------------------------------------------


def dumps(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def assistant(msg_id: str, ts: str, output: int, *, uuid: str | None = None, input: int = 3,
              cache_read: int = 1000, model: str = SONNET, session: str = "sess-1") -> bytes:
    """One Claude Code assistant line (one content block of response `msg_id`)."""
    return dumps({
        "parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/home/dev/src/proj",
        "sessionId": session, "version": "2.1.39", "gitBranch": "main",
        "message": {"model": model, "id": msg_id, "type": "message", "role": "assistant",
                    "content": [{"type": "text", "text": "Done."}], "stop_reason": None, "stop_sequence": None,
                    "usage": {"input_tokens": input, "cache_creation_input_tokens": 0,
                              "cache_read_input_tokens": cache_read,
                              "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                              "output_tokens": output, "service_tier": "standard"}},
        "requestId": f"req_{msg_id}", "type": "assistant", "uuid": uuid or f"uuid-{msg_id}-{output}",
        "timestamp": ts,
    })


def user(ts: str, text: str = "run the tests please", session: str = "sess-1") -> bytes:
    return dumps({"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/home/dev/src/proj",
                  "sessionId": session, "version": "2.1.39", "type": "user",
                  "message": {"role": "user", "content": text}, "uuid": f"user-{ts}", "timestamp": ts})


def sonnet_cost(output: int, input: int = 3, cache_read: int = 1000) -> int:
    """micro-USD at the bundled claude-sonnet-4-5 rates ($3 in, $15 out, $0.30 cache read per million)."""
    return input * 3 + output * 15 + cache_read * 3 // 10


# Codex rollouts
THREAD = "0199aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"
ROLLOUT = f"rollout-2026-05-13T09-00-00-{THREAD}.jsonl"


def codex_meta(cwd: str = "/home/dev/src/payments-api") -> bytes:
    return dumps({"timestamp": "2026-05-13T09:00:00.000Z", "type": "session_meta",
                  "payload": {"id": THREAD, "timestamp": "2026-05-13T09:00:00.000Z", "cwd": cwd,
                              "originator": "codex_cli_rs", "cli_version": "0.104.0"}})


def codex_turn(ts: str, model: str = "gpt-5.2-codex") -> bytes:
    return dumps({"timestamp": ts, "type": "turn_context", "payload": {"cwd": "/home/dev/src/payments-api",
                                                                       "model": model}})


def codex_tokens(ts: str, total: tuple[int, int, int, int], last: tuple[int, int, int, int]) -> bytes:
    """A token_count event: (input incl. cached, cached, output incl. reasoning, reasoning)."""
    def usage(t: tuple[int, int, int, int]) -> dict:
        return {"input_tokens": t[0], "cached_input_tokens": t[1], "output_tokens": t[2],
                "reasoning_output_tokens": t[3], "total_tokens": t[0] + t[2]}
    return dumps({"timestamp": ts, "type": "event_msg", "payload": {
        "type": "token_count", "info": {"total_token_usage": usage(total), "last_token_usage": usage(last),
                                        "model_context_window": 258400}}})


# --- reading the store ----------------------------------------------------------------------------


def totals(store: DuckDBStore, tool: str | None = None) -> tuple[int, ...]:
    """(events, input, output, cache read, cache write, cost) over the stored events (ids checked unique)."""
    where = "WHERE tool = ?" if tool else ""
    row = store.con.execute(f"""
        SELECT count(*), count(DISTINCT id), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
               coalesce(sum(cache_read_tokens), 0), coalesce(sum(cache_write_tokens), 0),
               coalesce(sum(cost_micros), 0)
        FROM events {where}""", [tool] if tool else []).fetchall()[0]
    assert row[0] == row[1], "duplicate ids in events"
    return (row[0], *row[2:])


def events(store: DuckDBStore) -> list[tuple]:
    return store.con.execute("""
        SELECT id, ts, session, project, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
               reasoning_tokens, cost_micros, rank
        FROM events ORDER BY id""").fetchall()


def assert_rollups_match_events(store: DuckDBStore) -> None:
    """The import left the hourly summaries exactly equal to the events summed per hour."""
    assert store.con.execute("SELECT count(*) FROM dirty_hours").fetchall() == [(0,)]
    from_events = store.con.execute("""
        SELECT date_trunc('hour', ts), session, count(*), sum(input_tokens), sum(output_tokens),
               sum(cache_read_tokens), sum(cache_write_tokens), coalesce(sum(cost_micros), 0)
        FROM events GROUP BY ALL ORDER BY ALL""").fetchall()
    from_rollup = store.con.execute("""
        SELECT hour, session, sum(requests), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
               sum(cache_write_tokens), sum(cost_micros)
        FROM usage_hourly GROUP BY ALL ORDER BY ALL""").fetchall()
    assert from_rollup == from_events


def where(report: ImportReport, attr: str = "errors") -> list[tuple[str, int]]:
    return [(Path(e.path).name, e.line) for e in getattr(report, attr)]


def claude_import(store: DuckDBStore, book: PriceBook, root: Path, **kw) -> ImportReport:
    report = run_import(store, book, [Root(root, "claude_code")], workers=0, **kw)
    assert_rollups_match_events(store)
    return report


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    root = tmp_path / "claude" / "projects"
    (root / "proj").mkdir(parents=True)
    return root


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


# --- the bundled samples, worked out by hand ----------------------------------------------------------

# Claude Code: 33 usage lines in 5 files carry 12 distinct message ids (chat 3, short 1, tool_heavy 4,
# agent-aac57f5 3, agent-acompact 1); each response counts once, with its largest line (the final one).
CLAUDE_SAMPLES = (12, 3068, 490, 146932, 172109)  # events, input, output, cache read, cache write
# Codex: every distinct total_token_usage is one request (28 + 1 + 6 in the three rollouts; the rest are
# re-emits). Sums are the final running totals, input minus cached: (1751428 - 1651968) + (34469 - 3456)
# + (298373 - 238848) = 189998; cached 1651968 + 3456 + 238848 = 1894272; output 14600 + 431 + 1123 = 16154.
CODEX_SAMPLES = (35, 189998, 16154, 1894272, 0)
SAMPLE_LINES = 99 + 499  # non-blank lines: Claude files 3 + 40 + 2 + 15 + 39, Codex rollouts 417 + 19 + 63


def sample_roots(copy_data) -> list[Root]:
    return [Root(copy_data("claude/projects"), "claude_code"), Root(copy_data("codex"), "codex")]


# --- importing twice, and duplicates ---------------------------------------------------------------


def test_importing_the_same_files_twice_never_double_counts(copy_data, store: DuckDBStore, book: PriceBook) -> None:
    roots = sample_roots(copy_data)
    first = run_import(store, book, roots, workers=0)
    assert (first.files_seen, first.files_read, first.lines_read) == (8, 8, SAMPLE_LINES)
    assert first.written == WriteResult(new=12 + 35)
    assert not first.partial and first.errors_total == 0
    assert totals(store, "claude_code")[:5] == CLAUDE_SAMPLES
    assert totals(store, "codex")[:5] == CODEX_SAMPLES
    snapshot = store.con.execute("SELECT * FROM events ORDER BY id").fetchall()
    hourly = store.con.execute("SELECT * FROM usage_hourly ORDER BY ALL").fetchall()
    assert_rollups_match_events(store)

    second = run_import(store, book, roots, workers=0)
    assert (second.files_seen, second.files_unchanged, second.files_read) == (8, 8, 0)
    assert (second.bytes_read, second.lines_read, second.written) == (0, 0, WriteResult())
    assert store.con.execute("SELECT * FROM events ORDER BY id").fetchall() == snapshot
    assert store.con.execute("SELECT * FROM usage_hourly ORDER BY ALL").fetchall() == hourly

    # Touched but not changed (new mtime): opened, read from the saved offset, nothing new.
    for root in roots:
        for path in root.path.rglob("*.jsonl"):
            os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    third = run_import(store, book, roots, workers=0)
    assert (third.files_unchanged, third.files_read, third.files_restarted) == (0, 8, 0)
    assert (third.bytes_read, third.lines_read, third.written) == (0, 0, WriteResult())
    assert store.con.execute("SELECT * FROM events ORDER BY id").fetchall() == snapshot


def test_the_same_content_in_two_files_counts_once(copy_data, store: DuckDBStore, book: PriceBook) -> None:
    claude = copy_data("claude/projects")
    claude_import(store, book, claude)
    before = totals(store)
    # Resuming a session copies its history into a new file: the same responses, again.
    shutil.copyfile(claude / "spotter" / "tool_heavy.jsonl", claude / "spotter" / "resumed-copy.jsonl")
    report = claude_import(store, book, claude)
    assert (report.files_read, report.files_unchanged) == (1, 5)
    assert report.written == WriteResult(unchanged=4)  # tool_heavy.jsonl holds 4 responses
    assert totals(store) == before

    # Both copies present on a first import: counted once as well.
    fresh = DuckDBStore(claude.parent / "fresh.duckdb")
    try:
        claude_import(fresh, book, claude)
        assert totals(fresh) == before
    finally:
        fresh.close()


def test_a_rollout_in_sessions_and_archived_sessions_counts_once(copy_data, store: DuckDBStore,
                                                                  book: PriceBook) -> None:
    home = copy_data("codex")
    rollout = next((home / "sessions").rglob("rollout-2026-02-23T12-41-04-*.jsonl"))
    (home / "archived_sessions").mkdir()
    shutil.copyfile(rollout, home / "archived_sessions" / rollout.name)  # a copy, not a move
    report = run_import(store, book, [Root(home / "sessions", "codex"), Root(home / "archived_sessions", "codex")],
                        workers=0)
    assert report.files_read == 4
    assert totals(store)[:5] == CODEX_SAMPLES
    assert_rollups_match_events(store)


# --- growing files --------------------------------------------------------------------------------


def test_a_grown_file_is_read_from_where_it_stopped(projects: Path, store: DuckDBStore, book: PriceBook) -> None:
    path = projects / "proj" / "sess-1.jsonl"
    start = (user("2026-03-02T10:00:00.000Z") + assistant("msg_a", "2026-03-02T10:00:05.000Z", 100)
             + assistant("msg_b", "2026-03-02T10:01:05.000Z", 200))
    path.write_bytes(start)
    first = claude_import(store, book, projects, person="alice@example.com")
    assert (first.bytes_read, first.lines_read, first.usage_lines) == (len(start), 3, 2)
    assert first.written == WriteResult(new=2)

    more = user("2026-03-02T10:02:00.000Z") + assistant("msg_c", "2026-03-02T10:02:05.000Z", 300)
    append(path, more)
    second = claude_import(store, book, projects, person="alice@example.com")
    assert (second.files_read, second.files_restarted) == (1, 0)
    assert (second.bytes_read, second.lines_read, second.usage_lines) == (len(more), 2, 1)
    assert second.written == WriteResult(new=1)
    assert totals(store) == (3, 9, 600, 3000, 0, sonnet_cost(100) + sonnet_cost(200) + sonnet_cost(300))
    state = store.file_states()[str(path)]
    assert (state.offset, state.lines, state.size, state.tail_open) == (len(start + more), 5, len(start + more), False)
    assert store.con.execute("SELECT DISTINCT person FROM events").fetchall() == [("alice@example.com",)]


@pytest.mark.parametrize(("early_ts", "final_ts"), [
    ("2026-03-02T10:15:00.100Z", "2026-03-02T10:15:02.900Z"),
    ("2026-03-02T10:59:59.500Z", "2026-03-02T11:00:00.400Z"),  # the final copy falls in the next hour
], ids=["same-hour", "next-hour"])
def test_a_response_completed_in_the_next_import_keeps_the_final_copy(
        projects: Path, store: DuckDBStore, book: PriceBook, early_ts: str, final_ts: str) -> None:
    path = projects / "proj" / "sess-1.jsonl"
    # Claude Code writes one line per content block; the early ones carry a placeholder output count.
    path.write_bytes(user("2026-03-02T10:00:00.000Z") + assistant("msg_r", early_ts, 7, uuid="block-1")
                     + assistant("msg_r", early_ts, 7, uuid="block-2"))
    first = claude_import(store, book, projects)
    assert first.written == WriteResult(new=1)
    assert totals(store) == (1, 3, 7, 1000, 0, sonnet_cost(7))

    append(path, assistant("msg_r", final_ts, 512, uuid="block-3"))
    second = claude_import(store, book, projects)
    assert (second.lines_read, second.written) == (1, WriteResult(updated=1))
    assert totals(store) == (1, 3, 512, 1000, 0, sonnet_cost(512))  # 9 + 7680 + 300 micro-USD
    final = datetime.fromisoformat(final_ts.replace("Z", "+00:00"))
    assert store.con.execute("SELECT ts, output_tokens FROM events").fetchall() == [
        (final.replace(tzinfo=None), 512)]
    hours = store.usage_rows(UsageQuery(group="hour"))
    assert [(r.key, r.requests, r.output_tokens, r.cost_micros) for r in hours] == [
        (final.replace(minute=0, second=0, microsecond=0), 1, 512, sonnet_cost(512))]
    days = store.usage_rows(UsageQuery(group="day", tz="Asia/Kolkata"))
    assert [(r.key, r.requests, r.output_tokens) for r in days] == [(date(2026, 3, 2), 1, 512)]

    # A resumed copy holding only the early blocks changes nothing: a lower rank never replaces.
    (projects / "proj" / "resumed.jsonl").write_bytes(assistant("msg_r", early_ts, 7, uuid="block-1"))
    third = claude_import(store, book, projects)
    assert third.written == WriteResult(unchanged=1)
    assert totals(store) == (1, 3, 512, 1000, 0, sonnet_cost(512))


# --- half-written last lines ------------------------------------------------------------------------


def test_a_half_written_last_line_is_left_pending_then_read_once(
        projects: Path, store: DuckDBStore, book: PriceBook) -> None:
    path = projects / "proj" / "sess-1.jsonl"
    done = user("2026-03-02T10:00:00.000Z") + assistant("msg_a", "2026-03-02T10:00:05.000Z", 100)
    last = assistant("msg_b", "2026-03-02T10:01:05.000Z", 200)
    path.write_bytes(done + last[:60])

    first = claude_import(store, book, projects)
    assert where(first, "pending") == [("sess-1.jsonl", 3)]
    assert first.partial and first.errors_total == 0
    assert (first.lines_read, first.written) == (2, WriteResult(new=1))
    state = store.file_states()[str(path)]
    assert (state.offset, state.lines) == (len(done), 2)

    append(path, last[60:200])  # more of it, still incomplete
    second = claude_import(store, book, projects)
    assert where(second, "pending") == [("sess-1.jsonl", 3)]
    assert (second.lines_read, second.written) == (0, WriteResult())

    append(path, last[200:])  # the rest, with its newline
    third = claude_import(store, book, projects)
    assert third.pending == [] and not third.partial
    assert (third.bytes_read, third.lines_read, third.written) == (len(last), 1, WriteResult(new=1))
    assert totals(store) == (2, 6, 300, 2000, 0, sonnet_cost(100) + sonnet_cost(200))
    assert store.file_states()[str(path)].lines == 3

    fourth = claude_import(store, book, projects)
    assert (fourth.files_unchanged, fourth.lines_read, fourth.written) == (1, 0, WriteResult())


def test_a_line_still_incomplete_is_reported_again_by_the_next_import(
        projects: Path, store: DuckDBStore, book: PriceBook) -> None:
    """A last line cut short (a crash mid-write) stays unread: every import says so, not only the first; the
    import that first meets it is partial, later ones (nothing changed) only warn again."""
    path = projects / "proj" / "sess-1.jsonl"
    path.write_bytes(assistant("msg_a", "2026-03-02T10:00:05.000Z", 100)
                     + assistant("msg_b", "2026-03-02T10:01:05.000Z", 200)[:80])
    first = claude_import(store, book, projects)
    assert where(first, "pending") == [("sess-1.jsonl", 2)] and first.partial
    again = claude_import(store, book, projects)
    assert where(again, "still_pending") == [("sess-1.jsonl", 2)]
    assert where(again, "pending") == [] and not again.partial


@pytest.mark.parametrize("appends", [
    [b"\n", b"BAD", b"GOOD"],  # the newline arrives alone, then more lines
    [b"\nBADGOOD"],            # the newline and more lines together
], ids=["newline-alone", "newline-with-more"])
def test_a_complete_last_line_without_newline_is_read_once(
        projects: Path, store: DuckDBStore, book: PriceBook, appends: list[bytes]) -> None:
    path = projects / "proj" / "sess-1.jsonl"
    head = user("2026-03-02T10:00:00.000Z") + assistant("msg_a", "2026-03-02T10:00:05.000Z", 100)
    tail = assistant("msg_b", "2026-03-02T10:01:05.000Z", 200).rstrip(b"\n")  # a whole object, no newline yet
    path.write_bytes(head + tail)
    first = claude_import(store, book, projects)
    assert first.pending == [] and not first.partial
    assert (first.lines_read, first.written) == (3, WriteResult(new=2))
    state = store.file_states()[str(path)]
    assert (state.offset, state.lines, state.tail_open) == (len(head + tail), 3, True)

    bad = b'{"type":"user","message":{"role":"user","content":"cut sh\n'  # line 4: not valid JSON
    good = assistant("msg_c", "2026-03-02T10:02:05.000Z", 300)  # line 5
    reports = []
    for chunk in appends:
        append(path, chunk.replace(b"BAD", bad).replace(b"GOOD", good))
        reports.append(claude_import(store, book, projects))
    assert sum(r.lines_read for r in reports) == 2  # lines 4 and 5; line 3 is not read again
    assert [e for r in reports for e in where(r)] == [("sess-1.jsonl", 4)]
    assert [e.message for r in reports for e in r.errors][0].startswith("invalid JSON")
    written = WriteResult()
    for r in reports:
        written.add(r.written)
    assert written == WriteResult(new=1)
    assert totals(store) == (3, 9, 600, 3000, 0, sonnet_cost(100) + sonnet_cost(200) + sonnet_cost(300))
    state = store.file_states()[str(path)]
    assert (state.lines, state.tail_open, state.offset) == (5, False, path.stat().st_size)


def test_text_appended_to_a_line_already_read_is_reported_and_numbering_holds(
        projects: Path, store: DuckDBStore, book: PriceBook) -> None:
    path = projects / "proj" / "sess-1.jsonl"
    path.write_bytes(assistant("msg_a", "2026-03-02T10:00:05.000Z", 100).rstrip(b"\n"))
    claude_import(store, book, projects)
    append(path, b'{"type":"user"}\n' + b"not json\n" + assistant("msg_b", "2026-03-02T10:01:05.000Z", 200))
    report = claude_import(store, book, projects)
    assert where(report) == [("sess-1.jsonl", 1), ("sess-1.jsonl", 2)]
    assert "appended to a line already read" in report.errors[0].message
    assert report.written == WriteResult(new=1)
    assert store.file_states()[str(path)].lines == 3


def test_an_import_split_anywhere_reads_every_line_exactly_once(tmp_path: Path, data: Path, book: PriceBook) -> None:
    """A Claude transcript (with multi-byte UTF-8) and a Codex rollout, written in pieces cut at arbitrary
    bytes (mid-line, mid-character, just before a newline), one import after each piece: the store ends
    exactly as after one import of the whole files, and each line was read once."""
    sources = {
        "claude": (data / "claude/projects/spotter/tool_heavy.jsonl",
                   tmp_path / "live/claude/projects/spotter/tool_heavy.jsonl", "claude_code"),
        "codex": (next((data / "codex/sessions").rglob("rollout-2026-02-23T12-41-04-*.jsonl")),
                  tmp_path / "live/codex/sessions/rollout-2026-02-23T12-41-04-019c8a4d-8f45-7010-8b5d-7fad920aa6f9.jsonl",
                  "codex"),
    }
    whole = DuckDBStore(tmp_path / "whole.duckdb")
    live = DuckDBStore(tmp_path / "live.duckdb")
    try:
        for name, (sample, target, fmt) in sources.items():
            blob = sample.read_bytes()
            run_import(whole, book, [Root(sample, fmt)], workers=0)
            rng = random.Random(name)
            newline_at = blob.index(b"\n", len(blob) // 3)
            cuts = sorted({*rng.sample(range(1, len(blob)), 12), newline_at, newline_at + 1, len(blob)})
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"")
            lines_read = 0
            pending_seen = 0
            previous = 0
            for cut in cuts:
                append(target, blob[previous:cut])
                previous = cut
                report = run_import(live, book, [Root(target.parent, fmt)], workers=0)
                assert report.errors_total == 0, report.errors
                lines_read += report.lines_read
                pending_seen += len(report.pending)
                assert_rollups_match_events(live)
            assert lines_read == blob.count(b"\n")
            assert pending_seen > 0
        assert events(live) == events(whole)
        assert totals(live, "codex")[:5] == (28, 99460, 14600, 1651968, 0)
    finally:
        whole.close()
        live.close()


# --- truncated, rewritten, moved and deleted files ---------------------------------------------------


def four_responses() -> list[bytes]:
    return [assistant(f"msg_{i}", f"2026-03-02T10:0{i}:00.000Z", 100 * i) for i in range(1, 5)]


def test_a_truncated_file_is_read_again_from_the_start(projects: Path, store: DuckDBStore, book: PriceBook) -> None:
    path = projects / "proj" / "sess-1.jsonl"
    lines = four_responses()
    path.write_bytes(b"".join(lines))
    claude_import(store, book, projects)
    before = totals(store)
    assert before[:3] == (4, 12, 1000)

    os.truncate(path, len(lines[0] + lines[1]))  # same inode, shorter than what was read
    report = claude_import(store, book, projects)
    assert (report.files_restarted, report.bytes_read, report.lines_read) == (1, len(lines[0] + lines[1]), 2)
    assert report.written == WriteResult(unchanged=2)
    assert totals(store) == before  # accepted events stay
    assert store.file_states()[str(path)].lines == 2

    append(path, assistant("msg_5", "2026-03-02T10:05:00.000Z", 500) + b"oops\n")
    report = claude_import(store, book, projects)
    assert (report.files_restarted, report.lines_read, report.written) == (0, 2, WriteResult(new=1))
    assert where(report) == [("sess-1.jsonl", 4)]  # numbered from the new start
    assert totals(store)[:3] == (5, 15, 1500)


@pytest.mark.parametrize("how", ["same-size-in-place", "larger-in-place", "replaced-by-new-file"])
def test_a_rewritten_file_is_read_again_from_the_start(
        projects: Path, store: DuckDBStore, book: PriceBook, how: str) -> None:
    path = projects / "proj" / "sess-1.jsonl"
    a, b, c, d = four_responses()
    path.write_bytes(a + b + c)
    claude_import(store, book, projects)
    old = path.stat()
    if how == "same-size-in-place":
        content, expected = b + a + c, WriteResult(unchanged=3)
        path.write_bytes(content)
        os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns + 10**9))  # make sure the change is visible
    elif how == "larger-in-place":
        content, expected = d + a + b + c, WriteResult(new=1, unchanged=3)
        path.write_bytes(content)
    else:
        content, expected = a + b + c + d, WriteResult(new=1, unchanged=3)
        (projects / "proj" / "tmp").write_bytes(content)
        os.replace(projects / "proj" / "tmp", path)  # an atomic save: same name, new inode
    assert path.stat().st_size >= old.st_size

    report = claude_import(store, book, projects)
    assert (report.files_restarted, report.bytes_read, report.lines_read) == (1, len(content), content.count(b"\n"))
    assert report.written == expected
    n = 3 if how == "same-size-in-place" else 4
    assert totals(store)[:3] == (n, 3 * n, 100 * n * (n + 1) // 2)


def test_a_moved_rollout_is_recognised_and_not_read_again(tmp_path: Path, store: DuckDBStore,
                                                          book: PriceBook) -> None:
    home = tmp_path / "codex"
    day = home / "sessions" / "2026" / "05" / "13"
    day.mkdir(parents=True)
    (home / "archived_sessions").mkdir()
    roots = [Root(home / "sessions", "codex"), Root(home / "archived_sessions", "codex")]
    (day / ROLLOUT).write_bytes(codex_meta() + codex_turn("2026-05-13T09:00:01.000Z")
                                + codex_tokens("2026-05-13T09:01:00.000Z", (1000, 200, 100, 40), (1000, 200, 100, 40)))
    assert run_import(store, book, roots, workers=0).written == WriteResult(new=1)

    archived = home / "archived_sessions" / ROLLOUT
    os.rename(day / ROLLOUT, archived)  # what Codex does when a session is archived: same inode
    report = run_import(store, book, roots, workers=0)
    assert (report.files_moved, report.files_restarted, report.files_forgotten) == (1, 0, 0)
    assert (report.bytes_read, report.lines_read, report.written) == (0, 0, WriteResult())
    assert totals(store) == (1, 800, 100, 200, 0, 2835)  # gpt-5.2-codex: 800 x 1.75 + 200 x 0.175 + 100 x 14

    # It grows in its new place: read from where it stopped, with the running totals carried.
    more = (codex_tokens("2026-05-13T09:02:00.000Z", (1000, 200, 100, 40), (1000, 200, 100, 40))  # a re-emit
            + codex_tokens("2026-05-13T09:03:00.000Z", (1500, 300, 180, 60), (500, 100, 80, 20)))
    append(archived, more)
    report = run_import(store, book, roots, workers=0)
    assert (report.files_read, report.bytes_read, report.lines_read) == (1, len(more), 2)
    assert report.written == WriteResult(new=1)
    assert store.con.execute("""SELECT input_tokens, cache_read_tokens, output_tokens, reasoning_tokens, project,
                                       session FROM events ORDER BY ts""").fetchall() == [
        (800, 200, 100, 40, "payments-api", THREAD), (400, 100, 80, 20, "payments-api", THREAD)]
    assert_rollups_match_events(store)


def test_a_moved_file_leaves_no_stale_read_position(tmp_path: Path, store: DuckDBStore, book: PriceBook) -> None:
    home = tmp_path / "codex"
    (home / "sessions").mkdir(parents=True)
    (home / "archived_sessions").mkdir()
    roots = [Root(home / "sessions", "codex"), Root(home / "archived_sessions", "codex")]
    (home / "sessions" / ROLLOUT).write_bytes(
        codex_meta() + codex_tokens("2026-05-13T09:01:00.000Z", (1000, 200, 100, 40), (1000, 200, 100, 40)))
    run_import(store, book, roots, workers=0)
    os.rename(home / "sessions" / ROLLOUT, home / "archived_sessions" / ROLLOUT)
    assert run_import(store, book, roots, workers=0).files_moved == 1
    assert list(store.file_states()) == [str(home / "archived_sessions" / ROLLOUT)]

    nothing_new = run_import(store, book, roots, workers=0)
    assert (nothing_new.files_unchanged, nothing_new.files_moved, nothing_new.files_forgotten) == (1, 0, 0)


def test_a_deleted_file_is_forgotten_and_its_events_stay(projects: Path, store: DuckDBStore, book: PriceBook) -> None:
    keep, gone = projects / "proj" / "keep.jsonl", projects / "proj" / "gone.jsonl"
    keep.write_bytes(assistant("msg_k", "2026-03-02T10:00:00.000Z", 100))
    gone.write_bytes(assistant("msg_g", "2026-03-02T11:00:00.000Z", 200, session="sess-2"))
    claude_import(store, book, projects)
    before = totals(store)
    assert before[:3] == (2, 6, 300)

    gone.unlink()
    report = claude_import(store, book, projects)
    assert (report.files_seen, report.files_forgotten, report.files_unchanged) == (1, 1, 1)
    assert totals(store) == before
    assert list(store.file_states()) == [str(keep)]
    assert claude_import(store, book, projects).files_forgotten == 0

    # A file outside the roots of this import is not forgotten just because it was not looked at.
    other = projects.parent / "elsewhere" / "proj"
    other.mkdir(parents=True)
    (other / "x.jsonl").write_bytes(assistant("msg_x", "2026-03-02T12:00:00.000Z", 1))
    claude_import(store, book, other.parent)
    assert claude_import(store, book, projects).files_forgotten == 0
    assert sorted(store.file_states()) == sorted([str(keep), str(other / "x.jsonl")])


# --- malformed lines --------------------------------------------------------------------------------


def test_malformed_lines_are_reported_with_file_and_line_and_the_rest_is_kept(
        projects: Path, store: DuckDBStore, book: PriceBook) -> None:
    path = projects / "proj" / "sess-1.jsonl"
    wrong_type = assistant("msg_w", "2026-03-02T10:02:00.000Z", 5).replace(b'"output_tokens":5', b'"output_tokens":"5"')
    no_time = assistant("msg_t", "2026-03-02T10:03:00.000Z", 5).replace(b',"timestamp":"2026-03-02T10:03:00.000Z"', b"")
    last = assistant("msg_c", "2026-03-02T10:09:00.000Z", 300)
    path.write_bytes(
        assistant("msg_a", "2026-03-02T10:00:00.000Z", 100)                    # 1 ok
        + b'{"type":"user","message":{"role":"user","content":"cut sho\n'       # 2 bad JSON (cut short)
        + wrong_type                                                            # 3 a count that is a string
        + '{"type":"user","message":{"content":"café"}}\n'.encode("latin-1")    # 4 not UTF-8
        + assistant("msg_b", "2026-03-02T10:05:00.000Z", 200)                   # 5 ok
        + b"[1,2,3]\n"                                                          # 6 not an object
        + no_time                                                               # 7 usage without a time
        + b"\n"                                                                 # 8 blank: ignored
        + last[:100]                                                            # 9 truncated, no newline
    )
    report = claude_import(store, book, projects)
    assert where(report) == [("sess-1.jsonl", n) for n in (2, 3, 4, 6, 7)]
    assert report.errors_total == 5 and report.partial
    messages = [e.message for e in report.errors]
    assert "invalid JSON" in messages[0]
    assert "output_tokens" in messages[1]
    assert "UTF-8" in messages[2]
    assert "not a JSON object" in messages[3]
    assert "timestamp" in messages[4]
    assert where(report, "pending") == [("sess-1.jsonl", 9)]
    assert report.to_json()["partial"] is True
    assert report.to_json()["errors"][0] == {"path": str(path), "line": 2, "message": messages[0]}
    assert report.written == WriteResult(new=2)
    assert totals(store) == (2, 6, 300, 2000, 0, sonnet_cost(100) + sonnet_cost(200))
    assert sorted((Path(e.path).name, e.line) for e in store.recent_errors()) == where(report)

    append(path, last[100:])
    report = claude_import(store, book, projects)
    assert (report.errors_total, report.partial, report.lines_read) == (0, False, 1)
    assert totals(store)[:3] == (3, 9, 600)
    assert len(store.recent_errors()) == 5  # kept, not repeated


@pytest.mark.parametrize("chunk_bytes", [None, 256], ids=["default-chunks", "small-chunks"])
def test_an_over_long_line_is_skipped_and_the_following_lines_are_read(
        projects: Path, store: DuckDBStore, book: PriceBook, monkeypatch: pytest.MonkeyPatch,
        chunk_bytes: int | None) -> None:
    monkeypatch.setattr(lines, "MAX_LINE_BYTES", 2_000)  # ordinary lines here are about 500 bytes
    if chunk_bytes:
        monkeypatch.setattr(lines, "CHUNK_BYTES", chunk_bytes)
    path = projects / "proj" / "sess-1.jsonl"
    path.write_bytes(assistant("msg_a", "2026-03-02T10:00:00.000Z", 100)          # 1
                     + user("2026-03-02T10:00:30.000Z", "x" * 5_000)              # 2 too long
                     + assistant("msg_b", "2026-03-02T10:01:00.000Z", 200)        # 3
                     + b"not json\n")                                             # 4
    report = claude_import(store, book, projects)
    assert where(report) == [("sess-1.jsonl", 2), ("sess-1.jsonl", 4)]
    assert "longer than" in report.errors[0].message
    assert (report.lines_read, report.written) == (3, WriteResult(new=2))
    assert totals(store)[:3] == (2, 6, 300)
    assert store.file_states()[str(path)].lines == 4


def test_an_unterminated_over_long_last_line_is_left_pending(
        projects: Path, store: DuckDBStore, book: PriceBook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "MAX_LINE_BYTES", 2_000)
    monkeypatch.setattr(lines, "CHUNK_BYTES", 256)
    path = projects / "proj" / "sess-1.jsonl"
    first = assistant("msg_a", "2026-03-02T10:00:00.000Z", 100)
    path.write_bytes(first + b'{"type":"user","message":{"content":"' + b"y" * 5_000)
    report = claude_import(store, book, projects)
    assert where(report, "pending") == [("sess-1.jsonl", 2)]
    assert report.written == WriteResult(new=1)
    state = store.file_states()[str(path)]
    assert (state.offset, state.lines) == (len(first), 1)

    append(path, b'"}}\n' + assistant("msg_b", "2026-03-02T10:01:00.000Z", 200))
    report = claude_import(store, book, projects)
    assert where(report) == [("sess-1.jsonl", 2)]  # now known to be too long: skipped, reported
    assert report.pending == []
    assert report.written == WriteResult(new=1)
    assert store.file_states()[str(path)].lines == 3


@pytest.mark.parametrize("chunk_bytes", [7, 100, 4096])
def test_reading_in_small_chunks_gives_the_same_result(
        copy_data, store: DuckDBStore, book: PriceBook, monkeypatch: pytest.MonkeyPatch, chunk_bytes: int) -> None:
    monkeypatch.setattr(lines, "CHUNK_BYTES", chunk_bytes)
    report = run_import(store, book, sample_roots(copy_data), workers=0)
    assert (report.lines_read, report.errors_total, report.partial) == (SAMPLE_LINES, 0, False)
    assert totals(store, "claude_code")[:5] == CLAUDE_SAMPLES
    assert totals(store, "codex")[:5] == CODEX_SAMPLES


def test_unpriced_models_are_reported_and_never_zero(projects: Path, store: DuckDBStore, book: PriceBook) -> None:
    (projects / "proj" / "sess-1.jsonl").write_bytes(
        assistant("msg_a", "2026-03-02T10:00:00.000Z", 100, model="acme-unknown-1")
        + assistant("msg_b", "2026-03-02T10:01:00.000Z", 200))
    report = claude_import(store, book, projects)
    assert report.unpriced_models == {"acme-unknown-1": 1}
    assert store.con.execute("SELECT id, cost_micros FROM events ORDER BY id").fetchall() == [
        ("claude_code:msg_a", None), ("claude_code:msg_b", sonnet_cost(200))]
    [row] = store.usage_rows(UsageQuery(group="day", tools=("claude_code",)))[:1]
    assert (row.model, row.requests, row.unpriced_requests, row.cost_micros) == ("acme-unknown-1", 1, 1, 0)


# --- Codex running totals ------------------------------------------------------------------------------


def test_codex_running_totals_carry_over_between_imports(tmp_path: Path, store: DuckDBStore,
                                                         book: PriceBook) -> None:
    sessions = tmp_path / "codex" / "sessions"
    sessions.mkdir(parents=True)
    path = sessions / ROLLOUT
    path.write_bytes(codex_meta() + codex_turn("2026-05-13T09:00:01.000Z")
                     + codex_tokens("2026-05-13T09:01:00.000Z", (1000, 200, 100, 40), (1000, 200, 100, 40)))
    first = run_import(store, book, [Root(sessions, "codex")], workers=0)
    assert first.written == WriteResult(new=1)
    assert store.file_states()[str(path)].parser_state == {
        "session": THREAD, "project": "payments-api", "model": "gpt-5.2-codex", "totals": [1000, 200, 0, 100, 40]}

    # Codex re-emits the last totals after a turn_context; then a new request moves them.
    append(path, codex_turn("2026-05-13T09:02:00.000Z", model="gpt-5.3-codex")
           + codex_tokens("2026-05-13T09:02:01.000Z", (1000, 200, 100, 40), (1000, 200, 100, 40))
           + codex_tokens("2026-05-13T09:03:00.000Z", (1500, 300, 180, 60), (500, 100, 80, 20)))
    second = run_import(store, book, [Root(sessions, "codex")], workers=0)
    assert (second.lines_read, second.usage_lines, second.written) == (3, 1, WriteResult(new=1))
    rows = store.con.execute("""SELECT model, input_tokens, cache_read_tokens, output_tokens, reasoning_tokens,
                                       session, project, cost_micros FROM events ORDER BY ts""").fetchall()
    # gpt-5.2-codex / gpt-5.3-codex: $1.75 in, $0.175 cached, $14 out per million, so micro-USD:
    # 800 x 1.75 + 200 x 0.175 + 100 x 14 = 2835, and 400 x 1.75 + 100 x 0.175 + 80 x 14 = 1837.5 -> 1838
    # (rounded once, half to even).
    assert rows == [
        ("gpt-5.2-codex", 800, 200, 100, 40, THREAD, "payments-api", 2835),
        ("gpt-5.3-codex", 400, 100, 80, 20, THREAD, "payments-api", 1838),
    ]
    assert totals(store)[:5] == (2, 1200, 180, 300, 0)
    assert_rollups_match_events(store)


def test_canonical_ndjson_with_outcomes_is_imported_once(tmp_path: Path, store: DuckDBStore, book: PriceBook) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "team.ndjson"
    path.write_bytes(
        dumps({"kind": "usage", "id": "u1", "ts": "2026-03-02T10:00:00Z", "person": "alice@example.com",
               "tool": "claude_code", "provider": "anthropic", "model": SONNET, "input_tokens": 3,
               "output_tokens": 100, "cache_read_tokens": 1000, "source": "import", "confidence": "metered"})
        + dumps({"kind": "outcome", "id": "o1", "ts": "2026-03-02T10:05:00Z", "person": "alice@example.com",
                 "tool": "claude_code", "type": "commit", "count": 2})
        + dumps({"kind": "usage", "id": "u2", "ts": "2026-03-02T10:00:00Z", "output_tokens": 5})  # no tool
    )
    report = run_import(store, book, [Root(folder)], workers=0)  # the format is sniffed
    assert report.written == WriteResult(new=1, outcomes_new=1)
    assert where(report) == [("team.ndjson", 3)]
    assert totals(store) == (1, 3, 100, 1000, 0, sonnet_cost(100))
    assert [(o.id, o.type, o.count) for o in store.iter_outcomes()] == [("o1", "commit", 2)]
    assert run_import(store, book, [Root(folder)], workers=0).written == WriteResult()


def test_a_file_that_cannot_be_opened_is_reported_not_skipped(tmp_path, store, book, monkeypatch) -> None:
    import builtins

    from tokenpulse import ingest as ingest_module

    logs = tmp_path / "projects" / "p"
    logs.mkdir(parents=True)
    locked = logs / "locked.jsonl"
    locked.write_text('{"type":"user"}\n')
    real_open = builtins.open

    def refuse(path, *args, **kwargs):
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(ingest_module, "open", refuse, raising=False)
    report = run_import(store, book, [Root(tmp_path / "projects", "claude_code")])
    assert report.partial and report.errors_total == 1
    assert (report.errors[0].path, report.errors[0].line, report.errors[0].message) == (
        str(locked), 0, "cannot read: Permission denied")
