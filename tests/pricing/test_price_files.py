"""Price files: the bundled table, LiteLLM's JSON format, tokenpulse TOML files, and patching.

`tests/data/litellm-excerpt.json` holds thirteen entries copied verbatim (values unchanged) from
LiteLLM's `model_prices_and_context_window.json` (the snapshot in ../shared/reference/):

  sample_spec                                   the file's self-description: never a model
  claude-sonnet-4-5                             anthropic; no long-context fields in LiteLLM
  claude-sonnet-4-5-20250929                    the dated anthropic id
  us.anthropic.claude-sonnet-4-5-20250929-v1:0  Bedrock US profile (10% dearer), above_200k fields
  claude-opus-4-6                               provider_specific_entry {us: 1.1}, no fast
  claude-opus-4-8                               provider_specific_entry {us: 1.1, fast: 2.0}
  gpt-5                                         cache read + batches/flex/priority prices
  gpt-5.4                                       above_272k fields
  gpt-4o-2024-05-13                             a dated OpenAI snapshot with its own (higher) price
  gemini-2.5-pro                                vertex_ai-language-models, above_200k fields
  text-embedding-3-small                        mode "embedding": must be ignored
  deepinfra/anthropic/claude-4-opus             a reseller's marked-up Claude Opus 4 (16.5 / 82.5)
  deepseek/deepseek-v3                          a prefixed key for a model nobody else lists
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from tokenpulse.errors import PriceDataError
from tokenpulse.events import UsageEvent
from tokenpulse.pricing import PriceBook, cost_micros, load_price_book
from tokenpulse.pricing.book import build_model_price
from tokenpulse.pricing.files import bundled_table, parse_litellm, read_price_file
from tokenpulse.pricing.names import base_name

EXCERPT = Path(__file__).parent.parent / "data" / "litellm-excerpt.json"
MTOK = 1_000_000  # pico-USD per token for 1 USD per million tokens


def usage(model: str, **fields) -> UsageEvent:
    return UsageEvent(id="req-1", ts=datetime(2026, 11, 3, tzinfo=UTC), tool="test", model=model, **fields)


def excerpt() -> dict:
    return json.loads(EXCERPT.read_text(encoding="utf-8"))


@pytest.fixture
def parsed() -> dict:
    return parse_litellm(excerpt(), EXCERPT.name)


@pytest.fixture
def patched() -> PriceBook:
    return load_price_book([EXCERPT])


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def d(value: str) -> Decimal:
    return Decimal(value)


# --- the bundled table -----------------------------------------------------------------------------


def test_the_bundled_table_loads_and_every_model_is_complete(book: PriceBook) -> None:
    as_of, entries = bundled_table()
    assert as_of == book.as_of
    assert book.version.startswith(f"{as_of}.")
    assert book.sources == ["bundled"]
    assert {entry.provider for entry in entries.values()} == {"anthropic", "openai", "google"}
    # nothing in the bundled table is silently dropped for lack of a price
    assert set(book.models) == set(entries)
    for name, entry in entries.items():
        assert "input" in entry.rates and "output" in entry.rates, name
        assert entry.provider in {"anthropic", "openai", "google"}, name
        assert book.models[name].rates.output > 0, name


def test_the_version_is_stable_while_prices_do_not_change(book: PriceBook, tmp_path: Path) -> None:
    assert load_price_book().version == book.version
    # a file that restates a bundled price (same as_of, same value) changes nothing
    same = write(tmp_path, "same.toml",
                 'as_of = "2026-12-01"\n[models.claude-sonnet-4-5]\ninput = "3.00"\n')
    restated = load_price_book([same])
    assert restated.version == book.version
    assert restated.sources == ["bundled", str(same)]


def test_the_version_changes_when_a_price_changes(book: PriceBook, tmp_path: Path) -> None:
    changed = write(tmp_path, "changed.toml",
                    'as_of = "2026-12-01"\n[models.claude-sonnet-4-5]\ninput = "3.01"\n')
    patched = load_price_book([changed])
    assert patched.as_of == book.as_of  # same date, yet a different book
    assert patched.version != book.version
    assert patched.version.startswith(f"{book.as_of}.")


# --- reading LiteLLM's format ----------------------------------------------------------------------


def test_litellm_per_token_floats_become_exact_prices(parsed: dict) -> None:
    # 3e-06 USD per token is exactly 3 USD per million tokens, 1.5e-05 exactly 15, and so on.
    entry = parsed["claude-sonnet-4-5"]
    assert entry.provider == "anthropic"
    assert entry.rates == {"input": d("3"), "output": d("15"), "cache_write_5m": d("3.75"),
                           "cache_write_1h": d("6"), "cache_read": d("0.3")}
    # LiteLLM gives no long-context fields for this model
    assert entry.long_context_above is None and entry.long_context == {}
    # input_cost_per_token_batches 1.5e-06 / 3e-06 = 0.5
    assert entry.multipliers == {"tier:batch": d("0.5")}
    # search_context_size_medium: $0.01 per search = $10 per 1000
    assert entry.web_search_per_1k == d("10")


def test_float_noise_does_not_reach_the_rates() -> None:
    # 3.3e-06 * 1e6 is 3.3000000000000003 in binary floating point; the book must hold 3.3 exactly.
    key = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    (entry,) = parse_litellm({key: excerpt()[key]}, EXCERPT.name).values()
    assert entry.rates["input"] == d("3.3")
    price = build_model_price(entry)
    assert price.rates.input == 3_300_000            # pico-USD per token
    assert price.rates.cache_write_5m == 4_125_000   # 4.125e-06
    assert price.rates.cache_read == 330_000         # 3.3e-07


def test_a_bedrock_key_with_above_200k_fields() -> None:
    key = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    (entry,) = parse_litellm({key: excerpt()[key]}, EXCERPT.name).values()
    assert entry.name == "claude-sonnet-4-5-20250929"
    assert entry.provider == "bedrock_converse"
    assert entry.rates == {"input": d("3.3"), "output": d("16.5"), "cache_write_5m": d("4.125"),
                           "cache_write_1h": d("6.6"), "cache_read": d("0.33")}
    assert entry.long_context_above == 200_000
    assert entry.long_context == {"input": d("6.6"), "output": d("24.75"), "cache_write_5m": d("8.25"),
                                  "cache_write_1h": d("13.2"), "cache_read": d("0.66")}
    assert entry.multipliers == {"tier:batch": d("0.5")}  # 1.65e-06 / 3.3e-06


def test_openai_cache_reads_and_service_tiers(parsed: dict) -> None:
    gpt5 = parsed["gpt-5"]
    assert gpt5.provider == "openai"
    assert gpt5.rates == {"input": d("1.25"), "output": d("10"), "cache_read": d("0.125")}
    # batches 6.25e-07, flex 6.25e-07, priority 2.5e-06 against input 1.25e-06
    assert gpt5.multipliers == {"tier:batch": d("0.5"), "tier:flex": d("0.5"), "tier:priority": d("2")}
    assert gpt5.long_context_above is None


def test_openai_above_272k(parsed: dict) -> None:
    entry = parsed["gpt-5.4"]
    assert entry.rates == {"input": d("2.5"), "output": d("15"), "cache_read": d("0.25")}
    assert entry.long_context_above == 272_000
    assert entry.long_context == {"input": d("5"), "output": d("22.5"), "cache_read": d("0.5")}
    assert entry.multipliers == {"tier:batch": d("0.5"), "tier:flex": d("0.5"), "tier:priority": d("2")}


def test_gemini_above_200k(parsed: dict) -> None:
    entry = parsed["gemini-2.5-pro"]
    assert entry.provider == "google"  # vertex_ai-language-models is Google's own API
    assert entry.rates == {"input": d("1.25"), "output": d("10"), "cache_read": d("0.125")}
    assert entry.long_context_above == 200_000
    assert (entry.long_context["input"], entry.long_context["output"], entry.long_context["cache_read"]) \
        == (d("2.5"), d("15"), d("0.25"))
    assert entry.multipliers == {"tier:batch": d("0.5"), "tier:flex": d("0.5"), "tier:priority": d("1.8")}
    assert entry.web_search_per_1k == d("35")


def test_fast_and_us_multipliers_from_provider_specific_entry(parsed: dict) -> None:
    assert parsed["claude-opus-4-8"].multipliers == {"fast": d("2"), "geo_us": d("1.1"), "tier:batch": d("0.5")}
    assert parsed["claude-opus-4-6"].multipliers == {"geo_us": d("1.1"), "tier:batch": d("0.5")}


def test_non_chat_entries_and_the_sample_spec_are_skipped(parsed: dict) -> None:
    assert "text-embedding-3-small" not in parsed
    assert "sample_spec" not in parsed
    assert all(entry.provider for entry in parsed.values())


def test_the_direct_vendor_beats_a_prefixed_key_in_either_order() -> None:
    data = excerpt()
    direct, bedrock = "claude-sonnet-4-5-20250929", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    for order in ([direct, bedrock], [bedrock, direct]):
        chosen = parse_litellm({key: data[key] for key in order}, EXCERPT.name)
        assert list(chosen) == ["claude-sonnet-4-5-20250929"]
        assert chosen["claude-sonnet-4-5-20250929"].provider == "anthropic"
        assert chosen["claude-sonnet-4-5-20250929"].rates["input"] == d("3")  # not Bedrock US's 3.3


def test_provider_ranking_among_prefixed_keys() -> None:
    # Two resellers of one model: Google's Gemini API ranks above Vertex AI, whatever the order.
    spec = dict(excerpt()["gemini-2.5-pro"])
    via_gemini = {**spec, "litellm_provider": "gemini", "input_cost_per_token": 1.25e-06}
    via_vertex = {**spec, "litellm_provider": "vertex_ai", "input_cost_per_token": 9e-06}
    for data in ({"vertex_ai/acme-9": via_vertex, "gemini/acme-9": via_gemini},
                 {"gemini/acme-9": via_gemini, "vertex_ai/acme-9": via_vertex}):
        assert parse_litellm(data, "ranked.json")["acme-9"].rates["input"] == d("1.25")


def test_a_prefixed_key_fills_a_gap_under_its_own_name(parsed: dict, patched: PriceBook) -> None:
    # Nobody else lists DeepSeek V3, so deepseek/deepseek-v3 supplies it, as "deepseek-v3".
    assert parsed["deepseek-v3"].rates["input"] == d("0.27")
    price = patched.lookup("deepseek/deepseek-v3")
    assert price is not None and price.name == "deepseek-v3"
    assert price.rates.input == 270_000
    # ... and it is not a price for other DeepSeek models
    assert patched.lookup("deepseek") is None
    assert patched.lookup("deepseek-v4") is None


def test_a_reseller_entry_does_not_override_a_bundled_model(patched: PriceBook) -> None:
    # deepinfra/anthropic/claude-4-opus normalises to claude-opus-4, but DeepInfra's 10% mark-up
    # (16.5 / 82.5) is not Anthropic's list price: prefixed keys only fill gaps.
    price = patched.lookup("claude-opus-4")
    assert price is not None
    assert price.provider == "anthropic"
    assert (price.rates.input, price.rates.output) == (15 * MTOK, 75 * MTOK)


# --- patching the bundled table --------------------------------------------------------------------


def test_a_litellm_file_patches_field_by_field(patched: PriceBook) -> None:
    assert patched.sources == ["bundled", str(EXCERPT)]
    sonnet = patched.models["claude-sonnet-4-5"]
    assert sonnet.source == "bundled+litellm-excerpt.json"
    assert sonnet.rates.input == 3 * MTOK
    # LiteLLM's entry has no long-context fields; the bundled tier is kept
    assert sonnet.long_context_above == 200_000
    assert sonnet.long_context is not None and sonnet.long_context.input == 6 * MTOK
    # LiteLLM's claude-opus-4-6 has no fast multiplier; the bundled 6x is kept beside its us 1.1
    assert dict(patched.models["claude-opus-4-6"].multipliers) == {
        "fast": Fraction(6), "geo_us": Fraction(11, 10), "tier:batch": Fraction(1, 2)}
    assert patched.models["claude-opus-4-8"].multipliers["fast"] == 2


def test_a_dated_litellm_id_inherits_the_bundled_rules(patched: PriceBook) -> None:
    price = patched.lookup("claude-sonnet-4-5-20250929")
    assert price is not None and price.name == "claude-sonnet-4-5-20250929"
    assert price.long_context_above == 200_000
    # 200001 input tokens, all at the long-context 6 µ$/token: 1200006 µ$
    assert cost_micros(usage("claude-sonnet-4-5-20250929", input_tokens=200_001), price) == 1_200_006


def test_a_changed_price_wins(tmp_path: Path, book: PriceBook, patched: PriceBook) -> None:
    data = excerpt()
    data["claude-sonnet-4-5"]["input_cost_per_token"] = 4e-06
    newer = write(tmp_path, "newer.json", json.dumps(data))
    updated = load_price_book([newer])
    sonnet = updated.models["claude-sonnet-4-5"]
    assert sonnet.rates.input == 4 * MTOK       # from the file
    assert sonnet.rates.output == 15 * MTOK     # unchanged
    assert sonnet.long_context is not None and sonnet.long_context.input == 6 * MTOK  # bundled rule kept
    # 1000 input tokens at 4 µ$ = 4000 µ$ (3000 before)
    assert cost_micros(usage("claude-sonnet-4-5", input_tokens=1000), sonnet) == 4_000
    assert updated.version not in {book.version, patched.version}


def test_a_tokenpulse_toml_price_file(tmp_path: Path) -> None:
    table = write(tmp_path, "org-prices.toml", """\
