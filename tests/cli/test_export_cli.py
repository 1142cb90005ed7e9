"""`tokenpulse export`: canonical NDJSON that re-imports into an empty store with identical reports."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from cli_helpers import as_json, ev, ok, write_ndjson

KINDS = ["daily", "weekly", "monthly", "session", "blocks"]
EVENTS = [
    ev("a", "2026-03-02T09:00:00.123Z", session="s1", project="alpha", person="ana@example.com",
       input_tokens=1000, output_tokens=100, cache_write_tokens=2000, cache_write_1h_tokens=500,
       cache_read_tokens=10000, request_id="req_1", duration_ms=2210, cost_usd=0.02,
       team="payments", labels={"ticket": "PAY-7", "urgent": True}),  # two fields tokenpulse does not know
    ev("b", "2026-03-02T10:00:00Z", session="s1", project="alpha", tool="codex", provider="openai",
       model="gpt-5", input_tokens=2000, output_tokens=300, reasoning_tokens=200, status="error",
       service_tier="priority", source="gateway", confidence="billed"),
    ev("u", "2026-03-03T12:00:00.000001Z", session="s2", provider="acme", model="acme-model-9", input_tokens=5),
]


def all_reports(*args: str) -> dict[str, dict]:
    """Every report kind as JSON, without the meta that names the store."""
    out = {}
    for kind in KINDS:
        r = as_json(ok("report", kind, "--no-import", "--json", "--tz", "Europe/Berlin", "--breakdown", "model", *args))
        out[kind] = {"rows": r["rows"], "totals": r["totals"]}
    return out


def export_lines(*args: str) -> list[dict]:
    return [json.loads(line, parse_float=Decimal) for line in ok("export", *args).stdout.splitlines()]


def test_export_writes_canonical_ndjson_and_keeps_unknown_fields(tmp_path: Path) -> None:
    ok("import", write_ndjson(tmp_path / "in.ndjson", EVENTS))
    lines = export_lines()
    assert [(line["kind"], line["id"]) for line in lines] == [("usage", "a"), ("usage", "b"), ("usage", "u")]
    a, b, u = lines
    assert a["ts"] == "2026-03-02T09:00:00.123Z"
    assert u["ts"] == "2026-03-03T12:00:00.000001Z"
    assert (a["team"], a["labels"]) == ("payments", {"ticket": "PAY-7", "urgent": True})
    assert (a["person"], a["request_id"], a["duration_ms"], a["cost_usd"]) == (
        "ana@example.com", "req_1", 2210, Decimal("0.02"))  # the vendor-reported cost is kept
    assert (a["cache_write_tokens"], a["cache_write_1h_tokens"], a["cache_read_tokens"]) == (2000, 500, 10000)
    assert (b["status"], b["service_tier"], b["source"], b["confidence"], b["reasoning_tokens"]) == (
        "error", "priority", "gateway", "billed", 200)
    assert u["cost_usd"] is None


def test_round_trip_into_an_empty_store_gives_identical_reports(tmp_path: Path) -> None:
    ok("import", write_ndjson(tmp_path / "in.ndjson", EVENTS))
    before = all_reports()
    exported = ok("export").stdout_bytes
    dump = tmp_path / "export.ndjson"
    dump.write_bytes(exported)

    other = tmp_path / "other-home"
    ok("--home", other, "import", dump, "--format", "ndjson")
    after = {kind: as_json(ok("--home", other, "report", kind, "--no-import", "--json", "--tz", "Europe/Berlin",
                              "--breakdown", "model")) for kind in KINDS}
    assert {kind: {"rows": r["rows"], "totals": r["totals"]} for kind, r in after.items()} == before
    # Exporting the copy gives the same bytes again.
    assert ok("--home", other, "export").stdout_bytes == exported


def test_outcomes_are_exported_and_re_imported(tmp_path: Path) -> None:
    outcome = {"kind": "outcome", "id": "o1", "ts": "2026-03-02T09:30:00Z", "tool": "claude_code", "type": "commit",
               "count": 2, "project": "alpha", "person": "ana@example.com", "pr_url": "https://example.com/pr/1"}
    ok("import", write_ndjson(tmp_path / "in.ndjson", [EVENTS[0], outcome]))
    lines = export_lines()
    assert [line["kind"] for line in lines] == ["usage", "outcome"]
    assert lines[1] == {**outcome, "ts": "2026-03-02T09:30:00.000Z", "session": None, "source": "import"}
    dump = tmp_path / "export.ndjson"
    ok("export", "-o", dump)
    other = tmp_path / "other-home"
    ok("--home", other, "import", dump)
    assert ok("--home", other, "export").stdout_bytes == dump.read_bytes()


def test_round_trip_of_the_sample_logs(data: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(data / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(data / "codex"))
    ok("import")
    before = all_reports()
    dump = tmp_path / "samples.ndjson"
    ok("export", "--output", dump)
    lines = dump.read_bytes().splitlines()
    assert len(lines) == before["daily"]["totals"]["requests"]
    assert {json.loads(line)["source"] for line in lines} == {"local_log"}

    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    monkeypatch.delenv("CODEX_HOME")
    monkeypatch.setenv("TOKENPULSE_HOME", str(tmp_path / "fresh"))
    ok("import", dump, "--format", "ndjson")
    assert all_reports() == before


def test_export_since_until_are_local_dates(tmp_path: Path) -> None:
    ok("import", write_ndjson(tmp_path / "in.ndjson", [
        ev("late", "2026-03-02T04:30:00Z", input_tokens=1),   # 2026-03-01 23:30 in New York
        ev("next", "2026-03-02T05:00:00Z", input_tokens=2),   # 2026-03-02 00:00 in New York
    ]))
    assert [line["id"] for line in export_lines("--since", "2026-03-02", "--tz", "UTC")] == ["late", "next"]
    assert [line["id"] for line in export_lines("--since", "2026-03-02", "--tz", "America/New_York")] == ["next"]
    assert [line["id"] for line in export_lines("-u", "20260301", "--tz", "America/New_York")] == ["late"]


@pytest.mark.parametrize("args", [["--tz", "Nowhere/Land"], ["--since", "tomorrowish"]])
def test_export_errors_are_clean(args) -> None:
    from cli_helpers import assert_clean_failure, tp

    assert_clean_failure(tp("export", *args))
