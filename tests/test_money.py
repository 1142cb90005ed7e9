"""Money helpers: integer micro-USD inside, Decimal at the edges, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tokenpulse.errors import InvalidEvent
from tokenpulse.money import (
    decimal_usd_to_micros,
    format_usd,
    micros_to_decimal_usd,
    parse_percent,
    round_half_even_div,
)


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (0, 7, 0),
        (6, 3, 2),        # exact
        (1, 3, 0),        # 0.333 -> 0
        (2, 3, 1),        # 0.667 -> 1
        (1, 2, 0),        # 0.5 -> 0 (even)
        (3, 2, 2),        # 1.5 -> 2
        (5, 2, 2),        # 2.5 -> 2
        (7, 2, 4),        # 3.5 -> 4
        (2_500_000, 1_000_000, 2),      # 2.5 micro-USD worth of pico-USD -> 2
        (3_500_000, 1_000_000, 4),
        (3_500_001, 1_000_000, 4),
        (2_499_999, 1_000_000, 2),
        (-5, 2, -2),      # -2.5 -> -2
        (-7, 2, -4),      # -3.5 -> -4
        (-1, 3, 0),       # -0.333 -> 0
        # far beyond float precision: (10^30 + 0.5) rounds to 10^30 (even)
        (10**36 + 500_000, 1_000_000, 10**30),
        ((10**30 + 1) * 1_000_000 + 500_000, 1_000_000, 10**30 + 2),
    ],
)
def test_round_half_even_div(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_even_div(numerator, denominator) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.234567", 1_234_567),
        (Decimal("0.000001"), 1),
        (3, 3_000_000),
        ("0", 0),
        ("1e-6", 1),
        ("1.2345675", 1_234_568),     # ...67.5 -> 68 (even)
        ("1.2345665", 1_234_566),     # ...66.5 -> 66 (even)
        ("0.0000005", 0),             # 0.5 -> 0
        ("0.0000015", 2),             # 1.5 -> 2
        # a float printed by a tool (0.05626615 in binary): 56266.149999999994 -> 56266
        ("0.056266149999999994", 56_266),
        ("12345678901234.5678905", 12_345_678_901_234_567_890),   # ...890.5 -> 890 (even)
        ("-0.25", -250_000),
        (" 2.5 ", 2_500_000),
    ],
)
def test_decimal_usd_to_micros(value, expected: int) -> None:
    result = decimal_usd_to_micros(value)
    assert type(result) is int
    assert result == expected


@pytest.mark.parametrize("value", ["abc", "", "1,5", "NaN", "Infinity", "-inf", "1e999999", None])
def test_decimal_usd_to_micros_rejects_non_amounts(value) -> None:
    with pytest.raises(InvalidEvent):
        decimal_usd_to_micros(value)


@pytest.mark.parametrize(
    ("micros", "expected"),
    [(1_234_567, "1.234567"), (0, "0.000000"), (1, "0.000001"), (-5, "-0.000005"),
     (900_000_000_000_000, "900000000.000000")],
)
def test_micros_to_decimal_usd_is_exact(micros: int, expected: str) -> None:
    amount = micros_to_decimal_usd(micros)
    assert isinstance(amount, Decimal)
    assert str(amount) == expected
    assert decimal_usd_to_micros(amount) == micros  # and it round-trips


@pytest.mark.parametrize(
    ("micros", "expected"),
    [
        (None, "—"),
        (0, "$0.00"),
        (1_234_567, "$1.23"),
        (1_235_000, "$1.24"),          # half up to the cent, as invoices round
        (1_245_000, "$1.25"),          # half up, not to even
        (5_000, "$0.01"),
        (4_999, "$0.00"),
        (1_234_567_890, "$1,234.57"),
        (900_000_000_000_000, "$900,000,000.00"),
        (-1_234_567, "-$1.23"),
        (-4_000, "$0.00"),             # rounds to zero: no minus sign, and never "$-0.00"
    ],
)
def test_format_usd(micros: int | None, expected: str) -> None:
    assert format_usd(micros) == expected


def test_format_usd_to_the_micro() -> None:
    assert format_usd(1_234_567, cents=False) == "$1.234567"
    assert format_usd(1_234_567_890, cents=False) == "$1,234.567890"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12.5%", "0.125"), ("12.5", "0.125"), (" 15 % ", "0.15"), ("0", "0"), ("100%", "1"),
     ("0.5%", "0.005"), ("33.333", "0.33333")],
)
def test_parse_percent(text: str, expected: str) -> None:
    assert parse_percent(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "%", "abc", "100.1", "-1", "150%", "inf", "nan", "1/2"])
def test_parse_percent_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_percent(text)
