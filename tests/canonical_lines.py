"""Canonical usage lines for tests that want every number easy to work out by hand.

(Importable by name from any test folder: pytest puts this folder on `sys.path` for its conftest.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


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


def sonnet_price_file(folder: Path, *, input: str = "4", output: str = "20", extra: str = "") -> Path:
    """A tokenpulse price table re-pricing Claude Sonnet 4.5 (input and output per million tokens)."""
    path = folder / "prices.toml"
    path.write_text(f"""
schema = "tokenpulse-prices/1"
as_of = "2026-12-02"

[models.claude-sonnet-4-5]
provider = "anthropic"
input = "{input}"
output = "{output}"
{extra}""", encoding="utf-8")
    return path
