"""Small helpers shared by the report tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from typing import Any

from canonical_lines import ev  # noqa: F401 - re-exported for the report tests


def keyed(report_json: dict[str, Any], field: str = "total_tokens") -> list[tuple[str, Any]]:
    """[(row key, row[field])] — the compact view most assertions need."""
    return [(row["key"], row[field]) for row in report_json["rows"]]
