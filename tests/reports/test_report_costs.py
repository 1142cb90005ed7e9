"""Report columns and totals: token counts, list and effective cost, cost per million tokens,
unpriced models, the per-model breakdown, and a JSON shape that does not depend on the data.

Costs are worked out by hand from the bundled prices (USD per million tokens = micro-USD per token):

    A  claude-sonnet-4-5: 1000 in x 3 + 100 out x 15 + 2000 cache write (5m) x 3.75 + 10000 cache read x 0.3
                          = 3000 + 1500 + 7500 + 3000 = 15000 micro-USD; 13100 tokens
    B  gpt-5:             1000 in x 1.25 + 100 out x 10 + 8000 cache read x 0.125
                          = 1250 + 1000 + 1000 = 3250 micro-USD; 9100 tokens
    D  claude-sonnet-4-5: 1000 cache write of which 400 with the 1-hour TTL: 600 x 3.75 + 400 x 6
                          = 2250 + 2400 = 4650 micro-USD; 1000 tokens
    U  acme-model-9:      no price; 500 in + 50 out = 550 tokens
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from report_helpers import ev, keyed

from tokenpulse.pricing import Discount
from tokenpulse.reports import REPORT_KINDS

A = dict(input_tokens=1000, output_tokens=100, cache_write_tokens=2000, cache_read_tokens=10000)
B = dict(tool="codex", provider="openai", model="gpt-5", input_tokens=1000, output_tokens=100,
         cache_read_tokens=8000)
D = dict(cache_write_tokens=1000, cache_write_1h_tokens=400)
U = dict(tool="acme_cli", provider="acme", model="acme-model-9", input_tokens=500, output_tokens=50)

TOTALS_KEYS = ["requests", "input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens",
               "cache_read_tokens", "reasoning_tokens", "total_tokens", "cost_usd", "effective_cost_usd",
               "cost_per_mtok_usd", "cost_complete", "unpriced"]


def test_columns_and_totals(load, report) -> None:
    load([
        ev("a", "2026-03-02T09:00:00Z", **A),
        ev("b", "2026-03-02T10:00:00Z", **B),
        ev("d", "2026-03-02T11:00:00Z", **D),
        ev("u", "2026-03-02T12:00:00Z", **U),
    ])
    r = report("daily")
    (row,) = r["rows"]
    assert row["key"] == "2026-03-02"
    assert row["models"] == ["acme-model-9", "claude-sonnet-4-5", "gpt-5"]
    expected = {
        "requests": 4,
        "input_tokens": 1000 + 1000 + 500,
        "output_tokens": 100 + 100 + 50,
        "cache_write_tokens": 2000 + 1000,
        "cache_write_1h_tokens": 400,
        "cache_read_tokens": 10000 + 8000,
        "reasoning_tokens": 0,
        "total_tokens": 13100 + 9100 + 1000 + 550,
        "cost_usd": Decimal("0.022900"),            # 15000 + 3250 + 4650; the unpriced request adds nothing
        "effective_cost_usd": Decimal("0.022900"),  # no discount
        # per million *priced* tokens: 22900 micro-USD / 23200 tokens = $0.98706… per million
        "cost_per_mtok_usd": Decimal("0.987069"),
        "cost_complete": False,
        "unpriced": [{"model": "acme-model-9", "requests": 1, "tokens": 550}],
    }
    assert {k: row[k] for k in TOTALS_KEYS} == expected
    assert r["totals"] == expected
    assert r["meta"]["currency"] == "USD"


def test_unpriced_usage_is_listed_never_counted_as_zero(load, report) -> None:
    load([ev("u1", "2026-03-02T10:00:00Z", **U), ev("u2", "2026-03-03T10:00:00Z", **U)])
    r = report("daily")
    for row in r["rows"]:
        assert row["cost_complete"] is False
        assert row["unpriced"] == [{"model": "acme-model-9", "requests": 1, "tokens": 550}]
        assert row["cost_per_mtok_usd"] is None  # no priced tokens: no rate, rather than $0/MTok
    assert r["totals"]["cost_complete"] is False
    assert r["totals"]["unpriced"] == [{"model": "acme-model-9", "requests": 2, "tokens": 1100}]
    assert r["totals"]["total_tokens"] == 1100
    assert r["totals"]["cost_per_mtok_usd"] is None


def test_flat_discount(load, report) -> None:
    # Day 1: A = 15000 micro-USD list -> 12750 after 15%; day 2: gpt-5 with 2000 in + 100 out
    # = 2500 + 1000 = 3500 -> 2975.
    load([
        ev("a", "2026-03-02T09:00:00Z", **A),
        ev("b", "2026-03-03T09:00:00Z", tool="codex", provider="openai", model="gpt-5",
           input_tokens=2000, output_tokens=100),
    ])
    r = report("daily", discount=Discount.parse("15%"))
    assert keyed(r, "cost_usd") == [("2026-03-02", Decimal("0.015")), ("2026-03-03", Decimal("0.0035"))]
    assert keyed(r, "effective_cost_usd") == [("2026-03-02", Decimal("0.01275")), ("2026-03-03", Decimal("0.002975"))]
    assert r["totals"]["cost_usd"] == Decimal("0.0185")
    assert r["totals"]["effective_cost_usd"] == Decimal("0.015725")
    assert r["meta"]["discount"] == {"default": "15%"}


def test_discount_per_provider(load, report) -> None:
    load([
        ev("a", "2026-03-02T09:00:00Z", **A),                                       # 15000 -> 13500 (10% off)
        ev("b", "2026-03-02T10:00:00Z", tool="codex", provider="openai", model="gpt-5",
           input_tokens=2000, output_tokens=100),                                    # 3500 -> 3325 (5% off)
        ev("g", "2026-03-02T11:00:00Z", tool="gemini_cli", provider="google", model="gemini-2.5-pro",
           input_tokens=1000),                                                       # no rate for google: list
    ])
    r = report("daily", discount=Discount.parse("anthropic=10%,openai=5%"), breakdown=True)
    by_model = {b["model"]: (b["cost_usd"], b["effective_cost_usd"]) for b in r["rows"][0]["breakdown"]}
    gemini_list = by_model["gemini-2.5-pro"][0]
    assert gemini_list > 0
    assert by_model == {
        "claude-sonnet-4-5": (Decimal("0.015"), Decimal("0.0135")),
        "gpt-5": (Decimal("0.0035"), Decimal("0.003325")),
        "gemini-2.5-pro": (gemini_list, gemini_list),
    }
    assert r["totals"]["effective_cost_usd"] == Decimal("0.016825") + gemini_list
    assert r["meta"]["discount"] == {"default": "0%", "anthropic": "10%", "openai": "5%"}


def test_per_provider_discount_applies_to_events_that_do_not_name_their_provider(load, report) -> None:
    # `provider` is optional in tokenpulse-events/1. The price book knows claude-sonnet-4-5 is an
    # Anthropic model, so an "anthropic=10%" discount must apply to it: 15000 -> 13500 micro-USD.
    load([ev("a", "2026-03-02T09:00:00Z", provider=None, **A)])
    r = report("daily", discount=Discount.parse("anthropic=10%"))
    assert r["totals"]["cost_usd"] == Decimal("0.015")
    assert r["totals"]["effective_cost_usd"] == Decimal("0.0135")


def test_effective_total_is_the_same_whatever_the_grouping(load, report) -> None:
    # Two gpt-5 requests on two days, 2600 input tokens each: 3250 micro-USD each, 6500 in all.
    # 5% off: exactly 6175 micro-USD. (Rounding each day's 3087.5 first would give 3088 + 3088 = 6176.)
    load([
        ev("b1", "2026-03-02T10:00:00Z", tool="codex", provider="openai", model="gpt-5", input_tokens=2600),
        ev("b2", "2026-03-03T10:00:00Z", tool="codex", provider="openai", model="gpt-5", input_tokens=2600),
    ])
    discount = Discount.parse("openai=5%")
    totals = {kind: report(kind, discount=discount)["totals"]["effective_cost_usd"] for kind in REPORT_KINDS}
    assert totals == dict.fromkeys(REPORT_KINDS, Decimal("0.006175"))


def test_breakdown_by_model(load, report) -> None:
    load([
        ev("a", "2026-03-02T09:00:00Z", **A),
        # A dated id is the same model as the price book knows it.
        ev("a2", "2026-03-02T09:30:00Z", **{**A, "model": "claude-sonnet-4-5-20250929"}),
        ev("b", "2026-03-02T10:00:00Z", **B),
        ev("u", "2026-03-03T12:00:00Z", **U),
    ])
    plain = report("daily")
    assert all("breakdown" not in row for row in plain["rows"])
    r = report("daily", breakdown=True)
    day1, day2 = r["rows"]
    assert day1["models"] == ["claude-sonnet-4-5", "gpt-5"]
    assert [(b["model"], b["requests"], b["total_tokens"], b["cost_usd"]) for b in day1["breakdown"]] == [
        ("claude-sonnet-4-5", 2, 26200, Decimal("0.03")),
        ("gpt-5", 1, 9100, Decimal("0.00325")),
    ]
    assert day1["breakdown"][0]["cost_per_mtok_usd"] == Decimal("1.145038")  # 30000 / 26200
    assert set(day1["breakdown"][0]) == {"model", *TOTALS_KEYS}
    assert [(b["model"], b["cost_complete"], b["unpriced"]) for b in day2["breakdown"]] == [
        ("acme-model-9", False, [{"model": "acme-model-9", "requests": 1, "tokens": 550}])]
    # The breakdown adds up to the row.
    for row in r["rows"]:
        for key in ("requests", "total_tokens", "cost_usd", "effective_cost_usd"):
            # (a model with no price has an unknown cost, null, which adds nothing to the priced total)
            assert sum(b[key] or 0 for b in row["breakdown"]) == (row[key] or 0)


@pytest.mark.parametrize("kind", REPORT_KINDS)
def test_json_shape_is_the_same_empty_or_not(kind, load, report) -> None:
    empty = report(kind, breakdown=True)
    assert empty["rows"] == []
    assert empty["report"] == kind and empty["schema"] == "tokenpulse-report/1"
    assert empty["totals"] == {
        "requests": 0, "input_tokens": 0, "output_tokens": 0, "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0, "cache_read_tokens": 0, "reasoning_tokens": 0, "total_tokens": 0,
        "cost_usd": Decimal(0), "effective_cost_usd": Decimal(0), "cost_per_mtok_usd": None,
        "cost_complete": True, "unpriced": [],
    }
    load([
        ev("a", "2026-03-02T09:00:00Z", session="s1", **A),
        ev("u", "2026-03-02T20:00:00Z", session="s2", **U),   # over 5 hours later: blocks get a gap row
    ])
    full = report(kind, breakdown=True)
    assert full["rows"]
    assert list(full) == list(empty) == ["report", "schema", "rows", "totals", "meta"]
    assert list(full["totals"]) == list(empty["totals"]) == TOTALS_KEYS
    assert list(full["meta"]) == list(empty["meta"])
    # Every row of a kind has the same keys (a block report's gap rows included).
    row_keys = {tuple(row) for row in full["rows"]}
    assert len(row_keys) == 1, row_keys
