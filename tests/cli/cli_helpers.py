"""Small helpers shared by the CLI tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from tokenpulse.cli import cli


def ev(id: str, ts: str, *, model: str = "claude-sonnet-4-5", provider: str | None = "anthropic",
       tool: str = "claude_code", **fields: Any) -> dict[str, Any]:
    """One canonical usage line (`tokenpulse-events/1`)."""
    line: dict[str, Any] = {"kind": "usage", "id": id, "ts": ts, "tool": tool, "model": model}
    if provider is not None:
        line["provider"] = provider
    line.update(fields)
    return line


def write_ndjson(path: Path, events: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def tp(*args: str | Path) -> Result:
    """Run `tokenpulse ARGS…` in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def ok(*args: str | Path) -> Result:
    """Run a command that must succeed."""
    result = tp(*args)
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result


def as_json(result: Result) -> Any:
    """stdout as JSON, with numbers that have a fraction read as exact Decimals."""
    return json.loads(result.stdout, parse_float=Decimal)


def assert_clean_failure(result: Result, exit_codes: tuple[int, ...] = (1, 2)) -> None:
    """Failed with a message on stderr and no traceback anywhere."""
    assert result.exit_code in exit_codes, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error:"), result.stderr
