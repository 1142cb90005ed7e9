"""Small helpers shared by the tests that run the command line (importable by name from any test folder)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from canonical_lines import ev, write_ndjson  # noqa: F401 - re-exported for the CLI tests
from tokenpulse.cli import cli


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