as_of = "2027-01-15"

[models.acme-coder-1]
provider = "openai"
input = "1"
output = "4"
aliases = ["acme/coder-one"]

[models.claude-test-9]
provider = "anthropic"
input = "2"
output = "10"

[models.claude-sonnet-4-5]
input = "2.5"
""")
    book = load_price_book([table])
    assert book.as_of == "2027-01-15"
    assert book.version.startswith("2027-01-15.")
    # no cache prices given: other vendors bill cache writes and reads as input
    acme = book.lookup("acme/coder-one")
    assert acme is not None and acme.name == "acme-coder-1" and acme.provider == "openai"
    r = acme.rates
    assert (r.input, r.output, r.cache_write_5m, r.cache_write_1h, r.cache_read, r.reasoning) \
        == (1 * MTOK, 4 * MTOK, 1 * MTOK, 1 * MTOK, 1 * MTOK, 4 * MTOK)
    # Anthropic's rule: writes 1.25x (5 min) and 2x (1 h) input, reads 0.1x input
    test9 = book.models["claude-test-9"].rates
    assert (test9.cache_write_5m, test9.cache_write_1h, test9.cache_read) == (2_500_000, 4_000_000, 200_000)
    # a partial entry for a bundled model changes only what it states
    sonnet = book.models["claude-sonnet-4-5"]
    assert sonnet.provider == "anthropic"
    assert (sonnet.rates.input, sonnet.rates.output, sonnet.rates.cache_read) == (2_500_000, 15 * MTOK, 300_000)
    assert sonnet.long_context is not None and sonnet.long_context.input == 6 * MTOK


# --- malformed price files -------------------------------------------------------------------------

CHAT = {"litellm_provider": "openai", "mode": "chat",
        "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}
TOML_HEAD = 'as_of = "2026-12-01"\n[models.acme-1]\nprovider = "openai"\n'


MALFORMED = [
    ("broken.json", '{"acme-1": {"input_cost_per_token": 1e-06,', ["not valid JSON"]),
    ("list.json", "[]", ["expected a JSON object"]),
    ("negative.json", json.dumps({"acme-1": {**CHAT, "input_cost_per_token": -1e-06}}),
     ["'acme-1'", "input_cost_per_token", "non-negative"]),
    ("boolean.json", json.dumps({"acme-1": {**CHAT, "output_cost_per_token": True}}),
     ["'acme-1'", "output_cost_per_token"]),
    ("text.json", json.dumps({"acme-1": {**CHAT, "input_cost_per_token": "cheap"}}),
     ["'acme-1'", "input_cost_per_token"]),
    ("null.json", json.dumps({"acme-1": {**CHAT, "cache_read_input_token_cost": None}}),
     ["'acme-1'", "cache_read_input_token_cost"]),
    ("fast.json", json.dumps({"acme-1": {**CHAT, "provider_specific_entry": {"fast": "six"}}}),
     ["'acme-1'", "provider_specific_entry.fast"]),
    ("tier.json", json.dumps({"acme-1": {**CHAT, "input_cost_per_token_batches": -5e-07}}),
     ["'acme-1'", "input_cost_per_token_batches"]),
    ("syntax.toml", "[models.acme-1\n", ["not a valid TOML"]),
    ("nomodels.toml", 'as_of = "2026-12-01"\n', ["no [models] table"]),
    ("negative.toml", TOML_HEAD + 'input = "-3"\noutput = "15"\n', ["'acme-1'", "'input'"]),
    ("boolean.toml", TOML_HEAD + 'input = "3"\noutput = true\n', ["'acme-1'", "'output'"]),
    ("nan.toml", TOML_HEAD + 'input = "NaN"\noutput = "15"\n', ["'acme-1'", "'input'"]),
    ("noabove.toml", TOML_HEAD + 'input = "3"\noutput = "15"\nlong_context = { input = "6" }\n',
     ["'acme-1'", "long_context"]),
    ("boolabove.toml", TOML_HEAD + 'input = "3"\noutput = "15"\nlong_context = { above = true, input = "6" }\n',
     ["'acme-1'", "long_context"]),
    ("tiers.toml", TOML_HEAD + 'input = "3"\noutput = "15"\ntiers = "0.5"\n', ["'acme-1'", "tiers"]),
    ("aliases.toml", TOML_HEAD + 'input = "3"\noutput = "15"\naliases = "acme"\n', ["'acme-1'", "aliases"]),
]


@pytest.mark.parametrize(("name", "text", "must_name"), MALFORMED, ids=[case[0] for case in MALFORMED])
def test_a_malformed_price_file_names_the_file_and_the_model_or_field(
        tmp_path: Path, name: str, text: str, must_name: list[str]) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(PriceDataError) as caught:
        load_price_book([path])
    message = str(caught.value)
    assert name in message
    for part in must_name:
        assert part in message


def test_a_missing_price_file(tmp_path: Path) -> None:
    with pytest.raises(PriceDataError, match="nowhere.json"):
        read_price_file(tmp_path / "nowhere.json")


# --- cross-check: the bundled table against LiteLLM's direct-vendor entries -------------------------

DIRECT_VENDORS = {"anthropic", "openai", "gemini", "vertex_ai-language-models"}
DATE = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2})$")
COMPARED_FIELDS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "cache_read_input_token_cost": "cache_read",
}


def bundled_vs_litellm(data: dict) -> tuple[set[str], list[str]]:
    """Keys compared, and one line per price that differs (computed without the loader under test)."""
    book = PriceBook(bundled_table()[1], as_of="cross-check")
    compared: set[str] = set()
    differences: list[str] = []
    for key, spec in data.items():
        if not isinstance(spec, dict) or spec.get("litellm_provider") not in DIRECT_VENDORS:
            continue
        if spec.get("mode") not in {"chat", "responses"} or base_name(key) != key.lower():  # prefixed or decorated
            continue
        # the price the bundled book charges for this id: its own entry, else its undated model
        price = book.models.get(key.lower()) or book.models.get(DATE.sub("", key.lower()))
        if price is None:
            continue
        compared.add(key)
        for field, rate in COMPARED_FIELDS.items():
            if field in spec:
                litellm_pico = Decimal(repr(spec[field])) * 10**12  # USD/token -> pico-USD/token
                if litellm_pico != getattr(price.rates, rate):
                    differences.append(f"{key} {rate}: bundled {getattr(price.rates, rate) / MTOK} "
                                       f"USD/MTok, LiteLLM {litellm_pico / MTOK}")
    return compared, differences


def test_bundled_prices_agree_with_litellm_direct_vendor_entries() -> None:
    compared, differences = bundled_vs_litellm(excerpt())
    assert compared >= {"claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-opus-4-6",
                        "claude-opus-4-8", "gpt-5", "gpt-5.4", "gemini-2.5-pro"}
    assert differences == []
