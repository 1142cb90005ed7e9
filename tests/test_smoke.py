"""End to end: the CLI imports the bundled sample logs and reports on them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tokenpulse.cli import cli


def test_report_daily_json_on_samples(data: Path, monkeypatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(data / "claude"))
    monkeypatch.setenv("CODEX_HOME", str(data / "codex"))
    result = CliRunner().invoke(cli, ["report", "daily", "--json", "--tz", "UTC"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [row["key"] for row in report["rows"]] == [
        "2026-01-09", "2026-01-10", "2026-02-10", "2026-02-12", "2026-02-23"]
    assert report["meta"]["import"]["partial"] is False
