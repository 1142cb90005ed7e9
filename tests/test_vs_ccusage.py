"""Against the peer: ccusage 20.0.24 on the same generated Claude Code logs.

Every day's token totals must be equal. Costs must be equal to the cent on every day where no request
crosses 200k prompt tokens on a model with a long-context tier (Claude Sonnet 4.5 here). Above that,
tokenpulse bills the whole request at the long-context rates, as Anthropic does, while ccusage applies
the higher rate only to the tokens of each kind beyond 200k; so on those days ccusage's figure must lie
between tokenpulse's standard-rate price and its long-context price.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tokenpulse.ingest import run_import
from tokenpulse.pricing import cost_micros
from tokenpulse.reports import ReportOptions, build_report
from tokenpulse.sources import Root

pytestmark = pytest.mark.peer

HALF_CENT = Decimal("0.005")


def _generate(out: Path, lines: int, max_prompt: int) -> None:
    path = Path(__file__).parent.parent / "bench" / "claude_corpus.py"
    spec = importlib.util.spec_from_file_location("claude_corpus", path)
    assert spec and spec.loader
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    corpus.generate(out, lines, seed=11, days=20, end=datetime(2026, 11, 30, tzinfo=UTC), max_prompt=max_prompt)


def _ccusage_daily(ccusage: Path, config_dir: Path, home: Path) -> dict[str, dict]:
    result = subprocess.run(
        [str(ccusage), "daily", "--json", "--offline", "--timezone", "UTC"],
        env={"HOME": str(home), "CLAUDE_CONFIG_DIR": str(config_dir), "PATH": "/usr/bin:/bin", "TZ": "UTC"},
        capture_output=True, check=True, timeout=120,
    )
    return {row["period"]: row for row in json.loads(result.stdout, parse_float=Decimal)["daily"]}


@pytest.mark.parametrize("max_prompt", [200_000, 400_000])
def test_daily_totals_match_ccusage(tmp_path, store, book, ccusage, max_prompt) -> None:
    logs = tmp_path / "claude"
    _generate(logs, 6_000, max_prompt)
    theirs = _ccusage_daily(ccusage, logs, tmp_path / "home")

    report = run_import(store, book, [Root(logs / "projects", "claude_code")])
    assert not report.partial
    ours = {row.key: row for row in build_report(store, ReportOptions(kind="daily", tz="UTC")).rows}

    assert sorted(ours) == sorted(theirs)
    # The long-context premium per day: what each crossing request costs above its standard price.
    premium: dict[str, int] = {}
    for event in store.iter_usage():
        price = book.lookup(event.model)
        if price and price.long_context and event.total_input_tokens > price.long_context_above:
            standard = cost_micros(event, dataclasses.replace(price, long_context=None, long_context_above=None))
            day = event.ts.date().isoformat()
            premium[day] = premium.get(day, 0) + event.cost_micros - standard
    if max_prompt <= 200_000:
        assert premium == {}
    else:
        assert premium, "the 400k corpus should have requests above 200k prompt tokens"

    exact_days = 0
    for day, row in ours.items():
        cc, t = theirs[day], row.totals
        assert (t.input_tokens, t.output_tokens, t.cache_write_tokens, t.cache_read_tokens, t.total_tokens) == (
            cc["inputTokens"], cc["outputTokens"], cc["cacheCreationTokens"], cc["cacheReadTokens"],
            cc["totalTokens"]), day
        ours_usd = Decimal(t.cost_micros) / 1_000_000
        if day in premium:
            standard_usd = ours_usd - Decimal(premium[day]) / 1_000_000
            assert standard_usd - HALF_CENT < cc["totalCost"] < ours_usd + HALF_CENT, (day, standard_usd, ours_usd)
        else:
            exact_days += 1
            assert abs(ours_usd - cc["totalCost"]) < HALF_CENT, (day, ours_usd, cc["totalCost"])
    if max_prompt <= 200_000:
        assert exact_days == len(ours)
