"""`tokenpulse import`: the summary, --json, --errors, exit status 3 on a partial import, and progress."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import as_json, assert_clean_failure, ev, ok, tp, write_ndjson
from tokenpulse.cli.progress import MIN_BYTES, ByteProgress

GOOD = [
    ev("a", "2026-03-02T09:00:00Z", input_tokens=1000),
    ev("b", "2026-03-02T10:00:00Z", tool="codex", provider="openai", model="gpt-5", input_tokens=2000),
    ev("u1", "2026-03-02T11:00:00Z", provider="acme", model="acme-model-9", input_tokens=10),
    ev("u2", "2026-03-02T12:00:00Z", provider="acme", model="acme-model-9", input_tokens=20),
]


def test_summary_and_incremental_reruns(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "events.ndjson", GOOD)
    first = ok("import", path)
    lines = first.stdout.splitlines()
    assert lines[0] == "1 of 1 file read, 593 bytes, 4 lines."
    assert lines[1] == "Requests: 4 new, 0 updated with a more complete copy, 0 already known."
    assert lines[2] == "No price for: acme-model-9 (2) — shown as unpriced, not $0."
    assert lines[3].startswith("Store: ") and lines[3].endswith("tokenpulse.duckdb")
    assert first.stderr == ""  # no progress bar and no warnings when stderr is not a terminal

    again = ok("import", path)
    assert again.stdout.splitlines()[:2] == [
        "Nothing new: 1 file unchanged since the last import.",
        "Requests: 0 new, 0 updated with a more complete copy, 0 already known.",
    ]
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(ev("c", "2026-03-03T09:00:00Z", input_tokens=5)) + "\n")
    grown = ok("import", path)
    assert grown.stdout.splitlines()[:2] == [
        "1 of 1 file read, 156 bytes, 1 line.",
        "Requests: 1 new, 0 updated with a more complete copy, 0 already known.",
    ]
    # The same events under another name are recognised by id.
    copy = write_ndjson(tmp_path / "copy.ndjson", GOOD)
    assert ok("import", copy).stdout.splitlines()[1] == (
        "Requests: 0 new, 0 updated with a more complete copy, 4 already known.")
    totals = as_json(ok("report", "daily", "--no-import", "--json", "--tz", "UTC"))["totals"]
    assert (totals["requests"], totals["input_tokens"]) == (5, 3035)


def test_json_summary(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "events.ndjson", GOOD)
    r = as_json(ok("import", path, "--format", "ndjson", "--json"))
    assert r["files"] == {"seen": 1, "unchanged": 0, "read": 1, "restarted": 0, "moved": 0, "forgotten": 0}
    assert r["bytes_read"] == path.stat().st_size
    assert (r["lines_read"], r["usage_lines"]) == (4, 4)
    assert r["events"] == {"new": 4, "updated": 0, "unchanged": 0, "outcomes_new": 0}
    assert (r["errors_total"], r["errors"], r["pending"], r["partial"]) == (0, [], [], False)
    assert r["unpriced_models"] == {"acme-model-9": 2}
    assert r["price_version"].startswith("2026-")
    assert r["store"].endswith("tokenpulse.duckdb")
    assert as_json(ok("import", path, "--json"))["events"] == {
        "new": 0, "updated": 0, "unchanged": 0, "outcomes_new": 0}


def test_outcome_lines_are_imported(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "events.ndjson", [
        GOOD[0],
        {"kind": "outcome", "id": "o1", "ts": "2026-03-02T09:30:00Z", "tool": "claude_code", "type": "commit",
         "count": 2, "project": "alpha"},
    ])
    result = ok("import", path)
    assert "Requests: 1 new, 0 updated with a more complete copy, 0 already known. Outcomes: 1 new." in result.stdout
    assert as_json(ok("import", path, "--json"))["events"]["outcomes_new"] == 0


def test_partial_import_exits_3_keeps_the_rest_and_lists_the_errors(tmp_path: Path) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_text("\n".join([
        json.dumps(GOOD[0]),
        "this is not json",
        json.dumps(ev("neg", "2026-03-02T09:00:00Z", input_tokens=-1)),
        json.dumps(GOOD[1]),
    ]) + "\n", encoding="utf-8")
    result = tp("import", path)
    assert result.exit_code == 3, (result.stdout, result.stderr)
    assert "Requests: 2 new" in result.stdout
    stderr = result.stderr.splitlines()
    assert stderr[0].startswith(f"warning: {path}:2: ")
    assert stderr[1].startswith(f"warning: {path}:3: ") and "input_tokens" in stderr[1]
    assert "Traceback" not in result.stderr

    listed = ok("import", "--errors")
    assert [line.split(": ", 1)[0] for line in listed.stdout.splitlines()] == [f"{path}:2", f"{path}:3"]
    errors = as_json(ok("import", "--errors", "--json"))["errors"]
    assert [(e["path"], e["line"]) for e in errors] == [(str(path), 2), (str(path), 3)]
    assert "input_tokens" in errors[1]["message"]
    # What could be read was kept.
    totals = as_json(ok("report", "daily", "--no-import", "--json"))["totals"]
    assert (totals["requests"], totals["input_tokens"]) == (2, 3000)


def test_partial_import_json(tmp_path: Path) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_text(json.dumps(GOOD[0]) + "\n{\"kind\": \"usage\"\n", encoding="utf-8")
    result = tp("import", path, "--json")
    assert result.exit_code == 3
    r = as_json(result)
    assert r["partial"] is True and r["errors_total"] == 1
    assert [(e["path"], e["line"]) for e in r["errors"]] == [(str(path), 2)]
    assert r["events"]["new"] == 1


def test_many_bad_lines_are_summarised(tmp_path: Path) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text("".join(f"bad line {n}\n" for n in range(1, 9)), encoding="utf-8")
    result = tp("import", path)
    assert result.exit_code == 3
    warnings = result.stderr.splitlines()
    assert [w.split(": ", 2)[1] for w in warnings[:5]] == [f"{path}:{n}" for n in range(1, 6)]
    assert "3 more lines" in " ".join(warnings[5:])
    assert "tokenpulse import --errors" in " ".join(warnings[5:])


def test_no_errors_recorded() -> None:
    assert ok("import", "--errors").stdout.strip() == "No unreadable lines recorded."
    assert as_json(ok("import", "--errors", "--json")) == {"errors": []}


def test_default_import_reads_the_standard_log_folders(data: Path, monkeypatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(data / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(data / "codex"))
    r = as_json(ok("import", "--json"))
    assert r["files"]["seen"] == 8  # 5 Claude Code transcripts (2 of them sub-agents) + 3 Codex rollouts
    assert r["partial"] is False
    assert r["events"]["new"] > 0
    assert as_json(ok("import", "--json"))["files"] == {
        "seen": 8, "unchanged": 8, "read": 0, "restarted": 0, "moved": 0, "forgotten": 0}


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = tp("import", tmp_path / "nope.ndjson")
    assert_clean_failure(result, (2,))
    assert "nope.ndjson" in result.stderr


def test_progress_is_silent_unless_enabled_and_large() -> None:
    with ByteProgress(enabled=False, label="Importing") as progress:
        progress.update(MIN_BYTES, MIN_BYTES * 2)
        assert progress._progress is None
    with ByteProgress(enabled=True, label="Importing") as progress:
        progress.update(1000, MIN_BYTES - 1)  # a few kB: not worth a bar
        assert progress._progress is None
        progress.update(1000, MIN_BYTES)
        assert progress._progress is not None
