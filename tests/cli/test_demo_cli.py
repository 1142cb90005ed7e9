"""`tokenpulse demo`: the demo organisation loaded into the store, and written as files."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import as_json, ok


def test_demo_loads_a_reproducible_organisation_and_writes_its_files(tmp_path: Path) -> None:
    summary = as_json(ok("demo", "--people", "40", "--days", "20", "--seed", "3", "--end", "2026-11-30",
                         "--out", str(tmp_path / "org"), "--json"))
    assert summary["people"] == 40 and summary["end"] == "2026-11-30" and summary["loaded_into"]
    assert set(summary["personas"]) == {"normal", "light", "deep_worker", "fleet_builder", "busywork", "calibrator",
                                        "runaway_agent", "retry_churner"}
    labels = json.loads((tmp_path / "org" / "personas.json").read_text())
    assert len(labels["personas"]) == 40
    monthly = as_json(ok("report", "monthly", "--no-import", "--tz", "UTC", "--json"))
    assert monthly["totals"]["requests"] == summary["usage_events"]
    again = as_json(ok("demo", "--people", "40", "--days", "20", "--seed", "3", "--end", "2026-11-30", "--json"))
    assert again["usage_events"] == summary["usage_events"]
    assert as_json(ok("report", "monthly", "--no-import", "--tz", "UTC", "--json"))["totals"] == monthly["totals"]
