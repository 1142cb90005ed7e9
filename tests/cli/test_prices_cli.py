"""`tokenpulse prices show|list`, `tokenpulse reprice` and `--prices FILE` (tokenpulse TOML or LiteLLM JSON).

Data: one claude-opus-4-5 request, 1M in x $5 + 0.1M out x $25 = $7.50, and one acme-model-9 request
(1M in, 0.1M out) that the bundled book cannot price.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from cli_helpers import as_json, assert_clean_failure, ev, ok, tp, write_ndjson

EVENTS = [
    ev("a", "2026-03-02T09:00:00Z", model="claude-opus-4-5", input_tokens=1_000_000, output_tokens=100_000),
    ev("u", "2026-03-02T10:00:00Z", tool="acme_cli", provider="acme", model="acme-model-9",
       input_tokens=1_000_000, output_tokens=100_000),
]
ACME_TOML = """\
as_of = "2026-12-02"

[models.acme-model-9]
provider = "acme"
input = "2"
output = "8"
"""
# LiteLLM's model_prices_and_context_window.json format: USD per token.
ACME_LITELLM = {
    "sample_spec": {"input_cost_per_token": 0, "output_cost_per_token": 0},
    "acme-model-9": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.2e-05,
                     "litellm_provider": "acme", "mode": "chat"},
}


@pytest.fixture
def acme_toml(tmp_path: Path) -> Path:
    path = tmp_path / "acme.toml"
    path.write_text(ACME_TOML, encoding="utf-8")
    return path


@pytest.fixture
def acme_json(tmp_path: Path) -> Path:
    path = tmp_path / "acme-litellm.json"
    path.write_text(json.dumps(ACME_LITELLM), encoding="utf-8")
    return path


@pytest.fixture
def imported(tmp_path: Path) -> None:
    ok("import", write_ndjson(tmp_path / "events.ndjson", EVENTS))


def totals(*args: str | Path) -> dict:
    return as_json(ok("report", "daily", "--no-import", "--json", *args))["totals"]


def test_show_resolves_dated_ids_and_gives_null_for_unknown_models() -> None:
    r = as_json(ok("prices", "show", "claude-sonnet-4-5-20250929", "acme-model-9", "--json"))
    assert r["price_version"].startswith("2026-")
    sonnet = r["models"]["claude-sonnet-4-5-20250929"]
    assert (sonnet["model"], sonnet["provider"], sonnet["source"]) == ("claude-sonnet-4-5", "anthropic", "bundled")
    assert sonnet["usd_per_mtok"] == {
        "input": 3, "output": 15, "cache_write_5m": Decimal("3.75"), "cache_write_1h": 6,
        "cache_read": Decimal("0.3"), "reasoning": 15}
    assert sonnet["long_context"]["above_input_tokens"] == 200_000
    assert sonnet["long_context"]["usd_per_mtok"]["input"] == 6
    assert r["models"]["acme-model-9"] is None


def test_show_as_text() -> None:
    out = " ".join(ok("prices", "show", "anthropic/claude-opus-4.5", "acme-model-9").stdout.split())
    assert "anthropic/claude-opus-4.5 → claude-opus-4-5 (anthropic)" in out
    assert "input $5, output $25" in out
    assert "acme-model-9: no price known" in out


def test_list_by_provider() -> None:
    r = as_json(ok("prices", "list", "--provider", "anthropic", "--json"))
    names = [m["model"] for m in r["models"]]
    assert {"claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5"} <= set(names)
    assert {m["provider"] for m in r["models"]} == {"anthropic"}
    assert r["as_of"] == "2026-12-01"
    everything = as_json(ok("prices", "list", "--json"))["models"]
    assert "gpt-5" in {m["model"] for m in everything}
    assert as_json(ok("prices", "list", "--provider", "nobody", "--json"))["models"] == []


def test_a_toml_price_file_prices_unknown_models_and_stored_events_follow(imported, acme_toml) -> None:
    before = totals()
    assert (before["cost_usd"], before["cost_complete"]) == (Decimal("7.5"), False)
    assert before["unpriced"] == [{"model": "acme-model-9", "requests": 1, "tokens": 1_100_000}]
    # acme-model-9 at $2/$8: 1M x 2 + 0.1M x 8 = $2.80, so $10.30 in all; the stored events are re-priced.
    priced = as_json(ok("report", "daily", "--no-import", "--json", "--prices", acme_toml))
    assert (priced["totals"]["cost_usd"], priced["totals"]["cost_complete"], priced["totals"]["unpriced"]) == (
        Decimal("10.3"), True, [])
    assert priced["meta"]["price_version"].startswith("2026-12-02.")  # the file's as_of is newer
    assert "No price" not in ok("report", "daily", "--no-import", "--prices", acme_toml).stdout
    # Without the file the bundled book applies again.
    assert totals() == before
    shown = as_json(ok("prices", "show", "acme-model-9", "--prices", acme_toml, "--json"))["models"]["acme-model-9"]
    assert (shown["provider"], shown["source"], shown["usd_per_mtok"]["input"]) == ("acme", "acme.toml", 2)


def test_a_litellm_price_file(imported, acme_json) -> None:
    # acme-model-9 at $3/$12 per million: 3 + 1.2 = $4.20, so $11.70 in all.
    t = totals("--prices", acme_json)
    assert (t["cost_usd"], t["cost_complete"]) == (Decimal("11.7"), True)
    shown = as_json(ok("prices", "show", "acme-model-9", "--prices", acme_json, "--json"))["models"]["acme-model-9"]
    assert shown["usd_per_mtok"]["input"] == 3 and shown["usd_per_mtok"]["output"] == 12


def test_a_price_file_patches_a_bundled_model(imported, tmp_path: Path) -> None:
    patch = tmp_path / "patch.toml"
    patch.write_text('[models.claude-opus-4-5]\ninput = "10"\n', encoding="utf-8")
    # Input now $10 per million, output unchanged: 1M x 10 + 0.1M x 25 = $12.50.
    r = as_json(ok("report", "daily", "--no-import", "--json", "--prices", patch, "--breakdown", "model"))
    assert [(b["model"], b["cost_usd"]) for b in r["rows"][0]["breakdown"]] == [
        ("acme-model-9", None), ("claude-opus-4-5", Decimal("12.5"))]  # unpriced: unknown, not $0
    shown = as_json(ok("prices", "show", "claude-opus-4-5", "--prices", patch, "--json"))["models"]["claude-opus-4-5"]
    assert shown["usd_per_mtok"]["input"] == 10 and shown["usd_per_mtok"]["cache_read"] == Decimal("0.5")


def test_a_price_file_without_a_date_keeps_the_book_date(tmp_path: Path) -> None:
    # A TOML patch that states no `as_of` must not turn the book's date into "unknown".
    patch = tmp_path / "patch.toml"
    patch.write_text('[models.claude-opus-4-5]\ninput = "10"\n', encoding="utf-8")
    listed = as_json(ok("prices", "list", "--prices", patch, "--json"))
    assert listed["as_of"] == "2026-12-01"
    assert listed["price_version"].startswith("2026-12-01.")


def test_later_price_files_win(acme_toml, acme_json, imported) -> None:
    assert totals("--prices", acme_toml, "--prices", acme_json)["cost_usd"] == Decimal("11.7")
    assert totals("--prices", acme_json, "--prices", acme_toml)["cost_usd"] == Decimal("10.3")


def test_reprice(imported, acme_toml) -> None:
    out = ok("reprice", "--prices", acme_toml).stdout
    version = as_json(ok("prices", "show", "acme-model-9", "--prices", acme_toml, "--json"))["price_version"]
    assert out.strip() == f"Re-priced 2 requests with price book {version}."
    exported = [json.loads(line) for line in ok("export").stdout.splitlines()]
    assert [(e["id"], e["price_version"], e["list_cost_usd"]) for e in exported] == [
        ("a", version, 7.5), ("u", version, 2.8)]


@pytest.mark.parametrize(("content", "suffix", "message"), [
    ('[models.acme-model-9]\ninput = "cheap"\noutput = "8"\n', ".toml", "'input'"),
    ("[models\n", ".toml", "not a valid TOML price table"),
    ("{not json", ".json", "not valid JSON"),
    ('{"acme-model-9": {"input_cost_per_token": -1, "output_cost_per_token": 1, "mode": "chat"}}', ".json",
     "non-negative"),
])
def test_an_invalid_price_file_is_a_clean_error(tmp_path: Path, content, suffix, message) -> None:
    path = tmp_path / f"prices{suffix}"
    path.write_text(content, encoding="utf-8")
    for args in (["report", "daily", "--no-import"], ["prices", "show", "gpt-5"], ["reprice"]):
        result = tp(*args, "--prices", path)
        assert_clean_failure(result, (1,))
        assert str(path.name) in result.stderr and message in result.stderr


def test_a_missing_price_file_is_a_usage_error(tmp_path: Path) -> None:
    for args in (["report", "daily", "--no-import"], ["prices", "list"], ["import"], ["reprice"]):
        result = tp(*args, "--prices", tmp_path / "missing.json")
        assert_clean_failure(result, (2,))
        assert "missing.json" in result.stderr
