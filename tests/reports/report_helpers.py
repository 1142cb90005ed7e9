"""Small helpers shared by the report tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from typing import Any


def ev(id: str, ts: str, *, model: str = "claude-sonnet-4-5", provider: str | None = "anthropic",
       tool: str = "claude_code", **fields: Any) -> dict[str, Any]:
    """One canonical usage line (`tokenpulse-events/1`)."""
    line: dict[str, Any] = {"kind": "usage", "id": id, "ts": ts, "tool": tool, "model": model}
    if provider is not None:
        line["provider"] = provider
    line.update(fields)
    return line


def keyed(report_json: dict[str, Any], field: str = "total_tokens") -> list[tuple[str, Any]]:
    """[(row key, row[field])] — the compact view most assertions need."""
    return [(row["key"], row[field]) for row in report_json["rows"]]
