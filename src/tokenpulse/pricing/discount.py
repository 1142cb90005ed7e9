"""The org discount: every figure has a list cost and an effective cost.

Discounts are applied to sums at report time (they are linear), so changing the discount never
requires re-pricing stored events and the effective figure is exact up to one final rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from ..errors import ConfigError
from ..money import parse_percent


@dataclass(frozen=True)
class Discount:
    """A default rate and per-provider overrides, as fractions (0.15 = 15 % off list)."""

    default: Decimal = Decimal(0)
    by_provider: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.default > 0 or any(v > 0 for v in self.by_provider.values())

    def rate(self, provider: str | None) -> Decimal:
        return self.by_provider.get((provider or "").lower(), self.default)

    def effective(self, list_micros: int, provider: str | None) -> int:
        return self.effective_total({provider: list_micros})

    def effective_total(self, list_by_provider: Mapping[str | None, int]) -> int:
        """Σ list × (1 − rate) over providers, exactly, rounded once half to even."""
        exact = sum((Decimal(micros) * (1 - self.rate(p)) for p, micros in list_by_provider.items()), Decimal(0))
        return int(exact.to_integral_value(rounding=ROUND_HALF_EVEN))

    def describe(self) -> dict[str, str]:
        """{"default": "12.5%", "anthropic": "10%"}."""
        def pct(rate: Decimal) -> str:
            return f"{(rate * 100).normalize():f}%"

        return {"default": pct(self.default), **{p: pct(r) for p, r in sorted(self.by_provider.items())}}

    @classmethod
    def parse(cls, spec: str | None) -> Discount:
        """`15%`, or `anthropic=10%,openai=5%`, or both: `12%,anthropic=10%`."""
        if not spec:
            return cls()
        default = Decimal(0)
        by_provider: dict[str, Decimal] = {}
        try:
            for part in (p.strip() for p in spec.split(",") if p.strip()):
                if "=" in part:
                    provider, _, pct = part.partition("=")
                    if not provider.strip():
                        raise ValueError(f"a provider name is missing before '=' in {part!r}")
                    by_provider[provider.strip().lower()] = parse_percent(pct)
                else:
                    default = parse_percent(part)
        except ValueError as exc:
            raise ConfigError(f"invalid discount {spec!r}: {exc}") from None
        return cls(default=default, by_provider=by_provider)
