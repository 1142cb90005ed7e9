"""`tokenpulse insights`: the documented JSON shape, the expected-usage floor from the config file, the team
filter, and the conversation queue it fills."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli_helpers import as_json, ok
from tokenpulse.insights.detectors import DETECTORS


def test_insights_on_an_imported_demo_organisation(tmp_path: Path) -> None:
    home = Path(os.environ["TOKENPULSE_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "tokenpulse.toml").write_text("[insights]\nexpected_monthly_usd = {claude_code = 200}\n")
    ok("demo", "--people", "120", "--seed", "2", "--end", "2026-11-30", "--no-load", "--out", str(tmp_path / "org"))
    ok("import", "--format", "ndjson", str(tmp_path / "org" / "events.ndjson"))
    ok("people", "import", str(tmp_path / "org" / "people.csv"))
    personas = json.loads((tmp_path / "org" / "personas.json").read_text())["personas"]

    data = as_json(ok("insights", "--json", "--since", "2026-10-17", "--until", "2026-11-30", "--tz", "UTC",
                      "--no-import"))
    assert set(data) >= {"flags", "conversations"}
    assert {f["detector"] for f in data["flags"]} == set(DETECTORS)
    for flag in data["flags"]:
        assert set(flag) == {"person", "detector", "score", "summary", "evidence"} and 0 <= flag["score"] <= 1
        assert personas[flag["person"]] not in ("deep_worker", "fleet_builder")  # high spend alone is no flag
    calibrators = {p for p, persona in personas.items() if persona == "calibrator"}
    assert calibrators <= {f["person"] for f in data["flags"] if f["detector"] == "threshold_calibration"}
    queued = {c["person"] for c in data["conversations"]}
    assert {f["person"] for f in data["flags"]} <= queued  # every flagged person gets a check-in
    fleet = next(p for p, persona in personas.items() if persona == "fleet_builder")
    fleet_item = next(c for c in data["conversations"] if c["person"] == fleet)  # a top spender: a conversation,
    assert fleet_item["evidence"]["flags"] == [] and fleet_item["evidence"]["outcomes"]["commit"] > 0  # not a flag

    team = next(c["team"] for c in data["conversations"] if c["team"])
    only = as_json(ok("insights", "--json", "--since", "2026-10-17", "--until", "2026-11-30", "--tz", "UTC",
                      "--no-import", "--team", team))
    assert only["conversations"] and {c["team"] for c in only["conversations"]} == {team}
    saved = as_json(ok("conversations", "list", "--json"))["conversations"]
    assert {c["person"] for c in saved} == queued  # the period's queue is kept, and a re-run adds nothing


def test_insights_json_is_stable_when_there_is_nothing() -> None:
    data = as_json(ok("insights", "--json", "--since", "2026-11-01", "--until", "2026-11-30", "--tz", "UTC",
                      "--no-import"))
    assert data == {"since": "2026-11-01", "until": "2026-11-30", "timezone": "UTC", "team": None, "flags": [],
                    "conversations": []}


def test_the_expected_usage_saved_in_the_dashboard_is_the_floor_insights_watch(tmp_path: Path) -> None:
    """No [insights] table in the file: the floor an admin saved in the dashboard's policies is the line
    threshold_calibration measures calibrators against."""
    from datetime import UTC, datetime

    from tokenpulse.store.duckdb import DuckDBStore

    ok("demo", "--people", "120", "--seed", "2", "--end", "2026-11-30")
    store = DuckDBStore(Path(os.environ["TOKENPULSE_HOME"]) / "tokenpulse.duckdb")
    try:
        store.set_org_setting("expected_monthly_usd", {"claude_code": "200"}, "admin", datetime.now(UTC))
    finally:
        store.close()
    data = as_json(ok("insights", "--json", "--since", "2026-10-17", "--until", "2026-11-30", "--tz", "UTC",
                      "--no-import"))
    lines = [(m["threshold"], m["threshold_usd"]) for f in data["flags"] if f["detector"] == "threshold_calibration"
             for m in f["evidence"]["months"]]
    assert lines and set(lines) == {("expected_minimum", "200.000000")}
