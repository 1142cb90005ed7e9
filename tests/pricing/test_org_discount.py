"""The org discount: a default rate, per-provider overrides, and exact effective figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tokenpulse.errors import ConfigError
from tokenpulse.pricing import Discount


@pytest.mark.parametrize(
    ("spec", "default", "by_provider"),
    [
        ("15%", "0.15", {}),
        ("12.5", "0.125", {}),
        (" 7 % ", "0.07", {}),
        ("0%", "0", {}),
        ("100%", "1", {}),
        ("anthropic=10%,openai=5%", "0", {"anthropic": "0.1", "openai": "0.05"}),
        ("12%,anthropic=10%", "0.12", {"anthropic": "0.1"}),
        ("anthropic=10%, 12%", "0.12", {"anthropic": "0.1"}),       # order does not matter
        (" Anthropic = 10 % , google=2.5 ", "0", {"anthropic": "0.1", "google": "0.025"}),
        ("anthropic=0%", "0", {"anthropic": "0"}),                   # an explicit "no discount"
        ("15%,", "0.15", {}),                                        # a trailing comma is harmless
    ],
)
def test_parse(spec: str, default: str, by_provider: dict[str, str]) -> None:
    discount = Discount.parse(spec)
    assert discount.default == Decimal(default)
    assert dict(discount.by_provider) == {p: Decimal(r) for p, r in by_provider.items()}


@pytest.mark.parametrize("spec", [None, ""])
def test_no_spec_is_no_discount(spec: str | None) -> None:
    discount = Discount.parse(spec)
    assert discount == Discount()
    assert not discount.active
    assert discount.effective(1_234_567, "anthropic") == 1_234_567


@pytest.mark.parametrize(
    "spec",
    [
        "abc",
        "15 percent",
        "101%",
        "-5%",
        "anthropic=",
        "anthropic=abc",
        "anthropic=150%",
        "anthropic 10%",
        "a=b=c",
        "nan",          # not a number, must not slip through as an uncaught decimal error
        "=10%",         # a rate for a provider with no name
    ],
)
def test_invalid_specs_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError, match="invalid discount"):
        Discount.parse(spec)


def test_effective_cost_is_exact() -> None:
    discount = Discount.parse("12%,anthropic=10%")
    assert discount.active
    # $1 list: anthropic 10% off -> 900000 µ$; anyone else 12% off -> 880000 µ$
    assert discount.effective(1_000_000, "anthropic") == 900_000
    assert discount.effective(1_000_000, "openai") == 880_000
    assert discount.effective(1_000_000, None) == 880_000
    assert discount.rate("google") == Decimal("0.12")
    # $123,456.789012 at 12% off: 123456789012 x 0.88 = 108641974330.56 -> 108641974331 µ$
    assert discount.effective(123_456_789_012, "openai") == 108_641_974_331
    assert discount.effective(0, "anthropic") == 0


@pytest.mark.parametrize(
    ("spec", "list_micros", "expected"),
    [
        ("50%", 5, 2),      # 2.5 -> 2 (half to even)
        ("50%", 7, 4),      # 3.5 -> 4
        ("12.5%", 3, 3),    # 3 x 0.875 = 2.625 -> 3
        ("12.5%", 4, 4),    # 3.5 -> 4
        ("12.5%", 12, 10),  # 10.5 -> 10
        ("100%", 999, 0),
    ],
)
def test_effective_rounds_half_to_even(spec: str, list_micros: int, expected: int) -> None:
    assert Discount.parse(spec).effective(list_micros, "openai") == expected


def test_effective_on_a_sum_equals_the_sum_of_exact_shares() -> None:
    # Discounts apply to sums at report time: 1000 requests of 3 µ$ at 15% off is
    # 3000 x 0.85 = 2550 µ$ exactly (per request it would be 2.55 -> 3, i.e. 3000: no discount at all).
    discount = Discount.parse("15%")
    assert discount.effective(3 * 1000, "anthropic") == 2_550


def test_describe() -> None:
    assert Discount.parse("12.5%,anthropic=10%").describe() == {"default": "12.5%", "anthropic": "10%"}
    assert Discount().describe() == {"default": "0%"}
