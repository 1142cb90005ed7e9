"""Settings: `tokenpulse.toml` in the data directory, `TOKENPULSE_*` variables over it, flags over both.

Data: a claude-opus-4-5 request at 2026-03-02T04:30Z (Sunday 2026-03-01 23:30 in New York), 1M input
tokens = $5.00, and an acme-model-9 request at 2026-03-02T12:00Z (Monday), 1M in + 0.1M out, priced
only by acme.toml at $2/$8 per million = $2.80.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from cli_helpers import as_json, assert_clean_failure, ev, ok, tp, write_ndjson

EVENTS = [
    ev("a", "2026-03-02T04:30:00Z", model="claude-opus-4-5", input_tokens=1_000_000),
    ev("u", "2026-03-02T12:00:00Z", tool="acme_cli", provider="acme", model="acme-model-9",
       input_tokens=1_000_000, output_tokens=100_000),
]
ACME_TOML = 'as_of = "2026-12-02"\n[models.acme-model-9]\nprovider = "acme"\ninput = "2"\noutput = "8"\n'


@pytest.fixture
def home() -> Path:
    """The data directory the autouse fixture points TOKENPULSE_HOME at."""
    path = Path(os.environ["TOKENPULSE_HOME"])
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def configured(home: Path, tmp_path: Path) -> Path:
    (home / "acme.toml").write_text(ACME_TOML, encoding="utf-8")
    config = home / "tokenpulse.toml"
    config.write_text('tz = "America/New_York"\ndiscount = "15%"\nweek_start = "sunday"\nprices = ["acme.toml"]\n',
                      encoding="utf-8")
    ok("import", write_ndjson(tmp_path / "events.ndjson", EVENTS))
    return config


def report(*args: str | Path) -> dict:
    return as_json(ok("report", *args, "--no-import", "--json"))


def keys(r: dict) -> list[str]:
    return [row["key"] for row in r["rows"]]


def test_the_config_file_sets_zone_discount_week_start_and_prices(configured) -> None:
    daily = report("daily")
    assert daily["meta"]["timezone"] == "America/New_York"
    assert keys(daily) == ["2026-03-01", "2026-03-02"]
    assert daily["meta"]["discount"] == {"default": "15%"}
    t = daily["totals"]
    # $5.00 + $2.80 = $7.80 list, all priced thanks to acme.toml; 15% off: $6.63.
    assert (t["cost_usd"], t["effective_cost_usd"], t["cost_complete"]) == (Decimal("7.8"), Decimal("6.63"), True)
    # Weeks start on Sunday: Sunday the 1st and Monday the 2nd are one week.
    assert keys(report("weekly")) == ["2026-03-01"]


def test_flags_win_over_the_config_file(configured) -> None:
    r = report("daily", "--tz", "UTC", "--discount", "0%")
    assert r["meta"]["timezone"] == "UTC"
    assert keys(r) == ["2026-03-02"]
    assert r["totals"]["effective_cost_usd"] == r["totals"]["cost_usd"] == Decimal("7.8")
    assert r["meta"]["discount"] == {"default": "0%"}
    assert keys(report("weekly", "--week-start", "monday")) == ["2026-02-23", "2026-03-02"]


def test_environment_wins_over_the_config_file_and_flags_over_the_environment(configured, monkeypatch) -> None:
    monkeypatch.setenv("TOKENPULSE_TZ", "Asia/Tokyo")
    monkeypatch.setenv("TOKENPULSE_DISCOUNT", "anthropic=10%")
    monkeypatch.setenv("TOKENPULSE_WEEK_START", "monday")
    r = report("daily")
    assert r["meta"]["timezone"] == "Asia/Tokyo"
    assert keys(r) == ["2026-03-02"]  # 13:30 and 21:00 in Tokyo
    assert r["meta"]["discount"] == {"default": "0%", "anthropic": "10%"}
    assert r["totals"]["effective_cost_usd"] == Decimal("7.3")  # $5.00 x 0.9 + $2.80
    assert keys(report("weekly", "--tz", "America/New_York")) == ["2026-02-23", "2026-03-02"]
    flagged = report("daily", "--tz", "America/New_York", "--discount", "20%")
    assert keys(flagged) == ["2026-03-01", "2026-03-02"]
    assert flagged["totals"]["effective_cost_usd"] == Decimal("6.24")
    assert keys(report("weekly", "--tz", "America/New_York", "--week-start", "sunday")) == ["2026-03-01"]


def test_prices_from_the_environment(home: Path, tmp_path: Path, monkeypatch) -> None:
    prices = tmp_path / "elsewhere" / "acme.toml"
    prices.parent.mkdir()
    prices.write_text(ACME_TOML, encoding="utf-8")
    ok("import", write_ndjson(tmp_path / "events.ndjson", EVENTS))
    assert report("daily")["totals"]["cost_complete"] is False
    monkeypatch.setenv("TOKENPULSE_PRICES", str(prices))
    assert report("daily")["totals"]["cost_usd"] == Decimal("7.8")


def test_config_file_named_by_tokenpulse_config(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "team" / "settings.toml"
    config.parent.mkdir()
    config.write_text('tz = "Europe/Berlin"\n', encoding="utf-8")
    monkeypatch.setenv("TOKENPULSE_CONFIG", str(config))
    assert report("daily")["meta"]["timezone"] == "Europe/Berlin"


def test_home_flag_chooses_the_data_directory(tmp_path: Path) -> None:
    other = tmp_path / "other"
    ok("--home", other, "import", write_ndjson(tmp_path / "events.ndjson", EVENTS))
    assert (other / "tokenpulse.duckdb").exists()
    assert report("daily")["rows"] == []
    assert as_json(ok("--home", other, "report", "daily", "--no-import", "--json"))["totals"]["requests"] == 2


@pytest.mark.parametrize(("config", "message"), [
    ('tz = "Mars/Olympus_Mons"\n', "unknown time zone 'Mars/Olympus_Mons'"),
    ('discount = "lots"\n', "invalid discount"),
    ('week_start = "someday"\n', "week start must be a day name"),
    ('prices = ["nowhere.json"]\n', "nowhere.json"),
    ("tz = \n", "cannot read"),
])
def test_bad_settings_give_a_clean_error(home: Path, config: str, message: str) -> None:
    (home / "tokenpulse.toml").write_text(config, encoding="utf-8")
    result = tp("report", "daily", "--no-import", "--json")
    assert_clean_failure(result, (1,))
    assert message in result.stderr


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("TOKENPULSE_TZ", "Not/AZone", "unknown time zone"),
    ("TOKENPULSE_DISCOUNT", "-5%", "invalid discount"),
])
def test_bad_environment_settings_give_a_clean_error(monkeypatch, variable, value, message) -> None:
    monkeypatch.setenv(variable, value)
    result = tp("report", "daily", "--no-import", "--json")
    assert_clean_failure(result, (1,))
    assert message in result.stderr
