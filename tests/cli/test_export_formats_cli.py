"""`tokenpulse export --format csv|parquet|focus`, `--discount` and `--person` (NDJSON: test_export_cli.py)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cli_helpers import assert_clean_failure, ev, ok, tp, write_ndjson

EVENTS = [
    # 1000×3 + 100×15 = 4500 µ$; 15 % off: 3825
    ev("a", "2026-03-02T09:00:00Z", person="ana@example.com", input_tokens=1000, output_tokens=100),
    # 2000×1.25 + 300×10 = 5500 µ$; 15 % off: 4675
    ev("b", "2026-03-02T10:00:00Z", person="bob@example.com", tool="codex", provider="openai", model="gpt-5",
       input_tokens=2000, output_tokens=300),
    # 1×3 = 3 µ$; 15 % off: 2.55 -> 3 (half to even)
    ev("c", "2026-03-03T10:00:00Z", person="ana@example.com", input_tokens=1),
]


@pytest.fixture(autouse=True)
def imported(tmp_path: Path) -> None:
    ok("import", write_ndjson(tmp_path / "in.ndjson", EVENTS))


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_to_stdout() -> None:
    rows = csv_rows(ok("export", "--format", "csv", "--discount", "15%").stdout)
    assert [(r["id"], r["person"], r["list_cost_usd"], r["effective_cost_usd"]) for r in rows] == [
        ("a", "ana@example.com", "0.004500", "0.003825"),
        ("b", "bob@example.com", "0.005500", "0.004675"),
        ("c", "ana@example.com", "0.000003", "0.000003"),
    ]


def test_focus_with_discount_person_and_dates() -> None:
    rows = csv_rows(ok("export", "--format", "focus", "--discount", "15%", "--person", "ana@example.com",
                       "--since", "2026-03-02", "--until", "2026-03-02", "--tz", "UTC").stdout)
    assert [(r["ChargePeriodStart"], r["x_Person"], r["ListCost"], r["EffectiveCost"], r["x_InputTokens"])
            for r in rows] == [("2026-03-02T00:00:00Z", "ana@example.com", "0.004500", "0.003825", "1000")]


def test_focus_uses_the_discount_setting(monkeypatch) -> None:
    monkeypatch.setenv("TOKENPULSE_DISCOUNT", "openai=10%")
    rows = csv_rows(ok("export", "--format", "focus").stdout)
    assert [(r["x_Tool"], r["EffectiveCost"]) for r in rows] == [
        ("claude_code", "0.004500"), ("codex", "0.004950"), ("claude_code", "0.000003")]


def test_parquet_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "usage.parquet"
    assert ok("export", "--format", "parquet", "-o", target).stdout == ""
    table = pq.read_table(target)
    assert table.column("id").to_pylist() == ["a", "b", "c"]
    assert table.column("list_cost_micros").to_pylist() == [4500, 5500, 3]


def test_ndjson_stays_the_default() -> None:
    assert ok("export").stdout_bytes == ok("export", "--format", "ndjson").stdout_bytes
    assert ok("export").stdout.count("\n") == 3


@pytest.mark.parametrize("args", [["--format", "xlsx"], ["--discount", "150%"],
                                  ["--since", "2026-03-03", "--until", "2026-03-01"]])
def test_bad_flags_fail_cleanly(args: list[str]) -> None:
    assert_clean_failure(tp("export", *args))
