"""A real DuckDB store holding the hand-priced events of `export_data`, written through `write_batch`."""

from __future__ import annotations

import io

import pytest
from export_data import outcome_events, usage_events

from tokenpulse.exports import write_export


@pytest.fixture
def filled(store, book):
    result = store.write_batch(usage_events(book), outcome_events())
    assert (result.new, result.outcomes_new) == (5, 1)
    return store


@pytest.fixture
def export():
    """export(store, fmt, **kwargs) -> (bytes, rows)."""
    def run(store, fmt: str, *args, **kwargs) -> tuple[bytes, int]:
        out = io.BytesIO()
        rows = write_export(store, fmt, out, *args, **kwargs)
        return out.getvalue(), rows
    return run
