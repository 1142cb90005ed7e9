"""Helpers for report tests: hand-made canonical NDJSON imported into a real DuckDB store.

Prices used for hand computation (bundled book, USD per million tokens = micro-USD per token):

    claude-sonnet-4-5 (anthropic): input 3, output 15, cache write 5m 3.75, cache read 0.3
    gpt-5 (openai):                input 1.25, output 10, cache read 0.125
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tokenpulse.ingest import run_import
from tokenpulse.reports import ReportOptions, build_report
from tokenpulse.sources import Root


@pytest.fixture
def load(store, book, tmp_path: Path) -> Callable[[list[dict[str, Any]]], None]:
    """Write events as an NDJSON file and import it into `store` (asserting nothing was rejected)."""
    counter = iter(range(1_000))

    def load_events(events: list[dict[str, Any]]) -> None:
        path = tmp_path / f"events-{next(counter)}.ndjson"
        path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
        report = run_import(store, book, [Root(path, "ndjson")])
        assert not report.partial, report.to_json()
        assert report.written.new == len(events)

    return load_events


@pytest.fixture
def report(store) -> Callable[..., dict[str, Any]]:
    """`report("daily", tz=...)` -> the report's JSON form (Decimals kept exact)."""
    def run(kind: str, **options: Any) -> dict[str, Any]:
        return build_report(store, ReportOptions(kind=kind, **options)).to_json()  # type: ignore[arg-type]
    return run
