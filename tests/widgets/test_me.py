"""`tokenpulse me` and the snapshot the widgets read: today's, the week's and the month's spend (list and
effective), the caps and expected usage that apply, the active 5-hour block — worked out by hand — written
by every import so that widgets never scan logs, and the same figures from a server (`/api/v1/me/snapshot`)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from canonical_lines import ev
from cli_helpers import as_json, ok, write_ndjson


def _setup(tmp_path: Path) -> Path:
    home = Path(os.environ["TOKENPULSE_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "tokenpulse.toml").write_text(
        'tz = "UTC"\nperson = "me@x.io"\ndiscount = "10%"\n'
        '[insights]\nexpected_monthly_usd = {claude_code = 200}\n'
        '[[gateway.budgets]]\neach = "person"\ntool = "claude_code"\nusd = 10\n'
        '[[gateway.budgets]]\nteam = "payments"\nusd = 1000\n')
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = (now - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    # $0.45 of Sonnet input (150k tokens at $3/M: under the long-context tier) and $1.25 of GPT-5 input.
    write_ndjson(tmp_path / "usage.ndjson", [
        ev("a", stamp, input_tokens=150_000),
        ev("b", stamp, tool="codex", provider="openai", model="gpt-5", input_tokens=1_000_000)])
    return home


def test_me_gives_todays_figures_against_the_cap_and_the_expected_usage(tmp_path: Path) -> None:
    home = _setup(tmp_path)
    ok("import", "--format", "ndjson", str(tmp_path / "usage.ndjson"))
    written = json.loads((home / "snapshot.json").read_text())  # the import refreshed the widgets' snapshot
    s = as_json(ok("me", "--no-import", "--json"))
    assert s["schema"] == "tokenpulse-snapshot/1" and s["source"] == "local" and s["person"] == "me@x.io"
    for part in ("today", "week", "month"):
        assert s[part]["list_usd"] == "1.700000" and s[part]["effective_usd"] == "1.530000"
        assert s[part]["by_tool"] == {"claude_code": "0.450000", "codex": "1.250000"}
        assert written[part]["list_usd"] == "1.700000"
    # The person's own cap applies (the team's is not one person's to watch); the floor is beside the month.
    assert s["caps"] == [{"scope": "person:me@x.io|tool:claude_code", "period": "month", "limit_usd": "10.000000",
                          "spent_usd": "0.450000", "used_share": Decimal("0.045")}]
    assert s["expected"] == [{"tool": "claude_code", "expected_usd": "200.000000", "month_usd": "0.450000"}]
    assert s["block"]["active"] and s["block"]["cost_usd"] == "1.700000" and s["breaker"] is None
    assert s["month"]["by_source"] == {"import/metered": "1.700000"}  # where the figures came from
    text = ok("me", "--no-import").stdout
    assert "Today       $1.70 list · $1.53 effective" in text
    assert "Cap person:me@x.io|tool:claude_code (month): $0.45 of $10.00 (4%)" in text


def test_me_is_stable_when_there_is_nothing(tmp_path: Path) -> None:
    s = as_json(ok("me", "--no-import", "--json"))
    assert [s[p]["list_usd"] for p in ("today", "week", "month")] == ["0.000000"] * 3
    assert (s["block"], s["caps"], s["expected"], s["breaker"]) == (None, [], [], None)
