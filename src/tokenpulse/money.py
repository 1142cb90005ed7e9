"""Money: integer micro-USD inside, Decimal at the edges, never a float.

Price rates are integer pico-USD per token (1 USD per million tokens = 1,000,000 pico-USD per
token), so a request's cost is an exact integer in pico-USD; it is rounded once, half to even,
to micro-USD when the event is priced. Sums of micro-USD are exact.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import InvalidEvent

MICROS_PER_USD = 1_000_000
PICOS_PER_MICRO = 1_000_000
_MICRO = Decimal("0.000001")
_CENT = Decimal("0.01")


def round_half_even_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half to even, in integers (denominator > 0)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def decimal_usd_to_micros(value: Decimal | str | int) -> int:
    """A USD amount to integer micro-USD (half to even beyond the sixth decimal)."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidEvent(f"not a decimal amount: {value!r}") from None
    if not amount.is_finite():
        raise InvalidEvent(f"not a finite amount: {value!r}")
    try:
        return int((amount * MICROS_PER_USD).to_integral_value(rounding=ROUND_HALF_EVEN))
    except ArithmeticError:  # beyond Decimal's range, e.g. 1e999999
        raise InvalidEvent(f"amount out of range: {value!r}") from None


def micros_to_decimal_usd(micros: int) -> Decimal:
    """Exact: 1234567 -> Decimal('1.234567')."""
    return (Decimal(micros) / MICROS_PER_USD).quantize(_MICRO)


def format_usd(micros: int | None, *, cents: bool = True) -> str:
    """`$1,234.57` for display (half up to the cent, as invoices round); `—` for unknown."""
    if micros is None:
        return "—"
    amount = micros_to_decimal_usd(micros)
    if cents:
        amount = amount.quantize(_CENT, rounding=ROUND_HALF_UP) + 0  # + 0 turns -0.00 into 0.00
        return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"
    return f"-${-amount:,}" if amount < 0 else f"${amount:,}"


def parse_percent(text: str) -> Decimal:
    """'12.5%' or '12.5' -> Decimal('0.125'); must lie in [0, 100]."""
    raw = text.strip().removesuffix("%").strip()
    try:
        pct = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"not a percentage: {text!r}") from None
    if not pct.is_finite() or not (0 <= pct <= 100):
        raise ValueError(f"a discount must be between 0% and 100%, got {text!r}")
    return pct / 100
