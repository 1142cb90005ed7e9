"""The price book's cost rules, with every expected figure worked out by hand.

Conventions used in the comments: a price of X USD per million tokens is X micro-USD (µ$) per
token, so "1000 tokens at $3/MTok" is 3000 µ$. The book holds rates as integer pico-USD per
token and rounds once per request, half to even, to whole micro-USD.

Bundled prices used below (USD per million tokens, from src/tokenpulse/pricing/prices.toml):

  claude-sonnet-4-5  input 3, output 15, cache write 5m 3.75 / 1h 6, cache read 0.3;
                     above 200k prompt tokens: 6 / 22.5 / 7.5 / 12 / 0.6
  claude-haiku-5-5   input 0.1, output 0.5, write 0.125 / 0.2, read 0.01;
                     above 100k: 0.5 / 2.5 / 0.625 / 1 / 0.05
  claude-haiku-4-5   input 1, output 5, read 0.1
  claude-opus-4-6    input 5, output 25, read 0.5; fast 6x, geo_us 1.1x, batch 0.5x; $10 / 1k searches
  claude-opus-4-8    input 5, output 25; fast 2x, geo_us 1.1x
  gpt-5              input 1.25, output 10, read 0.125; batch 0.5x, flex 0.5x, priority 2x
  gpt-5.4            input 2.5, output 15, read 0.25 (writes billed as input);
                     above 272k: 5 / 22.5 / read 0.5
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tokenpulse.events import UsageEvent
from tokenpulse.pricing import PriceBook, cost_micros, load_price_book


def usage(model: str | None, **fields) -> UsageEvent:
    return UsageEvent(id="req-1", ts=datetime(2026, 11, 3, 14, 22, tzinfo=UTC), tool="test",
                      model=model, **fields)


def cost(book: PriceBook, model: str, **fields) -> int:
    price = book.lookup(model)
    assert price is not None, model
    return cost_micros(usage(model, **fields), price)


# --- one kind of token at a time -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        # 1000 uncached input tokens at $3/MTok = 3000 µ$
        ({"input_tokens": 1000}, 3_000),
        # 1000 output tokens at $15/MTok = 15000 µ$
        ({"output_tokens": 1000}, 15_000),
        # 1000 cache writes, all with the 5-minute TTL, at $3.75/MTok = 3750 µ$
        ({"cache_write_tokens": 1000}, 3_750),
        # the same 1000 writes, all with the 1-hour TTL, at $6/MTok = 6000 µ$
        ({"cache_write_tokens": 1000, "cache_write_1h_tokens": 1000}, 6_000),
        # 1000 writes of which 400 are 1-hour: 600 x 3.75 + 400 x 6 = 2250 + 2400 = 4650 µ$
        ({"cache_write_tokens": 1000, "cache_write_1h_tokens": 400}, 4_650),
        # 1000 cache reads at $0.30/MTok = 300 µ$
        ({"cache_read_tokens": 1000}, 300),
        # 1000 output tokens of which 600 are reasoning: reasoning is priced as output here,
        # so still 1000 x 15 = 15000 µ$ (reasoning is a subset, never added on top)
        ({"output_tokens": 1000, "reasoning_tokens": 600}, 15_000),
        # no tokens at all: a priced model costs exactly 0, which is not "unknown"
        ({}, 0),
    ],
)
def test_each_kind_of_token_at_its_own_rate(book: PriceBook, tokens: dict, expected: int) -> None:
    assert cost(book, "claude-sonnet-4-5", **tokens) == expected


def test_a_request_with_every_kind_of_token(book: PriceBook) -> None:
    # claude-sonnet-4-5, prompt 1200 + 50000 + 2000 = 53200 tokens (well under 200k):
    #   input        1200 x 3     =   3600
    #   write 5m     1500 x 3.75  =   5625
    #   write 1h      500 x 6     =   3000
    #   read        50000 x 0.3   =  15000
    #   output        350 x 15    =   5250   (100 of them reasoning, priced as output)
    #                                 -----
    #                                 32475 µ$
    assert cost(book, "claude-sonnet-4-5", input_tokens=1200, cache_write_tokens=2000,
                cache_write_1h_tokens=500, cache_read_tokens=50000, output_tokens=350,
                reasoning_tokens=100) == 32_475


def test_subsets_never_exceed_their_whole(book: PriceBook) -> None:
    # A source that reports more 1-hour writes than writes, or more reasoning than output, does
    # not create tokens: at most all 100 writes are 1-hour (100 x 6 = 600) and at most all 10
    # output tokens are reasoning (10 x 15 = 150). 600 + 150 = 750 µ$.
    assert cost(book, "claude-sonnet-4-5", cache_write_tokens=100, cache_write_1h_tokens=900,
                output_tokens=10, reasoning_tokens=50) == 750


def test_a_model_with_its_own_reasoning_price(tmp_path: Path) -> None:
    table = tmp_path / "reasoning.toml"
    table.write_text(
        'as_of = "2026-12-01"\n'
        "[models.acme-thinker-1]\n"
        'provider = "openai"\ninput = "1"\noutput = "10"\nreasoning = "20"\n',
        encoding="utf-8",
    )
    book = load_price_book([table])
    # 1000 output tokens of which 600 are reasoning: 400 x 10 + 600 x 20 = 4000 + 12000 = 16000 µ$
    assert cost(book, "acme-thinker-1", output_tokens=1000, reasoning_tokens=600) == 16_000
    # without reasoning all 1000 are plain output: 10000 µ$
    assert cost(book, "acme-thinker-1", output_tokens=1000) == 10_000


# --- long context ----------------------------------------------------------------------------------


def test_sonnet_4_5_exactly_at_200k_is_billed_at_base_rates(book: PriceBook) -> None:
    # prompt = 150000 input + 40000 reads + 10000 writes = 200000: not *above* the threshold.
    #   input   150000 x 3     = 450000
    #   read     40000 x 0.3   =  12000
    #   write 5m  6000 x 3.75  =  22500
    #   write 1h  4000 x 6     =  24000
    #   output    1000 x 15    =  15000
    #                            ------
    #                            523500 µ$
    assert cost(book, "claude-sonnet-4-5", input_tokens=150_000, cache_read_tokens=40_000,
                cache_write_tokens=10_000, cache_write_1h_tokens=4_000,
                output_tokens=1_000) == 523_500


def test_sonnet_4_5_one_token_above_200k_bills_every_token_at_long_context_rates(book: PriceBook) -> None:
    # prompt = 150001 + 40000 + 10000 = 200001 > 200000, so the whole request moves tier,
    # including the first 200k tokens and the output:
    #   input   150001 x 6     = 900006
    #   read     40000 x 0.6   =  24000
    #   write 5m  6000 x 7.5   =  45000
    #   write 1h  4000 x 12    =  48000
    #   output    1000 x 22.5  =  22500
    #                           -------
    #                           1039506 µ$
    assert cost(book, "claude-sonnet-4-5", input_tokens=150_001, cache_read_tokens=40_000,
                cache_write_tokens=10_000, cache_write_1h_tokens=4_000,
                output_tokens=1_000) == 1_039_506


def test_output_tokens_do_not_count_towards_the_threshold(book: PriceBook) -> None:
    # prompt 200000 (at, not above), output 100000: base rates.
    # 200000 x 3 + 100000 x 15 = 600000 + 1500000 = 2100000 µ$
    assert cost(book, "claude-sonnet-4-5", input_tokens=200_000,
                output_tokens=100_000) == 2_100_000


def test_cache_reads_count_towards_the_threshold(book: PriceBook) -> None:
    # 1 input + 199999 reads = 200000: base. 1 x 3 + 199999 x 0.3 = 3 + 59999.7 = 60002.7 -> 60003
    assert cost(book, "claude-sonnet-4-5", input_tokens=1, cache_read_tokens=199_999) == 60_003
    # 1 input + 200000 reads = 200001: long context. 1 x 6 + 200000 x 0.6 = 6 + 120000 = 120006
    assert cost(book, "claude-sonnet-4-5", input_tokens=1, cache_read_tokens=200_000) == 120_006


def test_gpt_5_4_switches_above_272k(book: PriceBook) -> None:
    # at 272000 (72000 input + 200000 reads): 72000 x 2.5 + 200000 x 0.25 + 2000 x 15
    #   = 180000 + 50000 + 30000 = 260000 µ$
    assert cost(book, "gpt-5.4", input_tokens=72_000, cache_read_tokens=200_000,
                output_tokens=2_000) == 260_000
    # at 272001: 72001 x 5 + 200000 x 0.5 + 2000 x 22.5 = 360005 + 100000 + 45000 = 505005 µ$
    assert cost(book, "gpt-5.4", input_tokens=72_001, cache_read_tokens=200_000,
                output_tokens=2_000) == 505_005
    # cache writes (billed as input by OpenAI) also count and move tier:
    # 272001 writes x 5 = 1360005 µ$
    assert cost(book, "gpt-5.4", cache_write_tokens=272_001) == 1_360_005


def test_haiku_5_5_switches_above_100k(book: PriceBook) -> None:
    # at 100000: 100000 x 0.1 + 1000 x 0.5 = 10000 + 500 = 10500 µ$
    assert cost(book, "claude-haiku-5-5", input_tokens=100_000, output_tokens=1_000) == 10_500
    # at 100001: 100001 x 0.5 + 1000 x 2.5 = 50000.5 + 2500 = 52500.5 -> 52500 (half to even)
    assert cost(book, "claude-haiku-5-5", input_tokens=100_001, output_tokens=1_000) == 52_500
    # 1 input + 100000 reads: 1 x 0.5 + 100000 x 0.05 = 0.5 + 5000 = 5000.5 -> 5000 (half to even)
    assert cost(book, "claude-haiku-5-5", input_tokens=1, cache_read_tokens=100_000) == 5_000


def test_a_model_without_a_long_context_tier_is_never_switched(book: PriceBook) -> None:
    price = book.lookup("claude-opus-4-6")
    assert price is not None and price.long_context is None and price.long_context_above is None
    # 500000 input x 5 + 500000 reads x 0.5 = 2500000 + 250000 = 2750000 µ$ (a 1M-token prompt)
    assert cost(book, "claude-opus-4-6", input_tokens=500_000,
                cache_read_tokens=500_000) == 2_750_000


# --- multipliers -----------------------------------------------------------------------------------

# claude-opus-4-6, 1000 input + 1000 output: 1000 x 5 + 1000 x 25 = 30000 µ$ before multipliers.
OPUS = {"input_tokens": 1_000, "output_tokens": 1_000}


@pytest.mark.parametrize(
    ("model", "flags", "expected"),
    [
        ("claude-opus-4-6", {}, 30_000),
        ("claude-opus-4-6", {"speed": "fast"}, 180_000),                      # 30000 x 6
        ("claude-opus-4-8", {"speed": "fast"}, 60_000),                       # 30000 x 2
        ("claude-opus-4-6", {"inference_geo": "us"}, 33_000),                 # 30000 x 1.1
        ("claude-opus-4-6", {"inference_geo": "global"}, 30_000),             # only "us" costs more
        ("claude-opus-4-6", {"service_tier": "batch"}, 15_000),               # 30000 x 0.5
        ("claude-opus-4-6", {"speed": "fast", "inference_geo": "us"}, 198_000),  # 30000 x 6 x 1.1
        ("claude-opus-4-8", {"speed": "fast", "inference_geo": "us"}, 66_000),   # 30000 x 2 x 1.1
        # 30000 x 6 x 1.1 x 0.5 = 99000
        ("claude-opus-4-6", {"speed": "fast", "inference_geo": "us", "service_tier": "batch"}, 99_000),
        ("claude-opus-4-6", {"speed": "standard"}, 30_000),
        ("claude-opus-4-6", {"service_tier": "priority"}, 30_000),            # no such tier: no change
        # claude-sonnet-4-5 has no fast or geo_us multiplier: 1000 x 3 + 1000 x 15 = 18000
        ("claude-sonnet-4-5", {"speed": "fast", "inference_geo": "us"}, 18_000),
    ],
)
def test_multipliers(book: PriceBook, model: str, flags: dict, expected: int) -> None:
    assert cost(book, model, **OPUS, **flags) == expected


@pytest.mark.parametrize(("tier", "expected"), [(None, 7_250), ("default", 7_250),
                                                ("batch", 3_625), ("flex", 3_625),
                                                ("priority", 14_500)])
def test_openai_service_tiers(book: PriceBook, tier: str | None, expected: int) -> None:
    # gpt-5: 1000 input x 1.25 + 8000 reads x 0.125 + 500 output x 10 = 1250 + 1000 + 5000 = 7250
    assert cost(book, "gpt-5", input_tokens=1_000, cache_read_tokens=8_000, output_tokens=500,
                service_tier=tier) == expected


def test_multipliers_apply_to_long_context_rates_too(book: PriceBook) -> None:
    # gpt-5.4 at 272001 input tokens: 272001 x 5 = 1360005; batch 0.5x = 680002.5 -> 680002 (even)
    assert cost(book, "gpt-5.4", input_tokens=272_001, service_tier="batch") == 680_002


def test_web_search_fees_are_per_request_and_never_multiplied(book: PriceBook) -> None:
    # claude-opus-4-6: $10 per 1000 searches = 10000 µ$ each; 2 searches = 20000 µ$
    assert cost(book, "claude-opus-4-6", web_search_requests=2) == 20_000
    # tokens 30000 + searches 20000 = 50000
    assert cost(book, "claude-opus-4-6", **OPUS, web_search_requests=2) == 50_000
    # fast: only the tokens are multiplied: 30000 x 6 + 20000 = 200000
    assert cost(book, "claude-opus-4-6", **OPUS, web_search_requests=2, speed="fast") == 200_000
    # fast, US and batch: 30000 x 6 x 1.1 x 0.5 + 20000 = 99000 + 20000 = 119000
    assert cost(book, "claude-opus-4-6", **OPUS, web_search_requests=2, speed="fast",
                inference_geo="us", service_tier="batch") == 119_000


# --- rounding --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        (5, 0),    # 5 x 0.1 = 0.5 -> 0 (0 is even)
        (15, 2),   # 1.5 -> 2
        (25, 2),   # 2.5 -> 2
        (35, 4),   # 3.5 -> 4
        (16, 2),   # 1.6 -> 2 (not a tie)
        (14, 1),   # 1.4 -> 1
    ],
)
def test_half_to_even_at_exactly_half_a_micro_usd(book: PriceBook, reads: int, expected: int) -> None:
    # claude-haiku-4-5 cache reads cost $0.10/MTok = 0.1 µ$ each
    assert cost(book, "claude-haiku-4-5", cache_read_tokens=reads) == expected


def test_a_request_is_rounded_once_not_per_kind(book: PriceBook) -> None:
    # claude-haiku-4-5: 1 input x 1 + 15 reads x 0.1 = 1 + 1.5 = 2.5 -> 2 (rounding per kind
    # would give 1 + 2 = 3)
    assert cost(book, "claude-haiku-4-5", input_tokens=1, cache_read_tokens=15) == 2


@pytest.mark.parametrize(("tokens", "expected"), [(1, 6), (3, 16), (5, 28)])
def test_rounding_after_a_multiplier(book: PriceBook, tokens: int, expected: int) -> None:
    # claude-opus-4-6 input 5 µ$/token, US inference 1.1x:
    #   1 token: 5.5 -> 6;  3 tokens: 16.5 -> 16;  5 tokens: 27.5 -> 28
    assert cost(book, "claude-opus-4-6", input_tokens=tokens, inference_geo="us") == expected


def test_sums_of_many_requests_are_exact_integers(book: PriceBook) -> None:
    # 10000 requests of 1 claude-sonnet-4-5 input token = 3 µ$ each: 30000 µ$ = $0.03 exactly
    # (adding 0.000003 as a float 10000 times gives 0.02999999999999701).
    events = [usage("claude-sonnet-4-5", input_tokens=1) for _ in range(10_000)]
    for event in events:
        book.price(event)
    assert all(type(e.cost_micros) is int for e in events)
    assert sum(e.cost_micros for e in events) == 30_000


def test_every_bundled_model_prices_to_an_int(book: PriceBook) -> None:
    event_fields = dict(input_tokens=123_457, output_tokens=9_871, cache_read_tokens=77_777,
                        cache_write_tokens=3_333, cache_write_1h_tokens=1_111, reasoning_tokens=555,
                        web_search_requests=1, speed="fast", inference_geo="us", service_tier="priority")
    for name in book.models:
        event = usage(name, **event_fields)
        book.price(event)
        assert type(event.cost_micros) is int and event.cost_micros > 0, name
        assert event.priced_model == name


# --- unknown models and the price version ----------------------------------------------------------


@pytest.mark.parametrize("model", ["claude-sonnet", "gpt-5.3-codex-foo", "my-local-llama", "", None])
def test_an_unknown_model_is_unpriced_never_free(book: PriceBook, model: str | None) -> None:
    event = usage(model, input_tokens=1_000, output_tokens=500)
    event.cost_micros = 123  # a stale figure must not survive re-pricing
    event.priced_model = "stale"
    book.price(event)
    assert event.cost_micros is None
    assert event.priced_model is None
    assert event.price_version == book.version
    # the token counts are kept for the "unpriced" line of a report
    assert (event.input_tokens, event.output_tokens) == (1_000, 500)


def test_a_known_model_records_the_model_and_version_it_was_priced_with(book: PriceBook) -> None:
    event = usage("us.anthropic.claude-sonnet-4-5-20250929-v1:0", input_tokens=1_000)
    book.price(event)
    assert event.cost_micros == 3_000  # 1000 x 3
    assert event.priced_model == "claude-sonnet-4-5"
    assert event.price_version == book.version
    assert book.version.startswith(f"{book.as_of}.")
