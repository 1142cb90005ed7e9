"""Fast re-runs: a report with nothing new is served without opening the store, and never stale."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokenpulse.cli import cli

LINE = ('{{"type":"assistant","timestamp":"2026-03-0{day}T10:00:00.000Z","sessionId":"s","cwd":"/w/p",'
        '"message":{{"id":"msg_{n}","model":"claude-sonnet-4-5","usage":{{"input_tokens":{tokens},'
        '"output_tokens":10}}}},"requestId":"req_{n}"}}\n')


def daily(*args: str, kind: str = "daily") -> dict:
    result = CliRunner().invoke(cli, ["report", kind, "--json", "--tz", "UTC", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def input_by_day(report: dict) -> dict[str, int]:
    return {row["key"]: row["input_tokens"] for row in report["rows"]}


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    path = tmp_path / "claude" / "projects" / "p" / "s.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(LINE.format(day=1, n=1, tokens=100))
    return path


@pytest.mark.parametrize("kind", ["daily", "weekly", "monthly", "session", "blocks"])
def test_a_rerun_with_nothing_new_does_not_open_the_store(
        log: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    first = daily(kind=kind)
    assert first["totals"]["input_tokens"] == 100

    import tokenpulse.store.duckdb as duckdb_store

    def refuse(*args, **kwargs):
        raise AssertionError("the store was opened although nothing had changed")

    monkeypatch.setattr(duckdb_store.DuckDBStore, "__init__", refuse)
    again = daily(kind=kind)
    assert again["rows"] == first["rows"] and again["totals"] == first["totals"]
    assert again["meta"]["import"]["files"] == {"seen": 1, "unchanged": 1, "read": 0, "restarted": 0,
                                                "moved": 0, "forgotten": 0}


def test_new_lines_are_never_hidden_by_the_cache(log: Path) -> None:
    assert input_by_day(daily()) == {"2026-03-01": 100}
    with log.open("a") as f:
        f.write(LINE.format(day=2, n=2, tokens=7))
    assert input_by_day(daily()) == {"2026-03-01": 100, "2026-03-02": 7}
    assert input_by_day(daily()) == {"2026-03-01": 100, "2026-03-02": 7}


def test_a_separate_import_invalidates_the_report_cache(log: Path, tmp_path: Path) -> None:
    assert input_by_day(daily("--no-import")) == {}
    other = tmp_path / "elsewhere.jsonl"
    other.write_text(LINE.format(day=3, n=3, tokens=5))
    assert CliRunner().invoke(cli, ["import", str(other), "--format", "claude"]).exit_code == 0
    assert input_by_day(daily("--no-import")) == {"2026-03-03": 5}


def test_options_and_prices_are_part_of_the_cache_key(log: Path, tmp_path: Path) -> None:
    plain = daily()
    assert daily("--tz", "Pacific/Kiritimati")["meta"]["timezone"] == "Pacific/Kiritimati"
    discounted = daily("--discount", "50%")
    assert discounted["totals"]["effective_cost_usd"] * 2 == plain["totals"]["cost_usd"]
    prices = tmp_path / "prices.toml"
    prices.write_text('as_of = "2026-12-02"\n[models.claude-sonnet-4-5]\nprovider = "anthropic"\n'
                      'input = "6"\noutput = "30"\n')
    doubled = daily("--prices", str(prices))
    assert doubled["totals"]["cost_usd"] == 2 * plain["totals"]["cost_usd"]
    assert daily()["totals"]["cost_usd"] == plain["totals"]["cost_usd"]


def test_a_replaced_store_is_not_trusted(log: Path, tmp_path: Path) -> None:
    assert input_by_day(daily()) == {"2026-03-01": 100}
    home = Path(tmp_path / "tokenpulse")
    for name in ("tokenpulse.duckdb", "tokenpulse.duckdb.wal", "tokenpulse.duckdb.generation"):
        (home / name).unlink(missing_ok=True)
    # The snapshot of read positions belongs to the deleted store: everything is read again.
    assert input_by_day(daily()) == {"2026-03-01": 100}


def test_damaged_cache_files_are_ignored(log: Path, tmp_path: Path) -> None:
    daily()
    cache = tmp_path / "tokenpulse" / "cache"
    (cache / "sources.msgpack").write_bytes(b"\x00garbage")
    for entry in (cache / "reports").iterdir():
        entry.write_bytes(b"not a pickle")
    assert input_by_day(daily()) == {"2026-03-01": 100}
    shutil.rmtree(cache)
    assert input_by_day(daily()) == {"2026-03-01": 100}
    assert "duckdb" in sys.modules  # (the store was opened to answer)
